"""What the store hands the services: the message item read back, and what a
status update asks it to write for one part."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.status import FINAL_RANK, Status


@dataclass
class MessageRecord:
    """The message item, deserialised."""

    message_id: str
    status: str
    rank: int
    metadata: dict[str, Any] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    dlr: bool = True
    to: str | None = None
    from_: str | None = None
    reason: str | None = None
    aculab_msg_err: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    # every public status change, oldest first (history_entry): bounded, as statuses only move forward
    history: list[dict[str, Any]] = field(default_factory=list)
    type: str | None = None
    schedule_name: str | None = None  # the EventBridge schedule of a message waiting for its send_at
    due_at: str | None = None
    valid_until: str | None = None
    replay: bool = False
    lease_until: int | None = None
    request_hash: str | None = None  # the request it was created from (logic/lifecycle.request_hash)
    attempts: int = 0  # msg_send calls made for it
    resends: int = 0  # times sent again after every part failed temporarily (301)
    earlier_refs: list[str] = field(default_factory=list)  # refs of attempts that failed temporarily
    request: str | None = None  # the send request as first accepted (JSON): what a resend puts on the queue
    resend: bool = False  # waiting to be sent again: the reconciler puts ``request`` on the send queue
    announced_parts: int = 0  # the parts Aculab's updates said an adopted message has (0: not adopted)
    submitted_at: str | None = None  # when this attempt reached Aculab (submit or adopt): its give-up age counts
    # events stored with a transition and not yet known to be published, by eventId
    outbox: dict[str, Event] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> MessageRecord:
        parts = {ref: dict(p) for ref, p in (item.get("parts") or {}).items()}
        for p in parts.values():
            p["rank"] = int(p.get("rank", 0))
        return cls(
            message_id=str(item.get("message_id") or ""),
            status=str(item.get("status", "")),
            rank=int(item.get("rank", 0)),
            metadata=dict(item.get("metadata") or {}),
            refs=list(item.get("refs") or []),
            parts=parts,
            dlr=bool(item.get("dlr", True)),
            to=item.get("to"),
            from_=item.get("from"),
            reason=item.get("reason"),
            aculab_msg_err=item.get("aculab_msg_err"),
            created_at=item.get("created_at"),
            updated_at=item.get("updated_at"),
            history=[dict(h) for h in item.get("history") or []],
            type=item.get("type"),
            schedule_name=item.get("schedule_name"),
            due_at=item.get("due_at"),
            valid_until=item.get("valid_until"),
            replay=bool(item.get("replay", False)),
            lease_until=int(item["lease_until"]) if item.get("lease_until") is not None else None,
            request_hash=item.get("request_hash"),
            attempts=int(item.get("attempts", 0)),
            resends=int(item.get("resends", 0)),
            earlier_refs=list(item.get("earlier_refs") or []),
            request=item.get("request"),
            resend=bool(item.get("resend", False)),
            announced_parts=int(item.get("announced_parts", 0)),
            submitted_at=item.get("submitted_at"),
            outbox={eid: _outbox_event(item.get(f"ob_{eid}")) for eid in sorted(item.get("outbox") or ())
                    if item.get(f"ob_{eid}")},
        )

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
