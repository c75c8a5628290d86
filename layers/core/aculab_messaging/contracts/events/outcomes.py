"""The send path's outcomes: one detail model per detail type, each with its status."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field

from aculab_messaging.contracts.events import (
    MESSAGE_BLOCKED,
    MESSAGE_CANCEL_FAILED,
    MESSAGE_CANCELLED,
    MESSAGE_EXPIRED,
    MESSAGE_FAILED,
    MESSAGE_REJECTED,
    MESSAGE_SCHEDULED,
    MESSAGE_SUBMITTED,
)
from aculab_messaging.contracts.events.base import DETAIL_CONFIG, CancelResults, MessageDetail, Timestamp
from aculab_messaging.logic.status import Status


class SmartEncodingDetail(BaseModel):
    """What smart encoding changed (logic/smart_encoding.py)."""

    model_config = DETAIL_CONFIG

    replaced: Annotated[list[str], Field(description="The look-alikes replaced by their GSM-7 equivalents, each once.")]
    parts_before: Annotated[int, Field(ge=1, description="The parts the text as written would have taken.")]
    encoding_before: Annotated[Literal["GSM-7", "UCS-2"], Field(description="Its encoding as written (UCS-2).")]


class SubmittedDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_SUBMITTED
    status: Literal[Status.QUEUED]
    parts: Annotated[int | None, Field(ge=1, description="One per msgRef (absent on a replayed event).")] = None
    encoding: Annotated[Literal["GSM-7", "UCS-2"] | None, Field(
        description="How the sms is encoded (sms only; absent on a replayed event).")] = None
    ucs2_characters: Annotated[list[str] | None, Field(
        description="The characters that forced UCS-2, each once (null when GSM-7 sufficed).")] = None
    smart_encoding: Annotated[SmartEncodingDetail | None, Field(
        description=("Present when smart encoding replaced look-alikes: parts and encoding above are what was "
                     "sent, these what the text as written would have taken."))] = None


class RejectedDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_REJECTED
    status: Literal[Status.REJECTED]


class BlockedDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_BLOCKED
    status: Literal[Status.BLOCKED]


class FailedDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_FAILED
    status: Literal[Status.FAILED]


class CancelledDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_CANCELLED
    status: Literal[Status.CANCELLED]
    cancel_results: Annotated[CancelResults | None, Field(
        description="Each part's msg_cancel answer; absent when cancelled before sending.")] = None


class CancelFailedDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_CANCEL_FAILED
    status: Annotated[Status | None, Field(  # type: ignore[assignment]
        description="The message's status; null when no message has this id (reason 'unknown message')")]
    cancel_results: CancelResults


class QuietHoursDetail(BaseModel):
    """Why a send waits: the recipient's quiet hours (logic/quiet_hours.py)."""

    model_config = DETAIL_CONFIG

    window: Annotated[str, Field(description="The quiet hours kept, local time: '21:00-08:00'.")]
    time_zone: Annotated[str, Field(description=(
        "The IANA zone whose quiet hours ended last: the recipient's country's (of several, the latest)."))]


class ScheduledDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_SCHEDULED
    status: Literal[Status.SCHEDULED]
    due_at: Annotated[Timestamp, Field(description=(
        "When it will be sent: its send_at, or the end of the recipient's quiet hours"))]
    valid_until: Annotated[Timestamp | None, Field(description="Never sent after this")] = None
    quiet_hours: Annotated[QuietHoursDetail | None, Field(description=(
        "Present when the recipient's quiet hours moved its due time."))] = None


class ExpiredDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_EXPIRED
    status: Literal[Status.EXPIRED]
    valid_until: Annotated[Timestamp | None, Field(
        description="The validity that ran out (absent when Aculab lost the message: no final status in time)")] = None
