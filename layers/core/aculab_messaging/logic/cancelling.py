"""Cancel at every stage, answered by exactly one event (stored in the
message's outbox with the change it answers, where there is a message):

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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import CancelResult
from aculab_messaging.contracts.events import Event, stamp
from aculab_messaging.contracts.events.base import CancelResults
from aculab_messaging.contracts.events.outcomes import CancelFailedDetail, CancelledDetail
from aculab_messaging.contracts.queue import CancelRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.ports import Aculab
from aculab_messaging.logic.scheduling import Scheduler
from aculab_messaging.logic.status import FINAL_STATUSES, SENDING, Status, for_log
from aculab_messaging.logic.store_ports import CancelStore
from aculab_messaging.logic.tracking import StatusReport, apply_status

log = logging.getLogger(__name__)

UNKNOWN = "unknown message"
ALREADY_SENT = "already sent"
BEFORE_SENDING = "cancelled before sending"
NO_REFS_YET = "not cancelled: msg_send's answer was ambiguous, so Aculab may have it under refs not known yet"
# what Aculab has already passed on: too late for msg_cancel
_SENT = frozenset({Status.SUBMITTED.value, Status.SENT.value, Status.DELIVERED.value, Status.ACCEPTED.value})


@dataclass(frozen=True)
class Cancelled:
    """``events`` to publish; ``retry``: try the cancel again later (``reason``)."""

    events: list[Event]
    retry: bool = False
    reason: str | None = None
    outbox: dict[str, list[str]] = field(default_factory=dict)  # message_id -> the stored events' ids

    @classmethod
    def stored(cls, message_id: str, events: list[Event]) -> Cancelled:
        return cls(events, outbox={message_id: [str(e.detail["eventId"]) for e in events]})


@dataclass
class Canceller:
    store: CancelStore
    aculab: Aculab
    scheduler: Scheduler | None = None

    def cancel(self, req: CancelRequest, now: datetime) -> Cancelled:
        record = self.store.messages.get_message(req.message_id)
        for _ in range(3):
            if record is None:
                log.info("cancel of an unknown message", extra={"message_id": req.message_id})
                return Cancelled([_cancel_failed(req.message_id, None, now, UNKNOWN)])
            if record.status in lc.CANCEL.sources:
                done = self._before_sending(record, now)
                if isinstance(done, Cancelled):
                    return done
                record = done  # it moved on meanwhile: decide again on what it is now
                continue
            return self._decided(record, now)
        return Cancelled([], retry=True, reason="changed while cancelling")

    def cancel_unsent(self, message_id: str, now: datetime, reason: str = BEFORE_SENDING) -> Cancelled:
        """Only a message not yet handed to Aculab (scheduled, waiting), as its item is now: a campaign's
        cancel, which reads the campaign index (eventually consistent) and never calls msg_cancel."""
        record = self.store.messages.get_message(message_id)
        for _ in range(3):
            if record is None or record.status not in lc.CANCEL.sources:
                return Cancelled([])
            done = self._before_sending(record, now, reason)
            if isinstance(done, Cancelled):
                return done
            record = done
        return Cancelled([], retry=True, reason="changed while cancelling")

    def _decided(self, record: MessageRecord, now: datetime) -> Cancelled:
        if record.status == SENDING:
            return Cancelled([], retry=True, reason="send in progress")
        if record.status == Status.CANCELLED.value:
            if record.outbox:  # this cancel's own events, not yet known published (same eventIds)
                return Cancelled.stored(record.message_id, list(record.outbox.values()))
            return Cancelled([])  # cancelled, and said so
        if record.status in _SENT:
            return Cancelled([self._failed(record, now, ALREADY_SENT)])
        if record.status == lc.UNCONFIRMED:
            return Cancelled([_cancel_failed(record.message_id, None, now, NO_REFS_YET, metadata=record.metadata,
                                             identity=lc.UNCONFIRMED)])
        if record.is_final or not record.refs:
            return Cancelled([self._failed(record, now, f"message is already {record.status}")])
        return self._at_aculab(record, now)

    def _before_sending(self, record: MessageRecord, now: datetime,
                        reason: str = BEFORE_SENDING) -> Cancelled | MessageRecord:
        """Scheduled or waiting: its schedule deleted first (should the delete fail, the cancel
        is tried again and the message stays scheduled; should the schedule fire meanwhile,
        the send finds the message cancelled), then the ``cancel`` transition."""
        if record.schedule_name and self.scheduler is not None:
            self.scheduler.unschedule(record.schedule_name)
        event = self._cancelled(record, now, reason)
        moved = self.store.messages.transition(lc.Change(
            lc.CANCEL, record.message_id, now, fields={"reason": reason, "schedule_name": None},
            events=[event], history=history_entry(lc.stamp(now), Status.CANCELLED.value, reason=reason)))
        if moved.done:
            return Cancelled.stored(record.message_id, [event])
        if moved.record is None:  # pragma: no cover - it existed a moment ago (its TTL?)
            return Cancelled([], retry=True, reason="changed while cancelling")
        return moved.record

    def _at_aculab(self, record: MessageRecord, now: datetime) -> Cancelled:
        try:
            results = self.aculab.msg_cancel(record.refs)
        except AculabError as exc:
            if exc.retryable:
                return Cancelled([], retry=True, reason=str(exc))
            return Cancelled([self._failed(record, now, f"Aculab refused the cancel: {exc}")])
        odd = sorted({result.value for result in results.values() if result.is_other})
        if odd:  # an answer Aculab's reference does not list: not cancelled, its text kept in the reason
            log.warning("unrecognised msg_cancel result", extra={"message_id": record.message_id,
                                                                "results": [for_log(o) for o in odd]})
        cancelled = [ref for ref, result in results.items() if result is CancelResult.SUCCESS]
        if not cancelled:
            reason = f"{ALREADY_SENT} (unrecognised cancel result: {', '.join(odd)})" if odd else ALREADY_SENT
            return Cancelled([self._failed(record, now, reason[:500], results)])
        events: list[Event] = []
        for ref in cancelled:
            events += apply_status(
                self.store,
                StatusReport(message_id=record.message_id, msg_ref=ref, status=Status.CANCELLED,
                             provider_status="cancelled", multipart_count=len(record.refs),
                             delivery_report=record.dlr),
                now,
            ).events
        events.append(Event.of(CancelledDetail(
            **stamp(CancelledDetail, record.message_id, Status.CANCELLED, "", now=now), message_id=record.message_id,
            metadata=record.metadata, msg_refs=record.refs, status=Status.CANCELLED, is_final=True,
            cancel_results=_answers(results))))
        # the parts moved first; their events and the answer go through the outbox: a failed
        # publish is published again by the next copy of this cancel or by the reconciler
        self.store.messages.add_events(record.message_id, events, now)
        return Cancelled.stored(record.message_id, events)

    @staticmethod
    def _cancelled(record: MessageRecord, now: datetime, reason: str = BEFORE_SENDING) -> Event:
        return Event.of(CancelledDetail(
            **stamp(CancelledDetail, record.message_id, Status.CANCELLED, "", now=now), message_id=record.message_id,
            metadata=record.metadata, msg_refs=[], status=Status.CANCELLED, is_final=True, reason=reason))

    @staticmethod
    def _failed(record: MessageRecord, now: datetime, reason: str,
                results: Mapping[str, CancelResult] | None = None) -> Event:
        return _cancel_failed(record.message_id, Status(record.status), now, reason, metadata=record.metadata,
                              refs=record.refs, results=results)



def _cancel_failed(message_id: str, status: Status | None, now: datetime, reason: str, *,
                   metadata: dict[str, Any] | None = None, refs: list[str] | None = None,
                   results: Mapping[str, CancelResult] | None = None, identity: str = "") -> Event:
    """Not cancelled: ``status`` the message's (None: no message has the id, or its refs are not known yet)."""
    return Event.of(CancelFailedDetail(
        **stamp(CancelFailedDetail, message_id, status, identity, now=now), message_id=message_id,
        metadata=metadata or {}, msg_refs=refs or [], status=status, is_final=status in FINAL_STATUSES, reason=reason,
        cancel_results=_answers(results or {})))


_ANSWERS: CancelResults = {CancelResult.SUCCESS: "success", CancelResult.UNKNOWN: "unknown"}


def _answers(results: Mapping[str, CancelResult]) -> CancelResults:
    """Each part's msg_cancel answer as the event contract has it: one it does not know reads "failed"."""
    return {ref: _ANSWERS.get(result, "failed") for ref, result in results.items()}
