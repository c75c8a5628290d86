"""Adversary tests of a batch's outbox clears (``SendService._clear``, one a message) run on the
batch's pool at once. What held: a partial PutEvents failure's retries and requeues, a clear that raises,
a batch larger than the pool, a batch of one, and records of one message in one batch (on the fakes, whose
clear is one step: the two-request race on DynamoDB is tests/integration/test_adversary_clears_stack.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.ports import PublishError
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.messages import InMemoryMessages
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_policy, send_service

OURS, MOBILE = "+447700900001", "+447700900123"


class FailingFor(RecordingPublisher):
    """PutEvents accepting every event but those of ``message_ids`` (a partial failure)."""

    def __init__(self, *message_ids: str) -> None:
        super().__init__()
        self.refused = set(message_ids)

    def publish(self, events: Sequence[Event]) -> None:
        failed = [e for e in events if e.detail.get("messageId") in self.refused]
        self.published.extend(e for e in events if e not in failed)
        if failed:
            raise PublishError(failed, "InternalFailure")


class HeldClears(InMemoryMessages):
    """Each outbox clear waits until ``parties`` clears are under way at once; ``down`` fails after meeting."""

    def __init__(self, store: InMemoryStore, parties: int, down: str | None = None) -> None:
        super().__init__(store.table, store.refs)
        self.barrier = threading.Barrier(parties, timeout=30)
        self.down = down
        self.threads: set[str] = set()

    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        self.threads.add(threading.current_thread().name)
        self.barrier.wait()
        if message_id == self.down:
            raise ConnectionError("the store is unreachable")
        super().clear_events(message_id, event_ids, final=final)


def record(clock: Clock, sqs_id: str, **fields: Any) -> dict[str, Any]:
    body = {"to": MOBILE, "from": OURS, "content": "Your order has shipped", **fields}
    return {"messageId": sqs_id, "receiptHandle": f"rh-{sqs_id}", "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(clock().timestamp() * 1000))}}


def world(publisher: RecordingPublisher | None = None, **policy: Any) -> tuple[Any, InMemoryStore, Any, Any, Clock]:
    store, clock, metrics = InMemoryStore(), Clock(), RecordingMetrics()
    queue = InMemorySendQueue(clock)
    service = send_service(store, publisher or RecordingPublisher(), FakeAculab(), queue, clock,
                           policy=send_policy(**policy), metrics=metrics)
    return service, store, queue, metrics, clock


def test_a_partial_publish_failure_retries_exactly_its_records_while_the_clears_run_at_once() -> None:
    # given a batch of six sends whose clears meet at a barrier, and PutEvents refusing two messages' events
    publisher = FailingFor("m-1", "m-4")
    service, store, queue, metrics, clock = world(publisher)
    store.messages = held = HeldClears(store, parties=6)
    # when the batch is processed
    outcomes = service.process_batch([record(clock, f"sqs-{i}", message_id=f"m-{i}") for i in range(6)])
    # then the six clears ran on six threads at once
    assert len(held.threads) == 6
    # and exactly the two records whose events failed are retried, as the main thread's _finish saw them
    assert {sid for sid, o in outcomes.items() if o.retry} == {"sqs-1", "sqs-4"}
    assert {o.reason for o in outcomes.values() if o.retry} == {"event not published"}
    assert len(queue.retry_calls) == 2
    assert metrics.counts.get("RecordRetried") == 2 and metrics.counts.get("RecordDone") == 4
    # and their events wait in their outboxes, due at once for the reconciler; the others' outboxes are empty
    for i in range(6):
        item = store.table.message(f"m-{i}") or {}
        if i in (1, 4):
            assert len(item.get("outbox", ())) == 1 and item.get("replay") is True
            assert str(item.get("pending_sk", "")).startswith("0000#")
        else:
            assert not item.get("outbox")
    assert publisher.types().count(ev.MESSAGE_SUBMITTED) == 4


def test_a_clear_that_raises_stops_no_other_clear_nor_its_records_retry() -> None:
    # given a batch of five sends whose clears meet at a barrier, m-2's clear failing (the store down for it)
    # and PutEvents refusing m-2's and m-3's events
    publisher = FailingFor("m-2", "m-3")
    service, store, _, _, clock = world(publisher)
    store.messages = HeldClears(store, parties=5, down="m-2")
    # when the batch is processed
    outcomes = service.process_batch([record(clock, f"sqs-{i}", message_id=f"m-{i}") for i in range(5)])
    # then the batch finished, m-2 and m-3 are retried (their events not out) and the rest are done
    assert {sid for sid, o in outcomes.items() if o.retry} == {"sqs-2", "sqs-3"}
    # and m-2 keeps its event (never cleared), m-3 keeps its failed event, the rest are cleared
    assert [bool((store.table.message(f"m-{i}") or {}).get("outbox")) for i in range(5)] == [
        False, False, True, True, False]


def test_a_batch_larger_than_the_pool_and_then_a_batch_of_one_are_cleared() -> None:
    # given a send service whose pool has two threads
    service, store, _, _, clock = world(concurrency=2)
    # when a batch of seven is processed on it, and then (the next invocation, the same pool) a batch of one
    first = service.process_batch([record(clock, f"sqs-{i}", message_id=f"m-{i}") for i in range(7)])
    second = service.process_batch([record(clock, "sqs-7", message_id="m-7")])
    # then every message was submitted and its outbox cleared, and none is retried
    assert not any(o.retry for o in [*first.values(), *second.values()])
    assert all(not (store.table.message(f"m-{i}") or {}).get("outbox") for i in range(8))


def test_two_copies_of_a_blocked_send_in_one_batch_leave_it_cleared_and_off_the_index() -> None:
    # given a mobile that opted out, and batches each holding two copies of one send to it (SQS's duplicate)
    service, store, _, _, clock = world()
    store.blocked.set_blocked(OURS, MOBILE, True, "inbound", "2026-11-25T08:00:00.000+00:00#r0")
    for n in range(20):
        # when each batch is processed (the copies' clears of one message on two threads)
        mid = f"dup-{n}"
        outcomes = service.process_batch([record(clock, f"a-{n}", message_id=mid),
                                          record(clock, f"b-{n}", message_id=mid)])
        # then the message is blocked, its outbox empty, off the pending index, and neither copy retried
        item = store.table.message(mid) or {}
        assert item.get("status") == "blocked" and not item.get("outbox") and "pending_pk" not in item
        assert not any(o.retry for o in outcomes.values())


def test_a_schedule_and_its_cancel_in_one_batch_on_the_fakes_leave_no_event_behind() -> None:
    # given batches each holding a send due in five minutes and a cancel of it, the send's record first
    service, store, _, _, clock = world()
    for n in range(20):
        mid = f"sc-{n}"
        soon = (clock() + timedelta(minutes=5)).isoformat()
        # when each batch is processed
        outcomes = service.process_batch([record(clock, f"s-{n}", message_id=mid, send_at=soon),
                                          {**record(clock, f"c-{n}"),
                                           "body": json.dumps({"action": "cancel", "message_id": mid})}])
        # then no event is left behind and no record is retried wrongly: either the cancel met the scheduled
        # message (cancelled, off the index) or came first (cancel failed: unknown message; the send scheduled)
        item = store.table.message(mid) or {}
        assert not item.get("outbox")
        assert not outcomes[f"s-{n}"].retry
        if item.get("status") == "cancelled":
            assert "pending_pk" not in item and not outcomes[f"c-{n}"].retry
