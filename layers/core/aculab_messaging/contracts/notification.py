"""Aculab's status update / inbound message notification, as a pydantic model.

Fields Aculab adds that we do not use are ignored. Numbers that arrive as text
(a query string) become integers, a comma-separated ``msg_media`` a list.
``from`` and ``to`` come in Aculab's form (``447700900123``) and leave in
E.164 with ``+`` (``+447700900123``), the form an opt-out and the stored item
are keyed by. A sender that is no phone number (a short code ``80012``, an
alphanumeric ``BANK``) is kept as given: its message is stored and announced,
and its keywords change no opt-out. An inbound message without them, or with
one that is not printable text, is malformed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from aculab_messaging.contracts.errors import field_errors
from aculab_messaging.logic.ids import MAX_PARTS
from aculab_messaging.logic.status import ProviderStatus, UnknownStatusError, parse_provider_status

PartNumber = Annotated[int | None, Field(ge=1, le=MAX_PARTS)]


class BadNotification(ValueError):
    """The request is not a notification we can act on (answered 400)."""


class Notification(BaseModel):
    """A validated Aculab status update or inbound message."""

    model_config = ConfigDict(title="Aculab status update or inbound message", extra="ignore", frozen=True,
                              populate_by_name=True)

    msg_ref: Annotated[str, Field(min_length=1, max_length=128)]
    status: Annotated[str, Field(min_length=1, max_length=200)]
    direction: Literal["send", "receive"] = "send"
    type: Literal["sms", "mms"] = "sms"
    to: Annotated[str, Field(max_length=32, validate_default=True)] = ""
    from_: Annotated[str, Field(alias="from", max_length=32, validate_default=True)] = ""
    content: Annotated[str | None, Field(max_length=20000)] = None
    msg_media: Annotated[list[str], Field(max_length=50)] = []
    multipart_uid: Annotated[str | None, Field(max_length=128)] = None
    multipart_pos: PartNumber = None
    multipart_count: PartNumber = None
    timestamp: Annotated[str | None, Field(max_length=32)] = None
    aculab_msg_err: Annotated[str | None, Field(max_length=8)] = None

    @field_validator("msg_media", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [m for m in value.split(",") if m] if isinstance(value, str) else value

    @field_validator("to", "from_")
    @classmethod
    def _number_or_sender(cls, value: str, info: ValidationInfo) -> str:
        from aculab_messaging.aculab.params import international_or_none  # phonenumbers: when one is given

        number = international_or_none(value) if value else None
        if info.data.get("direction") != "receive" and info.data.get("status") != "received":
            return number or value
        if not value.strip():
            raise ValueError("an inbound message needs it")
        if not value.isprintable():
            raise ValueError("must be printable text")
        if value.strip()[:1] == "+" and number is None:  # a '+' says it is a number: it must be one
            raise ValueError("starts with '+' but is not a possible phone number")
        return number or value

    @model_validator(mode="after")
    def _part_within_its_message(self) -> Notification:
        if self.multipart_pos and self.multipart_count and self.multipart_pos > self.multipart_count:
            raise ValueError("multipart_pos: larger than multipart_count")
        return self

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Notification:
        """Validate Aculab's fields; raise BadNotification naming each failing field."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise BadNotification(field_errors(exc, limit=3)) from None

    @property
    def is_inbound(self) -> bool:
        return self.direction == "receive" or self.status == "received"

    def provider_status(self) -> ProviderStatus:
        try:
            return parse_provider_status(self.status)
        except UnknownStatusError as exc:
            raise BadNotification(str(exc)) from None
