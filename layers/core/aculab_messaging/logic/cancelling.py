"""Cancel at every stage, answered by exactly one event:

- scheduled (waiting for its send_at): its schedule deleted, ``Message Cancelled``;
- waiting for a retry (or in the queue for its send_at): marked, never sent, ``Message Cancelled``;
- queued at Aculab: ``msg_cancel`` for each part, ``Message Cancelled`` (or Cancel Failed, too late);
- already sent: ``Message Cancel Failed``, reason "already sent";
- unknown message_id: ``Message Cancel Failed``, reason "unknown message"; nothing is
  stored, so a send with that id that comes later is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from aculab_messaging.aculab import AculabError, CancelResult
from aculab_messaging.contracts.events import MESSAGE_CANCEL_FAILED, MESSAGE_CANCELLED, Event, message_event
from aculab_messaging.contracts.queue import CancelRequest
from aculab_messaging.logic.ports import Aculab, Store
from aculab_messaging.logic.scheduling import Scheduler
from aculab_messaging.logic.tracking import StatusReport, apply_status, outcome_event, replay_events
from aculab_messaging.records import MessageRecord
from aculab_messaging.status import RETRYABLE, SENDING, Status

log = logging.getLogger(__name__)

UNKNOWN = "unknown message"
ALREADY_SENT = "already sent"
BEFORE_SENDING = "cancelled before sending"
# what Aculab has already passed on: too late for msg_cancel
_SENT = frozenset({Status.SUBMITTED.value, Status.SENT.value, Status.DELIVERED.value, Status.ACCEPTED.value})


@dataclass(frozen=True)
class Cancelled:
    """``events`` to publish; ``retry``: try the cancel again later (``reason``)."""

    events: list[Event]
    retry: bool = False
    reason: str | None = None


@dataclass
class Canceller:
    store: Store
    aculab: Aculab
    scheduler: Scheduler | None = None

    def cancel(self, req: CancelRequest, now: datetime) -> Cancelled:
        record = self.store.get_message(req.message_id)
        if record is None:
            log.info("cancel of an unknown message", extra={"message_id": req.message_id})
            return Cancelled([message_event(MESSAGE_CANCEL_FAILED, message_id=req.message_id, status=None,
                                            is_final=False, reason=UNKNOWN, now=now,
                                            extra={"cancelResults": {}})])
        if record.status == Status.SCHEDULED.value:
            return self._scheduled(record, now)
        if record.status == RETRYABLE and self.store.cancel_unsent(req.message_id, now):
            return Cancelled([self._cancelled(record, now)])
        if record.status in (SENDING, RETRYABLE):
            return Cancelled([], retry=True, reason="send in progress")
        if record.status == Status.CANCELLED.value:
            return Cancelled(replay_events(record, now))  # this cancel's own event again (same eventId)
        if record.status in _SENT:
            return Cancelled([self._failed(record, now, ALREADY_SENT)])
        if record.is_final or not record.refs:
            return Cancelled([self._failed(record, now, f"message is already {record.status}")])
        return self._at_aculab(record, now)

    def _scheduled(self, record: MessageRecord, now: datetime) -> Cancelled:
        """Its schedule first: should the delete fail, the cancel is tried again and the message stays
        scheduled; should the schedule fire meanwhile, the send finds the message cancelled."""
        schedule = record.schedule_name
        if schedule and self.scheduler is not None:
            self.scheduler.unschedule(schedule)
        if self.store.cancel_scheduled(record.message_id, now):
            return Cancelled([self._cancelled(record, now)])
        fresh = self.store.get_message(record.message_id)
        if fresh is None or fresh.status == Status.SCHEDULED.value:  # pragma: no cover - a write just refused
            return Cancelled([], retry=True, reason="changed while cancelling")
        return self.cancel(CancelRequest(action="cancel", message_id=record.message_id), now)

    def _at_aculab(self, record: MessageRecord, now: datetime) -> Cancelled:
        try:
            results = self.aculab.msg_cancel(record.refs)
        except AculabError as exc:
            if exc.retryable:
                return Cancelled([], retry=True, reason=str(exc))
            return Cancelled([self._failed(record, now, f"Aculab refused the cancel: {exc}")])
        cancelled = [ref for ref, result in results.items() if result is CancelResult.SUCCESS]
        if not cancelled:
            return Cancelled([self._failed(record, now, ALREADY_SENT, results)])
        events: list[Event] = []
        for ref in cancelled:
            events += apply_status(
                self.store,
                StatusReport(message_id=record.message_id, msg_ref=ref, status=Status.CANCELLED,
                             provider_status="cancelled", multipart_count=len(record.refs),
                             delivery_report=record.dlr),
                now,
            ).events
        events.append(outcome_event(MESSAGE_CANCELLED, record.message_id, Status.CANCELLED, now,
                                    metadata=record.metadata, refs=record.refs,
                                    extra={"cancelResults": {k: v.value for k, v in results.items()}}))
        return Cancelled(events)

    @staticmethod
    def _cancelled(record: MessageRecord, now: datetime) -> Event:
        return outcome_event(MESSAGE_CANCELLED, record.message_id, Status.CANCELLED, now, metadata=record.metadata,
                             reason=BEFORE_SENDING)

    @staticmethod
    def _failed(record: MessageRecord, now: datetime, reason: str,
                results: Mapping[str, CancelResult] | None = None) -> Event:
        return outcome_event(
            MESSAGE_CANCEL_FAILED, record.message_id, Status(record.status), now, metadata=record.metadata,
            refs=record.refs, reason=reason,
            extra={"cancelResults": {k: v.value for k, v in (results or {}).items()}},
        )
