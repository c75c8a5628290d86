"""The reconciler: repair what notifications missed.

1. Stale messages (non-final, no activity for the stale age) are read from the
   sparse ``pending`` GSI only, their refs asked with msg_status in batches, and
   the answers applied through the same state machine as the webhook.
   ``unknown`` refs and messages past the give-up age become ``expired``.
2. Blocked pairs are made equal to Aculab's msg_list_blocked for every
   sending number.

The run is bounded: it saves a cursor and stops before the Lambda timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import batched

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import PartStatus, is_e164
from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.announcing import Announcer
from aculab_messaging.logic.blocked_sync import BlockedListSync
from aculab_messaging.logic.message_record import MessageRecord
from aculab_messaging.logic.policy import ReconcilePolicy
from aculab_messaging.logic.ports import Aculab, EventPublisher, MetricsSink, PublishError, SendQueue
from aculab_messaging.logic.reconcile_report import ReconcileReport
from aculab_messaging.logic.status import (
    FINAL_RANK,
    Status,
    UnknownStatusError,
    for_log,
    is_documented_msg_err,
    parse_provider_status,
)
from aculab_messaging.logic.store_ports import ReconcileStore
from aculab_messaging.logic.tracking import StatusReport, apply_status
from aculab_messaging.logic.unsent import UnsentMessages, older_than, publish_outbox

log = logging.getLogger(__name__)


def take_batch(records: list[MessageRecord], size: int) -> tuple[list[MessageRecord], list[MessageRecord]]:
    """The first records whose refs fit one msg_status call of ``size`` refs (at
    least one record), and the rest: full calls, a message's refs never split."""
    refs = 0
    for i, record in enumerate(records):
        if i and refs + len(record.refs) > size:
            return records[:i], records[i:]
        refs += len(record.refs)
    return records, []


@dataclass
class ReconcileService:
    """Repairs stale messages with msg_status and syncs msg_list_blocked."""

    store: ReconcileStore
    publisher: EventPublisher
    aculab: Aculab
    policy: ReconcilePolicy
    clock: Callable[[], datetime]
    metrics: MetricsSink
    queue: SendQueue | None = None  # where a message sent again after a temporary failure goes

    def run(self, seconds_left: Callable[[], float]) -> ReconcileReport:
        report = ReconcileReport()
        now = self.clock()
        cursor = self.store.cursor.get_cursor() or {}
        first_shard = int(cursor.get("shard", 0))
        batch: list[MessageRecord] = []  # across pages and shards: full msg_status batches
        for shard in range(first_shard, self.store.pending.shard_count):
            start = cursor.get("key") if shard == first_shard else None
            pages = self.store.pending.stale_pages(shard, now - self.policy.stale_age, start, self.policy.batch_size)
            for records, next_key, scanned in pages:
                report.items_read += scanned
                batch += records
                while sum(len(r.refs) for r in batch) >= self.policy.batch_size and self._time_left(seconds_left):
                    full, batch = take_batch(batch, self.policy.batch_size)
                    self._reconcile_page(full, now, report)
                if not self._time_left(seconds_left):
                    self._reconcile_page(batch, now, report)  # one last call, inside the margin
                    batch = []
                    more = next_key is not None or shard + 1 < self.store.pending.shard_count
                    if more:
                        resume = {"shard": shard, "key": next_key} if next_key else {"shard": shard + 1, "key": None}
                        self.store.cursor.put_cursor(resume, now)
                        report.complete = False
                        self._finish(report)
                        return report
        if self._time_left(seconds_left):
            self._reconcile_page(batch, now, report)
        if cursor:
            self.store.cursor.put_cursor(None, now)
        def time_left() -> bool:
            return self._time_left(seconds_left)

        announcer = Announcer(self.store, self.publisher, self.policy.stale_age)
        if time_left():
            announcer.close_due_groups(report, now, time_left)
        if time_left():
            announcer.announce_pending(report, now, time_left)
        if time_left():
            sync = BlockedListSync(self.store, self.aculab, self.publisher, self.policy.sending_numbers)
            report.blocked_synced = sync.run(report, now, time_left)
        self._finish(report)
        return report

    def _time_left(self, seconds_left: Callable[[], float]) -> bool:
        return seconds_left() >= self.policy.time_margin_seconds

    # -- stale messages -------------------------------------------------------

    def _reconcile_page(self, records: list[MessageRecord], now: datetime, report: ReconcileReport) -> None:
        if not records:
            return
        answers: dict[str, PartStatus] = {}
        asked: set[str] = set()  # refs of the batches Aculab answered (a ref it left out is in none)
        refs = [ref for r in records if r.rank < FINAL_RANK for ref in r.refs]
        # one call per page at most: take_batch fills it
        for batch in batched(refs, self.policy.batch_size, strict=False):
            try:
                answers.update(self.aculab.msg_status(batch))
                asked.update(batch)
                report.status_calls += 1
            except AculabError as exc:
                report.failed_batches += 1
                log.warning("msg_status batch failed", extra={"refs": len(batch), "error": type(exc).__name__})
        for record in records:
            report.examined += 1
            if record.outbox and not publish_outbox(self.store, self.publisher, record, report):
                continue  # EventBridge still failing: the next run tries again
            if record.rank >= FINAL_RANK:
                self._replay(record, now, report)
                continue
            if not record.refs:
                UnsentMessages(self.store, self.publisher, self.metrics, self.policy.give_up_age, self.queue).look_at(
                    record, now, report)
                continue
            unanswered = [ref for ref in record.refs if ref not in answers]
            if unanswered and not (self._given_up(record, now) and asked.issuperset(unanswered)):
                continue  # its batch failed (next run), or Aculab left a ref out (next run, until its give-up age)
            events, advanced = self._apply_answers(record, answers, now)
            if not advanced and not record.replay:
                self.store.pending.touch(record.message_id, now)
                report.unchanged += 1
                continue
            report.changed += int(advanced)
            if any(e.detail.get("status") == Status.EXPIRED.value and e.detail.get("isFinal") for e in events):
                report.expired += 1
            self._publish_or_requeue(record, events, now, report)

    def _apply_answers(
        self, record: MessageRecord, answers: dict[str, PartStatus], now: datetime
    ) -> tuple[list[Event], bool]:
        """Events of the changes (and, for a record being replayed, of the
        current state again), and whether anything changed."""
        events: list[Event] = []
        advanced = False
        given_up = self._given_up(record, now)
        for ref in record.refs:
            answer = answers.get(ref)
            if answer is None:
                continue  # unanswered past the give-up age: given up below
            if answer.is_unknown:
                report = self._report(record, ref, Status.EXPIRED, "unknown", None, "msg_ref unknown to Aculab")
            else:
                try:
                    provider = parse_provider_status(answer.status)
                except UnknownStatusError as exc:
                    self.metrics.count("UnknownAculabStatus")
                    log.warning("unexpected msg_status answer", extra={"message_id": record.message_id,
                                                                       "status": for_log(exc.raw)})
                    continue
                if not is_documented_msg_err(answer.aculab_msg_err):
                    self.metrics.count("UnknownAculabMsgErr")
                report = self._report(record, ref, provider.status, provider.raw, answer, provider.reason)
            applied = apply_status(self.store, report, now, resend_limit=self.policy.temporary_failure_retries)
            advanced |= applied.advanced
            if applied.advanced or record.replay:
                events += applied.events
        if given_up:
            fresh = self.store.messages.get_message(record.message_id) or record
            for ref, part in fresh.parts.items():
                if int(part.get("rank", 0)) < FINAL_RANK:
                    report = self._report(fresh, ref, Status.EXPIRED, None, None, "no final status within give-up age")
                    applied = apply_status(self.store, report, now)
                    advanced |= applied.advanced
                    events += applied.events
        return events, advanced

    def _given_up(self, record: MessageRecord, now: datetime) -> bool:
        """Its attempt is older than the give-up age: what Aculab has not made final is expired."""
        return older_than(record.submitted_at or record.created_at, now - self.policy.give_up_age)

    @staticmethod
    def _report(
        record: MessageRecord,
        ref: str,
        status: Status,
        raw: str | None,
        answer: PartStatus | None,
        reason: str | None,
    ) -> StatusReport:
        return StatusReport(
            message_id=record.message_id,
            msg_ref=ref,
            status=status,
            provider_status=raw,
            aculab_msg_err=answer.aculab_msg_err if answer else None,
            provider_timestamp=answer.timestamp if answer else None,
            multipart_count=max(len(record.refs), record.announced_parts, answer.multipart_count or 0 if answer else 0),
            delivery_report=record.dlr,
            reason=reason,
            from_number=answer.msg_from if answer and is_e164(answer.msg_from) else None,
        )

    def _replay(self, record: MessageRecord, now: datetime, report: ReconcileReport) -> None:
        """A final message in the index: its outbox is out; a status update whose event was
        not published (the webhook put it back, ``replay``) is announced again."""
        events: list[Event] = []
        for ref, part in record.parts.items() if record.replay else ():
            raw = part.get("provider_status")
            report_ = StatusReport(
                message_id=record.message_id, msg_ref=ref, status=Status(part["status"]),
                provider_status=raw, aculab_msg_err=part.get("aculab_msg_err"),
                provider_timestamp=part.get("provider_ts"),
                multipart_count=max(len(record.refs), record.announced_parts),
                delivery_report=record.dlr, reason=_reason_of(raw),
            )
            events += apply_status(self.store, report_, now).events  # a duplicate: the same event again
        try:
            self.publisher.publish(events)
        except PublishError:
            report.publish_failures += 1
            return
        self.store.pending.clear_pending(record.message_id)

    def _publish_or_requeue(
        self, record: MessageRecord, events: list[Event], now: datetime, report: ReconcileReport
    ) -> None:
        try:
            self.publisher.publish(events)
        except PublishError:
            # stored but not announced: keep it in the index so the next run replays it
            report.publish_failures += 1
            self.store.pending.requeue(record.message_id, now)
            return
        if record.replay:
            self.store.pending.touch(record.message_id, now)  # replayed: back to the normal schedule

    def _finish(self, report: ReconcileReport) -> None:
        for name, value in asdict(report).items():
            if isinstance(value, bool):
                continue
            self.metrics.count(f"Reconcile_{name}", int(value))
        log.info("reconcile run", extra=asdict(report))


def _reason_of(raw: str | None) -> str | None:
    """The reason Aculab gave in its status text (``failed (undeliverable)``), as the update's event had it."""
    try:
        return parse_provider_status(raw).reason if raw else None
    except UnknownStatusError:
        return None
