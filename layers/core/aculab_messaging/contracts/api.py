"""What ``GET /messages/{message_id}`` answers: a message's stored status,
each part's, and its timeline; and ``GET /campaigns/{campaign_id}``: a
campaign's messages counted by status. ``schemas/api/`` is generated from
these models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from aculab_messaging.contracts.events.base import AculabMsgErr, Timestamp

VIEW_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid",
                         defer_build=True, json_schema_serialization_defaults_required=True)


class PartView(BaseModel):
    model_config = VIEW_CONFIG

    msg_ref: str
    position: int | None
    status: str
    provider_status: str | None
    aculab_msg_err: AculabMsgErr | None
    provider_timestamp: Timestamp | None
    from_number: Annotated[str | None, Field(description=(
        "The number Aculab sent this part from (E.164 with '+'): for a message sent from a pool's name,"
        " the pool's number it used; null until Aculab says"))] = None


class TimelineEntry(BaseModel):
    # read from the stored history: a detail a later version records is left out, not an error
    model_config = ConfigDict(**{**VIEW_CONFIG, "extra": "ignore"})

    at: Timestamp
    status: str
    msg_ref: Annotated[str | None, Field(description="The part that moved; absent for the message as a whole")] = None
    msg_refs: Annotated[list[str] | None, Field(description="The refs Aculab gave, on `queued`")] = None
    provider_status: str | None = None
    provider_timestamp: Timestamp | None = None
    reason: str | None = None
    due_at: Annotated[Timestamp | None, Field(description="On `scheduled`: when it is due")] = None


class MessageView(BaseModel):
    model_config = VIEW_CONFIG

    message_id: str
    status: Annotated[str, Field(description=(
        "queued, submitted to carrier, sent, delivered, ... as in the events; `sending` while our send "
        "path holds it (msg_send in flight or waiting for a retry)"))]
    is_final: bool
    reason: str | None
    type: str | None
    to: Annotated[str | None, Field(description="The destination, masked (personal data)")]
    from_: Annotated[str | None, Field(alias="from")]
    from_number: Annotated[str | None, Field(description=(
        "The number Aculab sent the message from, once every part's is known and they agree; else null"))] = None
    metadata: dict[str, Any]
    msg_refs: list[str]
    parts: list[PartView]
    timeline: Annotated[list[TimelineEntry], Field(description=(
        "Every status change, oldest first: one line per status a part or the message reached"))]
    due_at: Annotated[Timestamp | None, Field(description="Its send_at, while it waits for it")] = None
    valid_until: Annotated[Timestamp | None, Field(description="Never sent after this")] = None
    created_at: Timestamp | None
    updated_at: Timestamp | None


class CampaignView(BaseModel):
    model_config = VIEW_CONFIG

    campaign_id: str
    messages: Annotated[int, Field(description="Its messages the stack has seen (a send still on the queue is not)")]
    final: Annotated[int, Field(description="Of them, those whose status is final (delivered, failed, cancelled ...)")]
    by_status: Annotated[dict[str, int], Field(description=(
        "Its messages by status, as in GET /messages (scheduled, queued, sent, delivered, cancelled ...)"))]
    cancelled_at: Annotated[Timestamp | None, Field(description="When it was first cancelled; null: it was not")]


class ApiError(BaseModel):
    model_config = VIEW_CONFIG

    message: str
