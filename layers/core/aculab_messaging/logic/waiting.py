"""A send that may not go yet, or no longer: its send_at not come (stored
``scheduled``, then the queue or a schedule), its validity run out (``expired``),
or its slot in the shared pace further than the horizon."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aculab_messaging.contracts.events import MESSAGE_EXPIRED, MESSAGE_SCHEDULED, utc_now_iso
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic.pacing import PaceContended, Pacer
from aculab_messaging.logic.ports import Store
from aculab_messaging.logic.scheduling import SQS_MAX_DELAY_SECONDS, Scheduler, Timing, schedule_name
from aculab_messaging.logic.send_records import RecordOutcome
from aculab_messaging.logic.tracking import outcome_event
from aculab_messaging.metrics import MetricsSink
from aculab_messaging.records import MessageRecord
from aculab_messaging.status import Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitingRoom:
    """Each answer: a RecordOutcome, or the MessageRecord of a message that had
    moved on (the send path treats it as a duplicate)."""

    store: Store
    metrics: MetricsSink
    clock: Callable[[], datetime]
    scheduler: Scheduler | None
    pacer: Pacer | None
    pace_retry_seconds: int

    def wait(self, req: SendRequest, timing: Timing, wait: float, now: datetime) -> RecordOutcome | MessageRecord:
        """Not due yet: stored ``scheduled``; then back in the queue until due
        (within SQS's 15 minutes), or an EventBridge schedule (beyond)."""
        if timing.due_at is None:
            raise ValueError("waiting needs a due time")
        far = wait > SQS_MAX_DELAY_SECONDS
        existing = self.store.schedule_message(
            message_id=req.message_id, to=req.to, from_=req.from_, type_=req.type.value, metadata=req.metadata,
            dlr=req.request_delivery_report, due_at=timing.due_at, valid_until=timing.valid_until,
            schedule_name=schedule_name(req.message_id) if far else None, now=now,
        )
        if existing is not None and existing.status != Status.SCHEDULED.value:
            return existing
        event = outcome_event(MESSAGE_SCHEDULED, req.message_id, Status.SCHEDULED, now, metadata=req.metadata,
                              extra={"dueAt": iso(timing.due_at), "validUntil": iso(timing.valid_until)})
        if far:
            if self.scheduler is None:
                raise RuntimeError("a send due beyond 15 minutes needs the scheduler")
            self.scheduler.schedule(schedule_name(req.message_id), timing.due_at, timing.due_body(req))
            self.metrics.count("MessageScheduled")
            log.info("message scheduled", extra={"message_id": req.message_id, "due_at": iso(timing.due_at)})
            return RecordOutcome([event])  # the schedule puts it back on the queue when due
        if existing is None:
            self.metrics.count("MessageScheduled")
        return RecordOutcome([event], retry=True, reason="waiting for its send_at", delay_seconds=math.ceil(wait))

    def expire(self, req: SendRequest, timing: Timing, lease_until: datetime,
               now: datetime) -> RecordOutcome | MessageRecord:
        """Its validity ran out before Aculab had it: never sent, ``Message Expired``."""
        reason = f"not sent before its valid_until ({iso(timing.valid_until)})"
        event = outcome_event(MESSAGE_EXPIRED, req.message_id, Status.EXPIRED, now, metadata=req.metadata,
                              reason=reason, extra={"validUntil": iso(timing.valid_until)})
        record = self.store.get_message(req.message_id)
        if record is None:
            record = self.store.create_final(message_id=req.message_id, status=Status.EXPIRED, reason=reason,
                                             now=now, to=req.to, from_=req.from_, metadata=req.metadata)
        elif self.store.expire_unsent(req.message_id, reason, now, lease_until=lease_until):
            if record.schedule_name and self.scheduler is not None:
                self.scheduler.unschedule(record.schedule_name)
            record = None
        if record is None or record.status == Status.EXPIRED.value:
            self.metrics.count("MessageExpired")
            log.info("message expired", extra={"message_id": req.message_id})
            return RecordOutcome([event])
        return record

    def reserve_slot(self, req: SendRequest) -> tuple[datetime | None, RecordOutcome | None]:
        """(the moment this send may go, None) or (None, the record back in the queue for a moment)."""
        if self.pacer is None:
            return None, None
        try:
            slot = self.pacer.reserve(req.from_, self.clock)
        except PaceContended:
            self.metrics.count("PaceContended")
            return None, RecordOutcome(retry=True, reason="pace contended", delay_seconds=1)
        if slot is None:
            self.metrics.count("SendPaced")
            return None, RecordOutcome(retry=True, reason="paced", delay_seconds=self.pace_retry_seconds)
        return slot, None


def iso(moment: datetime | None) -> str | None:
    """An event's time, as every event says its timestamp."""
    return utc_now_iso(moment) if moment else None
