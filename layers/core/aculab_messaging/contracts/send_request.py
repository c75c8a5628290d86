"""A send request off the queue (version 1 of the contract, contracts/queue.py), as a pydantic model:
the fields a producer gives, how each is checked and normalised, and the Aculab parameters it makes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aculab_messaging.aculab.params import MessageType, SendParams, normalise_number, normalise_sender
from aculab_messaging.logic.ids import MAX_PARTS, MAX_SCHEDULE_AHEAD, MESSAGE_ID_MAX_LENGTH, MESSAGE_ID_PATTERN
from aculab_messaging.logic.quiet_hours import QUIET_HOURS_PATTERN, QuietWindow
from aculab_messaging.logic.segmentation import estimate

MAX_METADATA_BYTES = 4096
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_ID_MAX_LENGTH,
                                             pattern=MESSAGE_ID_PATTERN),
                      Field(description="Chosen by the producer; the idempotency key.")]
CampaignId = Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_ID_MAX_LENGTH,
                                              pattern=MESSAGE_ID_PATTERN)]
MediaName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
MAX_VALIDITY_SECONDS = int(MAX_SCHEDULE_AHEAD.total_seconds())


class QueueBody(BaseModel):
    """What every queue message body is: version 1, no field the contract does not name."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: Literal["1"] = "1"

    def to_json(self) -> dict[str, Any]:
        """The queue message body (what a producer puts on the queue)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SendRequest(QueueBody):
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

    campaign_id: Annotated[CampaignId | None, Field(description=(
        "The campaign (bulk send) it belongs to: cancelled with it ({'action': 'cancel', 'campaign_id': ...}), "
        "counted in GET /campaigns/{campaign_id}."))] = None
    campaign_max_per_second: Annotated[float | None, Field(gt=0, le=1000, description=(
        "With campaign_id: the campaign's sends go at most this fast (under the stack's and the number's "
        "pace); each message carries it, the one being sent decides."))] = None
    # checked by _a_window (a message that says what is wrong); the schema carries the pattern
    quiet_hours: Annotated[str | None, Field(json_schema_extra={"pattern": QUIET_HOURS_PATTERN}, description=(
        "Not sent between these hours in the recipient's local time (its country's; of several zones, the "
        "most restrictive), e.g. '21:00-08:00': a send that falls inside waits, scheduled, until they end, "
        "within its validity. 'off': none; null: the stack's QuietHours."))] = None

    @field_validator("quiet_hours")
    @classmethod
    def _a_window(cls, value: str | None) -> str | None:
        if value is not None:
            QuietWindow.parse(value)  # "08:00-08:00" is no window
        return value

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
        if self.campaign_max_per_second is not None and self.campaign_id is None:
            raise ValueError("campaign_max_per_second needs a campaign_id")
        if self.send_at and self.valid_until and self.valid_until <= self.send_at:
            raise ValueError("valid_until must be after send_at")
        return self

    def sends_smart_encoded(self, by_default: bool) -> bool:
        """Whether this sms goes smart-encoded: its own smart_encoding, else the stack's default."""
        wanted = by_default if self.smart_encoding is None else self.smart_encoding
        return wanted and self.type is MessageType.SMS and bool(self.content)

    def quiet_window(self, by_default: QuietWindow | None) -> QuietWindow | None:
        """The quiet hours this send keeps: its own quiet_hours, else the stack's default."""
        return by_default if self.quiet_hours is None else QuietWindow.parse(self.quiet_hours)

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
