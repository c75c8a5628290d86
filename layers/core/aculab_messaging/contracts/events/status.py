"""Message Status Changed: a part moved forward."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from aculab_messaging.contracts.events import MESSAGE_STATUS_CHANGED
from aculab_messaging.contracts.events.base import DETAIL_CONFIG, MessageDetail
from aculab_messaging.logic.status import Status


class PartDetail(BaseModel):
    model_config = DETAIL_CONFIG

    msg_ref: str
    status: Status
    position: int | None
    count: int
    provider_timestamp: str | None
    from_number: Annotated[str | None, Field(description=(
        "The number Aculab sent this part from (E.164 with '+'): for a message sent from a pool's name,"
        " the pool's number it used; null until Aculab says"))] = None


class StatusChangedDetail(MessageDetail):
    detail_type: ClassVar[str] = MESSAGE_STATUS_CHANGED
    part: PartDetail
    from_number: Annotated[str | None, Field(description=(
        "The number Aculab sent the message from, once every part's is known and they agree; else null"))] = None
