"""Message Received and Opt-Out Changed."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field

from aculab_messaging.contracts.events import MESSAGE_RECEIVED, OPT_OUT_CHANGED
from aculab_messaging.contracts.events.base import Detail, MessageDetail


class Multipart(BaseModel):
    uid: str
    position: int | None
    count: int | None


class ReceivedDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_RECEIVED
    status: Literal["received"]  # type: ignore[assignment]  # an inbound message's only status
    direction: Literal["receive"]
    from_: Annotated[str, Field(alias="from")]
    to: str
    type: Literal["sms", "mms"]
    content: str | None
    msg_media: list[str]
    multipart: Multipart | None
    provider_timestamp: str | None
    complete: Annotated[bool, Field(description=(
        "False when a long message's parts did not all arrive within the wait: content is what arrived, in order"
    ))] = True
    revision: Annotated[int, Field(ge=0, description=(
        "0: the message's first announcement. A part of a long message arriving after it was announced"
        " incomplete announces the whole text again, assembled from every part now held: revision 1, 2, ..."
        " (its own eventId; keep the highest revision of a messageId, delivery order is not guaranteed)"
    ))] = 0
    supersedes: Annotated[str | None, Field(pattern="^[0-9a-f]{32}$", description=(
        "The eventId of the announcement of this message that this one replaces (revision - 1), or null"
    ))] = None


class OptOutDetail(Detail):
    detail_type: ClassVar[str] = OPT_OUT_CHANGED
    from_: Annotated[str, Field(alias="from", description=(
        "our sending number, or the name of a message number pool: a keyword to, or Aculab's block of,"
        " a number known to be the pool's changes the pool's pair too"))]
    to: Annotated[str, Field(description="the mobile number")]
    blocked: bool
    source: Literal["inbound", "reconcile"]
    keyword: str | None
