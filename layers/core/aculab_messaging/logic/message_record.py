"""What the store hands the services: the message item read back, and what a
status update asks it to write for one part."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, model_validator

from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.status import FINAL_RANK, Status


class MessageRecord(BaseModel):
    """The message item (pk ``MSG#<message_id>``, sk ``MSG``), as dal/ reads it: each attribute a field
    (``from`` as ``from_``), the outbox's ``ob_<eventId>`` attributes gathered as events."""

    model_config = ConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True, defer_build=True,
                              arbitrary_types_allowed=True)

    message_id: str = ""
    status: str = ""
    rank: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)
    refs: list[str] = Field(default_factory=list)
    parts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    dlr: bool = True
    to: str | None = None
    from_: str | None = Field(None, alias="from")
    reason: str | None = None
    aculab_msg_err: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    # every public status change, oldest first (history_entry): bounded, as statuses only move forward
    history: list[dict[str, Any]] = Field(default_factory=list)
    type: str | None = None
    schedule_name: str | None = None  # the EventBridge schedule of a message waiting for its send_at
    due_at: str | None = None
    valid_until: str | None = None
    replay: bool = False
    lease_until: int | None = None
    request_hash: str | None = None  # the request it was created from (logic/lifecycle.request_hash)
    attempts: int = 0  # msg_send calls made for it
    resends: int = 0  # times sent again after every part failed temporarily (301)
    earlier_refs: list[str] = Field(default_factory=list)  # refs of attempts that failed temporarily
    request: str | None = None  # the send request as first accepted (JSON): what a resend puts on the queue
    resend: bool = False  # waiting to be sent again: the reconciler puts ``request`` on the send queue
    announced_parts: int = 0  # the parts Aculab's updates said an adopted message has (0: not adopted)
    submitted_at: str | None = None  # when this attempt reached Aculab (submit or adopt): its give-up age counts
    country_counted: bool = False  # counted against its country's CountrySendsPerHour (once, at its first claim)
    # events stored with a transition and not yet known to be published, by eventId
    outbox: Annotated[dict[str, Event], SkipValidation] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_the_item(cls, item: Any) -> Any:
        """An item as DynamoDB holds it: its outbox as a set of eventIds beside ``ob_<eventId>`` entries,
        None for an attribute some writes set to null, each part's rank a number."""
        if not isinstance(item, Mapping) or isinstance(item.get("outbox"), dict):
            return item
        values = {k: v for k, v in item.items() if v is not None and not k.startswith("ob_")}
        values["parts"] = {ref: {**p, "rank": int(p.get("rank", 0))} for ref, p in (item.get("parts") or {}).items()}
        values["outbox"] = {eid: _outbox_event(item[f"ob_{eid}"]) for eid in sorted(item.get("outbox") or ())
                            if item.get(f"ob_{eid}")}
        return values

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> MessageRecord:
        return cls.model_validate(item)

    @property
    def is_final(self) -> bool:
        return self.rank >= FINAL_RANK

    @property
    def from_number(self) -> str | None:
        """The number Aculab sent every part from, when each part's is known and they agree
        (a pool name's message: the pool's number it used), else None."""
        numbers = {p.get("from_number") for p in self.parts.values()}
        return next(iter(numbers)) if len(numbers) == 1 and None not in numbers else None


def _outbox_event(entry: Mapping[str, Any] | None) -> Event:
    """An event as the outbox keeps it: its detail-type and its detail exactly as first built."""
    data = entry or {}
    return Event(str(data.get("t")), json.loads(str(data.get("d"))))


def history_entry(at: str, status: str, **detail: Any) -> dict[str, Any]:
    """One line of a message's timeline: when, which status, and what said so
    (the part's msg_ref, Aculab's own status, a reason). None details left out."""
    return {"at": at, "status": status, **{k: v for k, v in detail.items() if v is not None}}


@dataclass(frozen=True)
class PartWrite:
    """What the state machine asks the store to write for one part."""

    message_id: str
    msg_ref: str
    status: Status
    rank: int
    provider_status: str | None
    aculab_msg_err: str | None
    provider_timestamp: str | None
    # single-part messages: write the message-level status in the same request
    single_part: bool
    # the number Aculab sent the part from (E.164 with '+'); None leaves a stored one as it is
    from_number: str | None = None


@dataclass(frozen=True)
class PartWriteResult:
    """What a conditional part write did."""

    outcome: str  # "advanced" | "stale" | "missing"
    record: MessageRecord | None


@dataclass(frozen=True)
class StoredMedia:
    """A media file in the archive."""

    key: str
    size: int
    content_type: str
