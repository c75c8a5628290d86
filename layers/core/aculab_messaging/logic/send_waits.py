"""A send request that is not due yet: stored ``scheduled`` for its due time, at first sight
(``schedule``: its send_at, or the end of its recipient's quiet hours), or seen again inside its
recipient's quiet hours (``defer``: its due time moves to their end); then brought back by its
EventBridge schedule (beyond SQS's 15 minutes) or by a delayed copy on the queue."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.ports import MetricsSink, SendQueue
from aculab_messaging.logic.record_outcome import RecordOutcome
from aculab_messaging.logic.scheduling import SQS_MAX_DELAY_SECONDS, Scheduler, Timing, schedule_name
from aculab_messaging.logic.send_attempt import Attempt, event_time, first_sight, later, refused, scheduled_event
from aculab_messaging.logic.status import Status
from aculab_messaging.logic.store_ports import SendStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendWaits:
    store: SendStore
    queue: SendQueue
    scheduler: Scheduler | None
    metrics: MetricsSink

    def schedule(self, req: SendRequest, fingerprint: str, timing: Timing, attempt: Attempt, now: datetime,
                 record: MessageRecord | None = None) -> RecordOutcome | MessageRecord:
        """Stored to wait for ``timing``'s due time: ``schedule`` (no item yet) or ``defer`` (``record``:
        its item, seen in its recipient's quiet hours; one fact, and one schedule, per new due time)."""
        due = timing.due_at
        assert due is not None  # noqa: S101 - wait_seconds > 0 means a due time
        far = timing.wait_seconds(now) > SQS_MAX_DELAY_SECONDS
        if far and self.scheduler is None:
            raise RuntimeError("a send due beyond 15 minutes needs the scheduler")
        # a deferral's schedule has its own name: the one that brought it back may not be deleted yet
        name = schedule_name(req.message_id, "" if record is None else lc.stamp(due)) if far else None
        fields: dict[str, object] = {"reason": timing.why}
        if record is None:
            transition, keep = lc.SCHEDULE, {**first_sight(req, fingerprint, timing), "schedule_name": name}
            event = scheduled_event(req, due, timing, now)
        else:
            transition, keep = lc.DEFER, {}
            event = scheduled_event(req, due, timing, now, f"until {lc.stamp(due)}")
            fields.update(due_at=lc.stamp(due), schedule_name=name)
        moved = self.store.messages.transition(lc.Change(
            transition, req.message_id, now, keep=keep, fields=fields, events=[event], request_hash=fingerprint,
            pending_at=due,
            history=history_entry(lc.stamp(now), Status.SCHEDULED.value, dueAt=lc.stamp(due), reason=timing.why)))
        if not moved.done:
            return refused(moved)
        self.metrics.count("MessageScheduled")
        log.info("message scheduled", extra={"message_id": req.message_id, "due_at": event_time(due)})
        waited = self.wait(req, moved.record, timing, attempt, now)
        if record is not None and record.schedule_name and record.schedule_name != name and self.scheduler:
            self.scheduler.unschedule(record.schedule_name)  # the one it had: its request is not left behind
        return RecordOutcome.stored(req.message_id, [event], retry=waited.retry, reason=waited.reason,
                                    requeued=waited.requeued)

    def wait(self, req: SendRequest, record: MessageRecord | None, held: Timing, attempt: Attempt,
             now: datetime) -> RecordOutcome:
        """Not due yet: its EventBridge schedule brings it back (made again if a crash lost it),
        or, within SQS's 15 minutes, a fresh copy on the queue that costs no receive."""
        wait = held.wait_seconds(now)
        name = record.schedule_name if record else None
        if name and wait > SQS_MAX_DELAY_SECONDS and self.scheduler is not None and held.due_at is not None:
            self.scheduler.schedule(name, held.due_at, Timing.due_body(req))
            return RecordOutcome()
        return later(self.queue, attempt, math.ceil(min(wait, SQS_MAX_DELAY_SECONDS)), "waiting for its send_at")
