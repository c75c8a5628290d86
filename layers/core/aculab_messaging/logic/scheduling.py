"""When a send may go, and until when: ``send_at`` and the validity.

A message due within SQS's 15-minute delay waits in the queue (its record
made visible again when due); beyond, an EventBridge Scheduler one-time
schedule puts it back on the queue when due (``DueRequest``). Either way it
is stored ``scheduled`` first, so a cancel finds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aculab_messaging.contracts.queue import DueRequest, SendRequest
from aculab_messaging.logic.quiet_hours import Deferral, QuietWindow, deferral

SQS_MAX_DELAY_SECONDS = 900


class Scheduler(Protocol):
    """One-time schedules that put a body on the send queue."""

    def schedule(self, name: str, at: datetime, body: str) -> None:
        """Idempotent: a schedule of that name already there is this one."""

    def unschedule(self, name: str) -> bool:
        """False: there was none (it fired, or never was)."""


def schedule_name(message_id: str, deferred_to: str = "") -> str:
    """A schedule's name for a message: [0-9a-zA-Z-_.], at most 64 characters. A deferral's schedule
    (``deferred_to``: its due time) has its own name: the schedule that brought it back may not be
    deleted yet."""
    return "msg-" + hashlib.sha256(f"{message_id}|{deferred_to}".encode() if deferred_to else
                                   message_id.encode()).hexdigest()[:48]


@dataclass(frozen=True)
class Timing:
    due_at: datetime | None  # None: now
    valid_until: datetime | None  # None: no limit
    quiet: Deferral | None = None  # its due time is when the recipient's quiet hours end

    @classmethod
    def of(cls, req: SendRequest, enqueued_at: datetime | None) -> Timing:
        """What a request asks, seen now: ``valid_for_seconds`` counts from send_at, else from when
        the record was put on the queue. Only the first sight counts: its item keeps the answer."""
        due = req.send_at
        valid = req.valid_until
        if req.valid_for_seconds:
            base = req.send_at or enqueued_at or datetime.now(UTC)
            limit = base + timedelta(seconds=req.valid_for_seconds)
            valid = min(valid, limit) if valid else limit
        return cls(due, valid)

    def expired(self, now: datetime) -> bool:
        """Never to be sent: its validity ran out, or runs out before it is due (its quiet hours outlast it)."""
        end = self.valid_until
        return end is not None and (now >= end or (self.due_at is not None and self.due_at >= end))

    @property
    def why(self) -> str | None:
        """Why it waits, when not for its own send_at: the recipient's quiet hours."""
        return f"the recipient's quiet hours ({self.quiet.window} in {self.quiet.zone})" if self.quiet else None

    def quieted(self, req: SendRequest, by_default: QuietWindow | None, now: datetime) -> Timing:
        """Its due time moved to the end of the recipient's quiet hours, if it falls inside them."""
        window = req.quiet_window(by_default)
        if window is None:
            return self
        from aculab_messaging.logic.pumping_guard import country_of

        held = deferral(window, country_of(req.to), max(self.due_at or now, now))
        return replace(self, due_at=held.until, quiet=held) if held else self

    def wait_seconds(self, now: datetime) -> float:
        return max(0.0, (self.due_at - now).total_seconds()) if self.due_at else 0.0

    @staticmethod
    def due_body(req: SendRequest) -> str:
        """What the schedule puts on the queue: the request as first received (its item holds
        its due time and validity, and the request's hash must match it)."""
        return DueRequest(action="due", message_id=req.message_id, request=req).model_dump_json(
            by_alias=True, exclude_none=True)


def enqueued_at(record: Mapping[str, Any]) -> datetime | None:
    sent_ms = (record.get("attributes") or {}).get("SentTimestamp")
    return datetime.fromtimestamp(int(sent_ms) / 1000, UTC) if sent_ms else None
