"""Messages the reconciler finds not at Aculab: an outbox published again, a claim or an
unconfirmed send given up ("outcome unknown"), a message sent again after a temporary failure."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.ports import EventPublisher, MetricsSink, PublishError, SendQueue
from aculab_messaging.logic.reconcile_report import ReconcileReport
from aculab_messaging.logic.status import OUTCOME_UNKNOWN, SENDING, Status
from aculab_messaging.logic.store_ports import ReconcileStore
from aculab_messaging.logic.tracking import DEAD_LETTERED, failed_event

log = logging.getLogger(__name__)


def publish_outbox(store: ReconcileStore, publisher: EventPublisher, record: MessageRecord,
               report: ReconcileReport) -> bool:
    """The one replay path of the send path's events: what a transition stored and
    nobody is known to have published, published again with the same eventIds."""
    try:
        publisher.publish(list(record.outbox.values()))
    except PublishError:
        report.publish_failures += 1
        return False
    store.messages.clear_events(record.message_id, list(record.outbox))
    report.reannounced += 1
    return True


@dataclass
class UnsentMessages:
    store: ReconcileStore
    publisher: EventPublisher
    metrics: MetricsSink
    give_up_age: timedelta
    queue: SendQueue | None  # where a message sent again after a temporary failure goes

    def look_at(self, record: MessageRecord, now: datetime, report: ReconcileReport) -> None:
        """A message not at Aculab yet: the queue, its schedule or a redrive moves it; a claim
        whose lease ran out long ago (its record lost), or an unconfirmed send no status update
        has confirmed by the give-up age, ends "outcome unknown", never sent again."""
        lease_over = record.status == SENDING and (record.lease_until or 0) < now.timestamp()
        unconfirmed = record.status == lc.UNCONFIRMED
        if (lease_over or unconfirmed) and older_than(record.updated_at, now - self.give_up_age):
            event = failed_event(record.message_id, record.metadata, OUTCOME_UNKNOWN, now,
                                 f"outcome unknown {record.resends}")
            moved = self.store.messages.transition(lc.Change(
                lc.GIVE_UP, record.message_id, now, fields={"reason": OUTCOME_UNKNOWN}, events=[event],
                history=history_entry(lc.stamp(now), Status.FAILED.value, reason=OUTCOME_UNKNOWN)))
            if moved.done and moved.record is not None:
                report.changed += 1
                publish_outbox(self.store, self.publisher, moved.record, report)
            return
        if record.status == lc.SCHEDULED:
            self.metrics.count("ScheduledOverdue")  # its schedule or queue copy is late: looked at again
        if record.status == lc.WAITING and record.resend:
            self._send_again(record, report)
        dead = record.status == lc.WAITING and (record.reason or "").startswith(DEAD_LETTERED)
        # a dead-lettered one waits for a redrive (the DLQ is alarmed): looked at again after the give-up age
        later = now + self.give_up_age if dead else now
        if unconfirmed and record.updated_at:  # its status updates may still come: next look at its give-up age
            later = datetime.fromisoformat(record.updated_at) + self.give_up_age
        self.store.pending.touch(record.message_id, later)
        report.unchanged += 1

    def _send_again(self, record: MessageRecord, report: ReconcileReport) -> None:
        """After a temporary failure: its request back on the send queue (a copy more, should this
        run repeat, is a duplicate the claim turns away); the send path claims it from waiting."""
        if self.queue is None or not record.request:
            log.error("a message to send again, and no send queue", extra={"message_id": record.message_id})
            return
        try:
            self.queue.later(record.request, 0)
        except Exception as exc:  # noqa: BLE001 - looked at again next run
            log.warning("could not queue a message to send again", extra={"message_id": record.message_id,
                                                                          "error": type(exc).__name__})
            return
        self.metrics.count("SentAgainAfterTemporaryFailure")
        report.resent += 1


def older_than(created_at: str | None, cutoff: datetime) -> bool:
    if not created_at:
        return False
    try:
        return datetime.fromisoformat(created_at) < cutoff
    except ValueError:
        return False
