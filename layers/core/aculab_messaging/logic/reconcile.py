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
from aculab_messaging.aculab.params import PartStatus, is_e164, number_or_given
from aculab_messaging.contracts.events import Event, opt_out_event, utc_now_iso
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.inbound import apply_inbound, assemble
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.policy import ReconcilePolicy
from aculab_messaging.logic.pools import pool_lists
from aculab_messaging.logic.ports import Aculab, EventPublisher, MetricsSink, PublishError, ReconcileStore, SendQueue
from aculab_messaging.logic.status import (
    FINAL_RANK,
    OUTCOME_UNKNOWN,
    SENDING,
    Status,
    UnknownStatusError,
    for_log,
    is_documented_msg_err,
    parse_provider_status,
)
from aculab_messaging.logic.tracking import DEAD_LETTERED, StatusReport, apply_status, failed_event

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    """What one reconcile run did, returned by the handler."""

    examined: int = 0
    changed: int = 0
    expired: int = 0
    unchanged: int = 0
    items_read: int = 0
    status_calls: int = 0
    failed_batches: int = 0
    publish_failures: int = 0
    blocked_added: int = 0
    blocked_removed: int = 0
    reannounced: int = 0
    closed_incomplete: int = 0  # long inbound messages announced without all their parts
    resent: int = 0  # messages put back on the send queue after a temporary failure
    complete: bool = True  # every stale message was examined (else a cursor was saved)
    blocked_synced: bool = False


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
        cursor = self.store.get_cursor() or {}
        first_shard = int(cursor.get("shard", 0))
        batch: list[MessageRecord] = []  # across pages and shards: full msg_status batches
        for shard in range(first_shard, self.store.shard_count):
            start = cursor.get("key") if shard == first_shard else None
            pages = self.store.stale_pages(shard, now - self.policy.stale_age, start, self.policy.batch_size)
            for records, next_key, scanned in pages:
                report.items_read += scanned
                batch += records
                while sum(len(r.refs) for r in batch) >= self.policy.batch_size and self._time_left(seconds_left):
                    full, batch = take_batch(batch, self.policy.batch_size)
                    self._reconcile_page(full, now, report)
                if not self._time_left(seconds_left):
                    self._reconcile_page(batch, now, report)  # one last call, inside the margin
                    batch = []
                    more = next_key is not None or shard + 1 < self.store.shard_count
                    if more:
                        resume = {"shard": shard, "key": next_key} if next_key else {"shard": shard + 1, "key": None}
                        self.store.put_cursor(resume, now)
                        report.complete = False
                        self._finish(report)
                        return report
        if self._time_left(seconds_left):
            self._reconcile_page(batch, now, report)
        if cursor:
            self.store.put_cursor(None, now)
        if self._time_left(seconds_left):
            self._close_due_groups(report, now, seconds_left)
        if self._time_left(seconds_left):
            self._announce_pending(report, now, seconds_left)
        if self._time_left(seconds_left):
            report.blocked_synced = self._sync_blocked(report, now, seconds_left)
        self._finish(report)
        return report

    def _time_left(self, seconds_left: Callable[[], float]) -> bool:
        return seconds_left() >= self.policy.time_margin_seconds

    # -- stale messages -------------------------------------------------------

    def _reconcile_page(self, records: list[MessageRecord], now: datetime, report: ReconcileReport) -> None:
        if not records:
            return
        answers: dict[str, PartStatus] = {}
        refs = [ref for r in records if r.rank < FINAL_RANK for ref in r.refs]
        # one call per page at most: take_batch fills it
        for batch in batched(refs, self.policy.batch_size, strict=False):
            try:
                answers.update(self.aculab.msg_status(batch))
                report.status_calls += 1
            except AculabError as exc:
                report.failed_batches += 1
                log.warning("msg_status batch failed", extra={"refs": len(batch), "error": type(exc).__name__})
        for record in records:
            report.examined += 1
            if record.outbox and not self._publish_outbox(record, report):
                continue  # EventBridge still failing: the next run tries again
            if record.rank >= FINAL_RANK:
                self._replay(record, now, report)
                continue
            if not record.refs:
                self._unsent(record, now, report)
                continue
            if not all(ref in answers for ref in record.refs):
                continue  # its batch failed: next run
            events, advanced = self._apply_answers(record, answers, now)
            if not advanced and not record.replay:
                self.store.touch(record.message_id, now)
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
        given_up = _older_than(record.submitted_at or record.created_at, now - self.policy.give_up_age)  # this attempt
        for ref in record.refs:
            answer = answers[ref]
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
            fresh = self.store.get_message(record.message_id) or record
            for ref, part in fresh.parts.items():
                if int(part.get("rank", 0)) < FINAL_RANK:
                    report = self._report(fresh, ref, Status.EXPIRED, None, None, "no final status within give-up age")
                    applied = apply_status(self.store, report, now)
                    advanced |= applied.advanced
                    events += applied.events
        return events, advanced

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

    def _publish_outbox(self, record: MessageRecord, report: ReconcileReport) -> bool:
        """The one replay path of the send path's events: what a transition stored and
        nobody is known to have published, published again with the same eventIds."""
        try:
            self.publisher.publish(list(record.outbox.values()))
        except PublishError:
            report.publish_failures += 1
            return False
        self.store.clear_events(record.message_id, list(record.outbox))
        report.reannounced += 1
        return True

    def _unsent(self, record: MessageRecord, now: datetime, report: ReconcileReport) -> None:
        """A message not at Aculab yet: the queue, its schedule or a redrive moves it; a claim
        whose lease ran out long ago (its record lost), or an unconfirmed send no status update
        has confirmed by the give-up age, ends "outcome unknown", never sent again."""
        lease_over = record.status == SENDING and (record.lease_until or 0) < now.timestamp()
        unconfirmed = record.status == lc.UNCONFIRMED
        if (lease_over or unconfirmed) and _older_than(record.updated_at, now - self.policy.give_up_age):
            event = failed_event(record.message_id, record.metadata, OUTCOME_UNKNOWN, now,
                                 f"outcome unknown {record.resends}")
            moved = self.store.transition(lc.Change(
                lc.GIVE_UP, record.message_id, now, fields={"reason": OUTCOME_UNKNOWN}, events=[event],
                history=history_entry(lc.stamp(now), Status.FAILED.value, reason=OUTCOME_UNKNOWN)))
            if moved.done and moved.record is not None:
                report.changed += 1
                self._publish_outbox(moved.record, report)
            return
        if record.status == lc.SCHEDULED:
            self.metrics.count("ScheduledOverdue")  # its schedule or queue copy is late: looked at again
        if record.status == lc.WAITING and record.resend:
            self._send_again(record, report)
        dead = record.status == lc.WAITING and (record.reason or "").startswith(DEAD_LETTERED)
        # a dead-lettered one waits for a redrive (the DLQ is alarmed): looked at again after the give-up age
        later = now + self.policy.give_up_age if dead else now
        if unconfirmed and record.updated_at:  # its status updates may still come: next look at its give-up age
            later = datetime.fromisoformat(record.updated_at) + self.policy.give_up_age
        self.store.touch(record.message_id, later)
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
        self.store.clear_pending(record.message_id)

    def _publish_or_requeue(
        self, record: MessageRecord, events: list[Event], now: datetime, report: ReconcileReport
    ) -> None:
        try:
            self.publisher.publish(events)
        except PublishError:
            # stored but not announced: keep it in the index so the next run replays it
            report.publish_failures += 1
            self.store.requeue(record.message_id, now)
            return
        if record.replay:
            self.store.touch(record.message_id, now)  # replayed: back to the normal schedule

    # -- blocked pairs --------------------------------------------------------

    def _sync_blocked(self, report: ReconcileReport, now: datetime, seconds_left: Callable[[], float]) -> bool:
        """Add msg_list_blocked's pairs to ours and lift those of ours that came
        from it and left it, number by number while time is left (True: every
        number synced), then each pool's pairs from its numbers' lists together
        (logic/pools.py). Each change is written first, marked unannounced, and
        announced only once it took effect."""
        # our numbers in E.164 with '+', as the pairs are keyed (configured in any form; pool names left out),
        # and every number known to be a pool's
        found = (number_or_given(n) for n in (*self.policy.sending_numbers, *self.store.list_senders()))
        pool_numbers = self.store.pool_numbers()
        lists: dict[str, set[str] | None] = {}
        for from_ in sorted({n for n in found if is_e164(n)} | pool_numbers.keys()):
            if not self._time_left(seconds_left):
                return False
            theirs = lists[from_] = self._blocked_list(from_, report)
            if theirs is not None:
                self._sync_pairs(from_, theirs, report, now)
        for pool, theirs in pool_lists(pool_numbers, lists).items():
            if not self._time_left(seconds_left):
                return False
            self._sync_pairs(pool, theirs, report, now)
        return True

    def _blocked_list(self, from_: str, report: ReconcileReport) -> set[str] | None:
        try:
            return {entry.to for entry in self.aculab.msg_list_blocked(from_=from_)}
        except AculabError as exc:
            report.failed_batches += 1
            log.warning("msg_list_blocked failed", extra={"error": type(exc).__name__})
            return None

    def _sync_pairs(self, from_: str, theirs: set[str], report: ReconcileReport, now: datetime) -> None:
        ours = self.store.blocked_for(from_)  # mobile -> the source of its block
        # Aculab's blocks are added; only blocks that came from Aculab's list are lifted when they leave
        # it: one of our keywords (e.g. a REVOKE Aculab does not know) is lifted by a START alone
        lifted = sorted(to for to, source in ours.items() if source == "reconcile" and to not in theirs)
        changes = [(to, True) for to in sorted(theirs - ours.keys())] + [(to, False) for to in lifted]
        stamp = f"{utc_now_iso(now)}#reconcile"
        events, written = [], []
        for to, blocked in changes:
            if self.store.set_blocked(from_, to, blocked, "reconcile", stamp, announce=True):
                report.blocked_added += int(blocked)
                report.blocked_removed += int(not blocked)
                events.append(opt_out_event(from_=from_, to=to, blocked=blocked, source="reconcile", now=now,
                                            identity=stamp))
                written.append((f"BLOCK#{from_}", f"TO#{to}"))
        self._publish_announced(events, written, report)

    def _announce_pending(self, report: ReconcileReport, now: datetime, seconds_left: Callable[[], float]) -> None:
        """Inbound messages and opt-out changes whose events never went out
        (Aculab stopped retrying, EventBridge failed): the same events again."""
        for item in self.store.unannounced(before=now - self.policy.stale_age):
            if not self._time_left(seconds_left):
                return
            pk, sk = str(item["pk"]), str(item["sk"])
            if pk.startswith("IN#"):
                events = apply_inbound(self.store, item, now, repeat=True)  # its first announcement never went out
            elif pk.startswith("INMP#"):  # a long message, completed or closed, or revised by a late part
                whole = assemble(item, complete=bool(item.get("completed_at")))  # its latest announcement
                events = apply_inbound(self.store, whole, now, repeat=True)
                report.reannounced += 1
                try:
                    self.publisher.publish(events)
                except PublishError:
                    report.publish_failures += 1  # it stays unannounced: the next run tries again
                    continue
                self.store.announced(pk, sk, revision=whole["revision"])  # unless a later part revised it meanwhile
                continue
            else:
                events = [opt_out_event(from_=str(item["from"]), to=str(item["to"]), blocked=bool(item["blocked"]),
                                        source=item["source"], now=now, identity=str(item["change_key"]))]
            report.reannounced += 1
            self._publish_announced(events, [(pk, sk)], report)

    def _close_due_groups(self, report: ReconcileReport, now: datetime, seconds_left: Callable[[], float]) -> None:
        """Long inbound messages still missing parts when their wait ended: announced
        with what arrived (``complete: false``); a text with parts missing is never taken as a keyword.
        A part arriving after revises the group and the webhook announces it again (``IngestService._revise``)."""
        for group in self.store.due_inbound_groups(before=now):
            if not self._time_left(seconds_left):
                return
            pk = str(group["pk"])
            if not self.store.finish_inbound_group(pk, "closed_at", {"opt_out": None, "keyword": None}, now):
                continue  # its last part arrived meanwhile
            report.closed_incomplete += 1
            events = apply_inbound(self.store, assemble(group, complete=False), now, repeat=False)
            try:
                self.publisher.publish(events)
            except PublishError:
                report.publish_failures += 1  # it stays unannounced: the next run tries again
                continue
            self.store.announced(pk, "GROUP", revision=0)  # unless a late part revised it meanwhile

    def _publish_announced(self, events: list[Event], items: list[tuple[str, str]], report: ReconcileReport) -> None:
        if not events:
            return
        try:
            self.publisher.publish(events)
        except PublishError:
            report.publish_failures += 1  # they stay unannounced: the next run tries again
            return
        for pk, sk in items:
            self.store.announced(pk, sk)

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


def _older_than(created_at: str | None, cutoff: datetime) -> bool:
    if not created_at:
        return False
    try:
        return datetime.fromisoformat(created_at) < cutoff
    except ValueError:
        return False

