"""The events we publish to EventBridge (detail version 1), as pydantic models.

Detail-types are fixed strings, never derived from class names. Every message
event carries: version, eventId (stable for the same fact, so consumers can
drop repeats of at-least-once delivery), messageId (ours), metadata (the
producer's), msgRefs, status, providerStatus, isFinal, aculabMsgErr (code and
meaning), reason and timestamp (ISO 8601 UTC). Each detail is validated by its
model when built; ``schemas/events/`` is generated from the models
(``make schemas``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from aculab_messaging.status import Status, msg_err_meaning

EVENT_VERSION = "1"

MESSAGE_SUBMITTED = "Message Submitted"
MESSAGE_STATUS_CHANGED = "Message Status Changed"
MESSAGE_RECEIVED = "Message Received"
MESSAGE_REJECTED = "Message Rejected"
MESSAGE_BLOCKED = "Message Blocked"
MESSAGE_FAILED = "Message Failed"
MESSAGE_CANCELLED = "Message Cancelled"
MESSAGE_CANCEL_FAILED = "Message Cancel Failed"
OPT_OUT_CHANGED = "Opt-Out Changed"

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
CancelResults = dict[str, Literal["success", "unknown", "failed"]]


def _open_for_additions(schema: dict[str, Any]) -> None:
    """We build details strictly (extra="forbid"), but consumers must accept fields a later version adds."""
    schema.pop("additionalProperties", None)


_DETAIL_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid",
                            json_schema_serialization_defaults_required=True, json_schema_extra=_open_for_additions)


class _Detail(BaseModel):
    model_config = _DETAIL_CONFIG

    version: Literal["1"] = "1"
    event_id: Annotated[str, Field(pattern="^[0-9a-f]{32}$",
                                   description="Stable for the same fact: drop repeats (delivery is at least once).")]
    timestamp: Timestamp


class AculabMsgErr(BaseModel):
    code: str
    meaning: str


class MessageDetail(_Detail):
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


class SubmittedDetail(MessageDetail):
    status: Literal[Status.QUEUED]


class RejectedDetail(MessageDetail):
    status: Literal[Status.REJECTED]


class BlockedDetail(MessageDetail):
    status: Literal[Status.BLOCKED]


class FailedDetail(MessageDetail):
    status: Literal[Status.FAILED]


class CancelledDetail(MessageDetail):
    status: Literal[Status.CANCELLED]
    cancel_results: Annotated[CancelResults | None, Field(
        description="Each part's msg_cancel answer; absent when cancelled before sending.")] = None


class CancelFailedDetail(MessageDetail):
    cancel_results: CancelResults


class PartDetail(BaseModel):
    model_config = _DETAIL_CONFIG

    msg_ref: str
    status: Status
    position: int | None
    count: int
    provider_timestamp: str | None


class StatusChangedDetail(MessageDetail):
    part: PartDetail


class Multipart(BaseModel):
    uid: str
    position: int | None
    count: int | None


class ReceivedDetail(MessageDetail):
    status: Literal["received"]  # type: ignore[assignment]  # an inbound message's only status
    direction: Literal["receive"]
    from_: Annotated[str, Field(alias="from")]
    to: str
    type: Literal["sms", "mms"]
    content: str | None
    msg_media: list[str]
    multipart: Multipart | None
    provider_timestamp: str | None


class OptOutDetail(_Detail):
    from_: Annotated[str, Field(alias="from", description="our sending number")]
    to: Annotated[str, Field(description="the mobile number")]
    blocked: bool
    source: Literal["inbound", "reconcile"]
    keyword: str | None


DETAIL_MODELS: dict[str, type[_Detail]] = {
    MESSAGE_SUBMITTED: SubmittedDetail,
    MESSAGE_STATUS_CHANGED: StatusChangedDetail,
    MESSAGE_RECEIVED: ReceivedDetail,
    MESSAGE_REJECTED: RejectedDetail,
    MESSAGE_BLOCKED: BlockedDetail,
    MESSAGE_FAILED: FailedDetail,
    MESSAGE_CANCELLED: CancelledDetail,
    MESSAGE_CANCEL_FAILED: CancelFailedDetail,
    OPT_OUT_CHANGED: OptOutDetail,
}
DETAIL_TYPES = tuple(DETAIL_MODELS)


@dataclass(frozen=True)
class Event:
    """One EventBridge entry: detail-type and detail."""

    detail_type: str
    detail: Mapping[str, Any]  # as it goes on the wire: validated by the detail type's model

    @classmethod
    def of(cls, detail_type: str, detail: Mapping[str, Any]) -> Event:
        """Validate ``detail`` with its detail type's model; raise ValidationError if it does not fit."""
        model = DETAIL_MODELS[detail_type].model_validate(detail)
        return cls(detail_type, model.model_dump(mode="json", by_alias=True))

    def entry(self, bus_name: str, source: str) -> dict[str, Any]:
        return {
            "EventBusName": bus_name,
            "Source": source,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, separators=(",", ":")),
        }


def detail_json_schema(detail_type: str) -> dict[str, Any]:
    """The JSON Schema of one detail type (shipped as schemas/events/<detail-type>.json)."""
    schema = DETAIL_MODELS[detail_type].model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": detail_type}


def schema_file_name(detail_type: str) -> str:
    return detail_type.lower().replace(" ", "-") + ".json"


def utc_now_iso(now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def aculab_time_to_iso(value: str | None) -> str | None:
    """``2014-07-30_12:48:33`` (UTC) -> ``2014-07-30T12:48:33Z``."""
    if not value:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d_%H:%M:%S")
    except ValueError:
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def message_event(
    detail_type: str,
    *,
    message_id: str,
    status: str,
    is_final: bool,
    metadata: Mapping[str, Any] | None = None,
    msg_refs: Sequence[str] = (),
    provider_status: str | None = None,
    aculab_msg_err: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    identity: str = "",
    extra: Mapping[str, Any] | None = None,
) -> Event:
    """A message event. ``identity`` distinguishes facts of the same type and
    status (e.g. which part changed) in the stable eventId."""
    detail: dict[str, Any] = {
        "eventId": _event_id(detail_type, message_id, status, identity),
        "messageId": message_id,
        "metadata": dict(metadata or {}),
        "msgRefs": list(msg_refs),
        "status": status,
        "providerStatus": provider_status,
        "isFinal": is_final,
        "aculabMsgErr": (
            {"code": aculab_msg_err, "meaning": msg_err_meaning(aculab_msg_err)} if aculab_msg_err else None
        ),
        "reason": reason,
        "timestamp": utc_now_iso(now),
    }
    if extra:
        detail.update(extra)
    return Event.of(detail_type, detail)


def opt_out_event(
    *, from_: str, to: str, blocked: bool, source: str, keyword: str | None = None, now: datetime | None = None,
    identity: str = "",
) -> Event:
    """``identity``: which change this is (the keyword's msg_ref, the sync's stamp), so two
    STOPs days apart are two facts, and a replay of one is the same fact."""
    detail = {
        "eventId": _event_id(OPT_OUT_CHANGED, from_, to, blocked, keyword or source, identity),
        "from": from_,
        "to": to,
        "blocked": blocked,
        "source": source,
        "keyword": keyword,
        "timestamp": utc_now_iso(now),
    }
    return Event.of(OPT_OUT_CHANGED, detail)
