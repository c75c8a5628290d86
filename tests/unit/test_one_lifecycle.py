"""The defects of sends, waits, cancels and retries taken one by one, each where
the send path used to go wrong, on the in-memory fakes and a controllable
clock (given/when/then). Each is one row of logic/lifecycle.py at work."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aculab_messaging.aculab.errors import AculabAuthError, AculabServerError
from aculab_messaging.aculab.params import CancelResult
from aculab_messaging.contracts import events as ev
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy, ReconcilePolicy, SendPolicy
from aculab_messaging.logic.reconcile import ReconcileService
from aculab_messaging.logic.send_attempt import REUSED_ID
from aculab_messaging.logic.status import RETRYABLE, Status
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_policy, send_service
from tests.timing_fakes import FakeScheduler, InMemoryPace

MOBILE, OURS = "+447700900123", "+447700900001"


class World:
    def __init__(self, *, pacer: Pacer | None = None, concurrency: int = 10) -> None:
        self.store, self.publisher, self.aculab = InMemoryStore(), RecordingPublisher(), FakeAculab()
        self.clock = Clock()
        self.scheduler = FakeScheduler()
        self.queue = InMemorySendQueue(self.clock)
        self.service = send_service(self.store, self.publisher, self.aculab, self.queue, self.clock,
                                    policy=send_policy(concurrency=concurrency), scheduler=self.scheduler,
                                    pacer=pacer, sleep=lambda seconds: self.clock.advance(seconds=seconds))
        self.reconciler = ReconcileService(
            store=self.store, publisher=self.publisher, aculab=self.aculab, clock=self.clock,
            metrics=RecordingMetrics(), policy=ReconcilePolicy(stale_age=timedelta(minutes=15),
                                                               give_up_age=timedelta(days=2)))

    def send(self, message_id: str = "m-1", **fields: Any) -> str:
        return json.dumps({"message_id": message_id, "to": MOBILE, "from": OURS, "content": "Your code is 1234",
                           **fields})

    def put(self, body: str) -> None:
        self.queue.put(body)

    def drain(self, *, until: timedelta = timedelta(hours=1), step: timedelta = timedelta(seconds=1)) -> None:
        """The event source mapping: batches of visible records until the queue is empty
        (or ``until`` has passed), the clock jumping to the next visible record."""
        end = self.clock() + until
        while self.queue.waiting and self.clock() < end:
            batch = self.queue.receive(10)
            if not batch:
                nxt = self.queue.next_visible()
                self.clock.now = max(self.clock() + step, nxt) if nxt else self.clock() + step
                continue
            outcomes = self.service.process_batch(batch)
            self.queue.settle(batch, {sqs_id for sqs_id, o in outcomes.items() if o.retry})

    def status(self, message_id: str = "m-1") -> str:
        record = self.store.messages.get_message(message_id)
        return record.status if record else "(none)"

    def reconcile(self) -> None:
        self.clock.advance(minutes=16)
        self.reconciler.run(lambda: 300.0)


def test_a_stop_while_a_message_is_scheduled_blocks_it_when_its_schedule_fires() -> None:
    w = World()
    # given a message scheduled for 2 hours ahead
    w.put(w.send(send_at=(w.clock() + timedelta(hours=2)).isoformat()))
    w.drain(until=timedelta(seconds=5))
    assert w.status() == "scheduled"
    # when the recipient texts STOP, then the schedule fires
    w.store.blocked.set_blocked(OURS, MOBILE, True, "inbound", "2026-11-25T09:30:00.000+00:00#r1")
    w.clock.advance(hours=2, seconds=1)
    (fired,) = w.scheduler.fire_due(w.clock())
    w.put(fired)
    w.drain(until=timedelta(seconds=5))
    # then it is blocked for good, never sent, and said so
    assert w.status() == Status.BLOCKED.value and w.aculab.sent == []
    assert w.publisher.types() == [ev.MESSAGE_SCHEDULED, ev.MESSAGE_BLOCKED]


def test_a_stop_while_a_message_waits_for_a_retry_blocks_it_at_the_retry() -> None:
    w = World()
    # given a send that met an Aculab outage, waiting for its retry
    w.aculab.error = AculabServerError(503, "Service Unavailable")
    w.put(w.send())
    w.drain(until=timedelta(seconds=1))
    assert w.status() == RETRYABLE
    # when the recipient texts STOP, and Aculab is back for the retry
    w.store.blocked.set_blocked(OURS, MOBILE, True, "inbound", "2026-11-25T09:00:05.000+00:00#r1")
    w.aculab.error = None
    w.drain()
    # then it ends blocked, with its event, never sent
    assert w.status() == Status.BLOCKED.value and w.aculab.sent == []
    assert w.publisher.types() == [ev.MESSAGE_BLOCKED]


def test_a_cancel_at_aculab_whose_events_fail_is_announced_by_its_redelivery_and_not_lost() -> None:
    w = World()
    # given a message queued at Aculab
    w.put(w.send())
    w.drain()
    # when a cancel reaches Aculab but PutEvents fails for it
    w.publisher.failing = True
    cancel = json.dumps({"action": "cancel", "message_id": "m-1"})
    w.put(cancel)
    w.drain(until=timedelta(seconds=2))
    assert w.aculab.cancelled == [["ref-1"]] and w.status() == Status.CANCELLED.value
    # then its events wait in the message's outbox, and the message stays where the reconciler looks
    record = w.store.messages.get_message("m-1")
    assert record is not None and ev.MESSAGE_CANCELLED in [e.detail_type for e in record.outbox.values()]
    assert "pending_pk" in w.store.items[("MSG#m-1", "MSG")]
    # and once EventBridge is back the cancel's copy (or the reconciler) publishes them, without a second cancel
    w.publisher.failing = False
    w.drain()
    assert ev.MESSAGE_CANCELLED in w.publisher.types() and w.aculab.cancelled == [["ref-1"]]
    w.reconcile()
    assert w.publisher.types().count(ev.MESSAGE_CANCELLED) == 1


def test_the_reconciler_publishes_a_cancel_whose_record_is_gone() -> None:
    w = World()
    w.put(w.send())
    w.drain()
    # given a cancel at Aculab whose PutEvents failed, and whose record SQS no longer has
    w.publisher.failing = True
    w.put(json.dumps({"action": "cancel", "message_id": "m-1"}))
    batch = w.queue.receive(10)
    w.service.process_batch(batch)
    w.queue.settle(batch, set())  # acknowledged all the same (as the DLQ or a crash would leave it)
    w.publisher.failing = False
    # when the reconciler runs after the stale age
    w.reconcile()
    # then Message Cancelled is out, once, with the eventId the cancel stored
    assert w.publisher.types().count(ev.MESSAGE_CANCELLED) == 1
    assert w.store.messages.get_message("m-1").outbox == {}  # type: ignore[union-attr]


def test_a_retry_keeps_the_message_its_timeline_and_validity() -> None:
    w = World()
    # given a message valid for an hour, scheduled 10 minutes ahead, that met one 503
    w.put(w.send(send_at=(w.clock() + timedelta(minutes=10)).isoformat(), valid_for_seconds=3600))
    w.drain(until=timedelta(seconds=2))
    created = w.store.messages.get_message("m-1").created_at  # type: ignore[union-attr]
    w.clock.advance(minutes=10)
    w.aculab.error = AculabServerError(503, "Service Unavailable")
    w.drain(until=timedelta(seconds=2))
    # when the retry goes through
    w.aculab.error = None
    w.drain()
    # then it is one message: created once, its due time and validity kept, its whole timeline there
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.status == Status.QUEUED.value and len(w.aculab.sent) == 1
    assert record.created_at == created and record.due_at and record.valid_until
    assert record.valid_until.startswith("2026-11-25T10:10:00")
    assert [h["status"] for h in record.history] == ["scheduled", "queued"] and record.attempts == 2


def test_another_request_under_a_scheduled_message_id_is_refused_and_the_schedule_kept() -> None:
    w = World()
    # given a message scheduled for 2 hours ahead
    w.put(w.send(send_at=(w.clock() + timedelta(hours=2)).isoformat()))
    w.drain(until=timedelta(seconds=2))
    # when another request reuses its message_id, to someone else, now
    w.put(json.dumps({"message_id": "m-1", "to": "447700900999", "from": OURS, "content": "Other text"}))
    w.drain(until=timedelta(seconds=2))
    # then it is refused, nothing is sent, the schedule is as it was
    rejected = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_REJECTED]
    assert len(rejected) == 1 and REUSED_ID in str(rejected[0].detail["reason"])
    assert w.aculab.sent == [] and w.status() == Status.SCHEDULED.value and len(w.scheduler.schedules) == 1
    # and the same request again is a duplicate: no second event, no second schedule
    w.put(w.send(send_at=(w.clock() + timedelta(hours=2, seconds=-2)).isoformat()))
    w.drain(until=timedelta(seconds=2))
    assert w.publisher.types().count(ev.MESSAGE_SCHEDULED) == 1 and w.aculab.sent == []


def test_a_dlq_redrive_after_the_validity_expires_the_message() -> None:
    w = World()
    # given a message valid for 60 s whose retries ran out (dead-lettered) in an outage
    w.service.policy = SendPolicy(webhook_url="https://hooks.example/aculab/notify", retry_window_seconds=30,
                                  base_backoff_seconds=1, max_backoff_seconds=5)  # the last try within 35 s
    w.aculab.error = AculabServerError(503, "Service Unavailable")
    w.put(w.send(valid_for_seconds=60))
    w.drain(until=timedelta(seconds=55))
    assert len(w.queue.dead) == 1 and w.status() == RETRYABLE and ev.MESSAGE_FAILED in w.publisher.types()
    # when the operator redrives it 2 s after its validity (a new record, a new SentTimestamp), Aculab healthy
    w.aculab.error = None
    w.clock.now = w.clock.now.replace(minute=1, second=2)
    w.put(w.queue.dead[0])
    w.drain()
    # then it is never sent: expired, as its first sight fixed
    assert w.aculab.sent == [] and w.status() == Status.EXPIRED.value
    assert w.publisher.types()[-1] == ev.MESSAGE_EXPIRED


def test_a_paced_backlog_of_a_thousand_all_goes_and_none_is_dead_lettered() -> None:
    # given a stack paced at 1 send a second, 1,000 messages on the queue, SQS dead-lettering at 100 receives
    pacer = Pacer(InMemoryPace(), PacePolicy(max_per_second=1, margin=0, lead_seconds=0))
    w = World(pacer=pacer, concurrency=1)
    for i in range(1000):
        w.put(w.send(f"b-{i}"))
    # when the send function works through it (the clock compressed: a thousand seconds pass in no time)
    w.drain(until=timedelta(hours=2))
    # then every message went once, none reached the dead-letter queue, none is left sending
    assert len(w.aculab.sent) == 1000 and len({p.status_page for p in w.aculab.sent}) == 1000
    assert w.queue.redriven_by_sqs == [] and w.queue.dead == [] and w.queue.waiting == []
    assert w.publisher.types().count(ev.MESSAGE_SUBMITTED) == 1000 and ev.MESSAGE_FAILED not in w.publisher.types()
    # and the waits went back as fresh copies: no record was received more than twice
    assert w.queue.retry_calls == []


def test_an_odd_cancel_answer_is_cancel_failed_with_its_text_and_nothing_raises() -> None:
    w = World()
    w.put(w.send())
    w.drain()

    # given Aculab answers msg_cancel with a result its reference does not list
    def pending(refs: Any) -> dict[str, CancelResult]:
        return dict.fromkeys(refs, CancelResult("pending"))

    w.aculab.msg_cancel = pending  # type: ignore[method-assign]
    # when a cancel for the queued message comes
    w.put(json.dumps({"action": "cancel", "message_id": "m-1"}))
    w.drain()
    # then it is a Cancel Failed naming the answer, the message unchanged, the record done
    failed = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_CANCEL_FAILED]
    assert len(failed) == 1 and "pending" in str(failed[0].detail["reason"])
    assert failed[0].detail["cancelResults"] == {"ref-1": "failed"}
    assert w.status() == Status.QUEUED.value and w.queue.waiting == []


def test_rejected_credentials_hold_the_line_and_each_message_goes_once_fixed() -> None:
    w = World()
    metrics = RecordingMetrics()
    w.service.metrics = metrics
    # given Aculab answers 401 (the API key was rotated, the stack's secret not yet)
    w.aculab.error = AculabAuthError(401, "Unauthorized")
    w.put(w.send("m-1"))
    w.put(w.send("m-2", valid_for_seconds=60))
    w.drain(until=timedelta(minutes=2))
    # then nothing failed: both wait for a retry, the alarm's metric counted, no Message Failed
    assert w.aculab.sent == [] and ev.MESSAGE_FAILED not in w.publisher.types()
    assert metrics.counts["AculabCredentialsRejected"] >= 2
    # when the operator fixes the secret (the one whose validity ran out meanwhile expires as usual)
    w.aculab.error = None
    w.drain()
    # then the other is sent, once
    assert [p.status_page.split("mid=")[1].split("&")[0] for p in w.aculab.sent] == ["m-1"]  # type: ignore[union-attr]
    assert w.status("m-1") == Status.QUEUED.value and w.status("m-2") == Status.EXPIRED.value
