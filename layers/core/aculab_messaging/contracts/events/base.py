"""What every event detail carries, and every message event."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from aculab_messaging.logic.status import Status, msg_err_meaning

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
CancelResults = dict[str, Literal["success", "unknown", "failed"]]


def _open_for_additions(schema: dict[str, Any]) -> None:
    """We build details strictly (extra="forbid"), but consumers must accept fields a later version adds."""
    schema.pop("additionalProperties", None)


DETAIL_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid",
                           defer_build=True, json_schema_serialization_defaults_required=True,
                           json_schema_extra=_open_for_additions)


class Detail(BaseModel):
    """Built with its fields by name (``Event.of(SubmittedDetail(...))``): mypy checks each one."""

    model_config = DETAIL_CONFIG
    detail_type: ClassVar[str]  # one of the fixed strings in contracts/events/__init__.py

    version: Literal["1"] = "1"
    event_id: Annotated[str, Field(pattern="^[0-9a-f]{32}$",
                                   description="Stable for the same fact: drop repeats (delivery is at least once).")]
    timestamp: Timestamp


class AculabMsgErr(BaseModel):
    code: str
    meaning: str

    @classmethod
    def of(cls, code: str | None) -> AculabMsgErr | None:
        """Aculab's aculab_msg_err code with its meaning; None when there is none."""
        return cls(code=code, meaning=msg_err_meaning(code) or "") if code else None


class MessageDetail(Detail):
    """Every message event."""

    message_id: Annotated[str, Field(min_length=1, max_length=132)]
    metadata: Annotated[dict[str, Any], Field(description="The producer's metadata, as sent.")]
    msg_refs: list[str]
    status: Status
    provider_status: Annotated[str | None, Field(
        description="Aculab's raw status text, e.g. 'failed (invalid destination)'.")] = None
    is_final: bool
    aculab_msg_err: AculabMsgErr | None = None
    reason: str | None = None
