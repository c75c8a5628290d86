"""Message Status Changed: a part moved forward."""

from __future__ import annotations

from pydantic import BaseModel

from aculab_messaging.contracts.events.base import DETAIL_CONFIG, MessageDetail
from aculab_messaging.status import Status


class PartDetail(BaseModel):
    model_config = DETAIL_CONFIG

    msg_ref: str
    status: Status
    position: int | None
    count: int
    provider_timestamp: str | None


class StatusChangedDetail(MessageDetail):
    part: PartDetail
