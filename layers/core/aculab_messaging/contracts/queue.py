"""The SQS contract producers use (version 1), as pydantic models.

    {"version": "1", "action": "send", "message_id": "order-42-confirmation",
     "to": "+44 7700 900123", "from": "447700900001", "type": "sms",
     "content": "Your order has shipped", "msg_media": [],
     "request_delivery_report": true, "alphanumeric_id": null,
     "metadata": {"orderId": "42"}}

    {"version": "1", "action": "cancel", "message_id": "order-42-confirmation"}

A send may wait for ``send_at`` (ISO 8601 with its offset, at most a year
ahead) and be worthless after ``valid_until`` or ``valid_for_seconds`` (from
``send_at``, or from when it was put on the queue): a message not handed to
Aculab by then is never sent (``expired``). Both are optional additions to
version 1: a body without them means what it always meant.

``message_id`` is chosen by the producer and is the idempotency key. The
models are the contract: the send function validates every body with them,
a Python producer builds its messages with them, and
``schemas/queue-message.json`` is generated from them (``make schemas``).
Numbers are normalised on the way in (``to``, and ``from`` when a number, to
E.164 with '+': ``+447700900123``; a body already in that form reads the same
whatever the default region);
the sms/mms content rules live in ``SendParams``, checked here too.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aculab_messaging.aculab.params import MessageType, SendParams, normalise_number, normalise_sender
from aculab_messaging.contracts.errors import ContractError, field_errors
from aculab_messaging.contracts.notification import MAX_PARTS
from aculab_messaging.logic.ids import MESSAGE_ID_MAX_LENGTH, MESSAGE_ID_PATTERN
from aculab_messaging.logic.segmentation import estimate

CONTRACT_VERSION = "1"
MAX_METADATA_BYTES = 4096

MessageId = Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_ID_MAX_LENGTH,
                                             pattern=MESSAGE_ID_PATTERN),
                      Field(description="Chosen by the producer; the idempotency key.")]
MediaName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
MAX_SCHEDULE_AHEAD = timedelta(days=366)
MAX_VALIDITY_SECONDS = 366 * 86400


class _QueueMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: Literal["1"] = "1"

    def to_json(self) -> dict[str, Any]:
        """The queue message body (what a producer puts on the queue)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SendRequest(_QueueMessage):
    """Send an sms or mms. Validation context ``default_region`` (e.g. "GB")
    reads a national ``to`` (07700 900123) in that region."""

    model_config = ConfigDict(title="Send request")

    action: Literal["send"] = "send"
    message_id: MessageId
    to: Annotated[str, Field(min_length=1, max_length=32,
                             description=("Full international number; '+', spaces and dashes accepted. "
                                          "Kept in E.164 with '+' (+447700900123)."))]
    from_: Annotated[str, Field(alias="from", min_length=1, max_length=64,
                                description=("A sending number of the Aculab account (kept in E.164 with '+'), "
                                             "or a message number pool name."))]
    type: MessageType = MessageType.SMS
    smart_encoding: Annotated[StrictBool | None, Field(description=(
        "sms only: send look-alikes that force UCS-2 (curly quotes, long dashes, an ellipsis, odd spaces) as "
        "their GSM-7 equivalents when that makes the whole text GSM-7; null: the stack's SmartEncoding."))] = None
    content: Annotated[str | None, Field(max_length=10000, description=(
        f"Required for sms; optional for mms. An sms takes at most {MAX_PARTS} parts "
        "(GSM 03.38: 153 characters a part; UCS-2: 67 UTF-16 units a part, an emoji two)."))] = None
    msg_media: Annotated[tuple[MediaName, ...], Field(max_length=10,
                                                      description="mms only: uploaded media file names.")] = ()
    request_delivery_report: StrictBool = False
    alphanumeric_id: Annotated[str | None, Field(max_length=11)] = None
    metadata: Annotated[dict[str, Any], Field(
        max_length=50,
        description=f"Carried into every event of the message; at most {MAX_METADATA_BYTES} bytes as JSON.")] = {}
    send_at: Annotated[AwareDatetime | None, Field(description=(
        "Send at this time (ISO 8601 with offset), at most a year ahead; a time past means now."))] = None
    valid_until: Annotated[AwareDatetime | None, Field(description=(
        "Never sent after this time (ISO 8601 with offset): it ends 'expired' instead."))] = None
    valid_for_seconds: Annotated[int | None, Field(ge=1, le=MAX_VALIDITY_SECONDS, description=(
        "Never sent later than this many seconds after send_at, or after it was put on the queue."))] = None

    @field_validator("send_at")
    @classmethod
    def _within_a_year(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        now = (info.context or {}).get("now") or datetime.now(UTC)
        if value is not None and value - now > MAX_SCHEDULE_AHEAD:
            raise ValueError("must be at most a year ahead")
        return value

    @field_validator("to")
    @classmethod
    def _full_number(cls, value: str, info: ValidationInfo) -> str:
        region = (info.context or {}).get("default_region")
        return normalise_number(value, field_name="to", region=region)

    @field_validator("from_")
    @classmethod
    def _sender(cls, value: str) -> str:
        return normalise_sender(value)

    @field_validator("content")
    @classmethod
    def _parts_we_track(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An sms of more parts than a status update may report is refused here, not lost later."""
        if value and info.data.get("type", MessageType.SMS) == MessageType.SMS:
            sized = estimate(value)  # smart encoding never shortens a text this long: look-alikes alone
            # (10,000 at most) take 150 UCS-2 parts; more needs characters it cannot replace
            if sized.parts > MAX_PARTS:
                raise ValueError(f"takes {sized.parts} parts in {sized.encoding}; at most {MAX_PARTS}")
        return value

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > MAX_METADATA_BYTES:
            raise ValueError(f"must serialise to at most {MAX_METADATA_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _content_rules(self) -> SendRequest:
        self.to_params()  # sms/mms content and media rules, alphanumeric_id: one place
        if self.send_at and self.valid_until and self.valid_until <= self.send_at:
            raise ValueError("valid_until must be after send_at")
        return self

    def sends_smart_encoded(self, by_default: bool) -> bool:
        """Whether this sms goes smart-encoded: its own smart_encoding, else the stack's default."""
        wanted = by_default if self.smart_encoding is None else self.smart_encoding
        return wanted and self.type is MessageType.SMS and bool(self.content)

    def to_params(
        self,
        *,
        content: str | None = None,
        status_page: str | None = None,
        status_method: str = "POST",
        auth: tuple[str, str] | None = None,
    ) -> SendParams:
        return SendParams(
            to=self.to,
            from_=self.from_,
            type=self.type,
            content=self.content if content is None else content,
            msg_media=self.msg_media,
            request_delivery_report=self.request_delivery_report,
            status_page=status_page,
            status_method=status_method,
            status_authentication_name=auth[0] if auth else None,
            status_authentication_password=auth[1] if auth else None,
            status_ssl_check=bool(status_page and status_page.startswith("https://")),
            alphanumeric_id=self.alphanumeric_id,
        )


class CancelRequest(_QueueMessage):
    """Cancel a message: before it is sent, or each part Aculab still holds."""

    model_config = ConfigDict(title="Cancel request")

    action: Literal["cancel"]
    message_id: MessageId


class DueRequest(_QueueMessage):
    """Ours, not a producer's: what a message's EventBridge schedule puts back
    on the queue when its send_at comes (``request`` as first received, with
    its validity made absolute). A body for a message that is not scheduled
    is just a send."""

    model_config = ConfigDict(title="Due (from a schedule)")

    action: Literal["due"]
    message_id: MessageId
    request: SendRequest

    @model_validator(mode="after")
    def _same_message(self) -> DueRequest:
        if self.request.message_id != self.message_id:
            raise ValueError("request.message_id must be message_id")
        return self


QueueRequest = SendRequest | CancelRequest | DueRequest


def _action(value: Any) -> str | None:
    if isinstance(value, dict):
        action = value.get("action", "send")  # a body without one is a send
        return action if isinstance(action, str) else None
    return getattr(value, "action", None)


QueueMessage = Annotated[
    Annotated[SendRequest, Tag("send")] | Annotated[CancelRequest, Tag("cancel")] | Annotated[DueRequest, Tag("due")],
    Discriminator(_action, custom_error_type="action",
                  custom_error_message="must be a JSON object whose action is 'send' (the default) or 'cancel'"),
]
_QUEUE_MESSAGE: TypeAdapter[QueueRequest] = TypeAdapter(QueueMessage)


def parse_queue_message(
    body: str | bytes, default_region: str | None = None, now: datetime | None = None
) -> QueueRequest:
    """Parse one SQS body; raise ContractError naming each failing field."""
    try:
        return _QUEUE_MESSAGE.validate_json(body, context={"default_region": default_region, "now": now})
    except ValidationError as exc:
        raise ContractError(field_errors(exc), _message_id_of(body)) from None


def _message_id_of(body: str | bytes) -> str | None:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    message_id = data.get("message_id") if isinstance(data, dict) else None
    return message_id if isinstance(message_id, str) else None


def queue_json_schema() -> dict[str, Any]:
    """The JSON Schema of the queue contract (shipped as schemas/queue-message.json)."""
    schema = _QUEUE_MESSAGE.json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Aculab messaging send queue message (version {CONTRACT_VERSION})",
        "description": (
            "One SQS message body: a send request (action 'send', the default) or a cancel request. "
            "Numbers are full international, '+' and spaces accepted. sms needs content and no msg_media; "
            "mms needs msg_media. message_id is the idempotency key. send_at, valid_until and "
            "valid_for_seconds are optional. Action 'due' is put there by the stack's own schedules."
        ),
        **schema,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(queue_json_schema(), indent=2) + "\n")
