"""The reconciler on in-memory fakes and a controllable clock, given/when/then."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.aculab.params import PartStatus
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic.ingest import STOP_WORDS, IngestService
from aculab_messaging.logic.policy import ReconcilePolicy
from aculab_messaging.logic.reconcile import ReconcileService
from aculab_messaging.logic.status import Status
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests import seeding
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_service

MOBILE, OURS = "+447700900123", "+447700900001"  # E.164 with '+', as keyed and announced


@pytest.fixture
def world() -> tuple[ReconcileService, InMemoryStore, RecordingPublisher, FakeAculab, Clock]:
    store, publisher, aculab, clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock()
    policy = ReconcilePolicy(stale_age=timedelta(minutes=15), give_up_age=timedelta(hours=48), batch_size=2,
                             sending_numbers=(OURS,))
    service = ReconcileService(store=store, publisher=publisher, aculab=aculab, policy=policy, clock=clock,
                               metrics=RecordingMetrics())
    return service, store, publisher, aculab, clock


def submitted(store: InMemoryStore, clock: Clock, message_id: str, ref: str) -> None:
    seeding.queued(store, message_id, [ref], clock(), to=MOBILE, from_=OURS)


def forever() -> float:
    return 900.0


def test_a_stale_message_is_repaired_with_msg_status_in_batches(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given three messages whose updates never came, and Aculab knows two were delivered
    for i in range(3):
        submitted(store, clock, f"m-{i}", f"r{i}")
    aculab.statuses = {f"r{i}": PartStatus(msg_ref=f"r{i}", status="delivered") for i in range(2)}
    # when the reconciler runs after the stale age
    clock.advance(minutes=20)
    report = service.run(forever)
    # then msg_status was asked in batches of two refs, the two moved on, the third waits for next time
    assert [len(refs) for refs in aculab.status_calls] == [2, 1]
    assert (report.examined, report.changed) == (3, 2)
    assert [store.messages.get_message(f"m-{i}").status for i in range(3)] == [  # type: ignore[union-attr]
        Status.DELIVERED.value, Status.DELIVERED.value, Status.QUEUED.value]
    assert publisher.types().count(ev.MESSAGE_STATUS_CHANGED) == 2


def test_a_fresh_message_is_left_alone(world: Any) -> None:
    service, store, _, aculab, clock = world
    submitted(store, clock, "m-1", "r1")
    clock.advance(minutes=5)
    service.run(forever)
    assert aculab.status_calls == []


def test_aculabs_blocked_list_is_synced_and_announced(world: Any) -> None:
    service, store, publisher, aculab, _clock = world
    # given Aculab blocks a mobile our table does not know about (its rows in its form: no '+')
    aculab.blocked = {OURS[1:]: [MOBILE[1:]]}
    # when the reconciler runs
    report = service.run(forever)
    # then the pair is blocked here too, and Opt-Out Changed says where it came from
    assert store.blocked.is_blocked(OURS, MOBILE) and report.blocked_added == 1
    opt_outs = [e.detail for e in publisher.published if e.detail_type == ev.OPT_OUT_CHANGED]
    assert [(d["from"], d["to"], d["blocked"], d["source"]) for d in opt_outs] == [(OURS, MOBILE, True, "reconcile")]


def texted(store: InMemoryStore, publisher: RecordingPublisher, clock: Clock, ref: str, text: str,
           from_: str = MOBILE) -> None:
    """The mobile texts our number; the webhook knows REVOKE as a STOP word (``StopWords``), Aculab does not."""
    ingest = IngestService(store=store, publisher=publisher, clock=clock, stop_words=STOP_WORDS | {"REVOKE"})
    ingest.ingest(Notification.from_fields({"msg_ref": ref, "status": "received", "direction": "receive",
                                            "from": from_, "to": OURS, "content": text}))


def send(store: InMemoryStore, publisher: RecordingPublisher, aculab: FakeAculab, clock: Clock,
         message_id: str) -> Status:
    """A send request to the mobile through the send service; the message's status after."""
    sender = send_service(store, publisher, aculab, InMemorySendQueue(clock), clock)
    body = {"message_id": message_id, "to": MOBILE, "from": OURS, "content": "Your order has shipped"}
    sender.process_batch([{"messageId": f"sqs-{message_id}", "receiptHandle": f"rh-{message_id}",
                           "body": json.dumps(body), "attributes": {"ApproximateReceiveCount": "1"}}])
    message = store.messages.get_message(message_id)
    assert message is not None
    return Status(message.status)


def opt_outs(publisher: RecordingPublisher) -> list[tuple[str, bool, str]]:
    return [(e.detail["to"], e.detail["blocked"], e.detail["source"])
            for e in publisher.published if e.detail_type == ev.OPT_OUT_CHANGED]


def test_a_stop_by_our_own_keyword_outlives_the_sync_until_the_mobile_texts_start(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given the mobile texted REVOKE, a STOP word only we know: we block, Aculab's list stays empty
    texted(store, publisher, clock, "in-1", " revoke ")
    aculab.blocked = {OURS: []}
    # when the reconciler syncs Aculab's list
    clock.advance(minutes=20)
    report = service.run(forever)
    # then the pair stays blocked, nothing is lifted, and a send to the mobile is blocked, not sent
    assert report.blocked_synced and report.blocked_removed == 0
    assert store.blocked.is_blocked(OURS, MOBILE)
    assert send(store, publisher, aculab, clock, "m-1") == Status.BLOCKED and aculab.sent == []
    # when the mobile texts START, then the pair is unblocked, the next sync leaves it so, and a send goes out
    clock.advance(minutes=1)
    texted(store, publisher, clock, "in-2", "START")
    clock.advance(minutes=20)
    assert service.run(forever).blocked_added == 0
    assert not store.blocked.is_blocked(OURS, MOBILE)
    assert send(store, publisher, aculab, clock, "m-2") == Status.QUEUED
    assert [p.to for p in aculab.sent] == [MOBILE[1:]]  # Aculab's form on the wire
    # and only the mobile's own keywords were announced as opt-out changes
    assert opt_outs(publisher) == [(MOBILE, True, "inbound"), (MOBILE, False, "inbound")]


def test_a_block_from_aculabs_list_is_lifted_when_it_leaves_the_list_unless_we_heard_a_stop_since(
    world: Any,
) -> None:
    service, store, publisher, aculab, clock = world
    other = "+447700900124"
    # given Aculab blocks two mobiles whose STOPs never reached us, and the sync copied both
    aculab.blocked = {OURS: [MOBILE, other]}
    assert service.run(forever).blocked_added == 2
    # and the other then texted REVOKE (our word): its block is now ours
    clock.advance(minutes=1)
    texted(store, publisher, clock, "in-1", "REVOKE", from_=other)
    # when both leave Aculab's list and the reconciler runs
    aculab.blocked = {OURS: []}
    clock.advance(minutes=20)
    report = service.run(forever)
    # then the block that came from the list is lifted (announced as the reconciler's), the other stays
    assert report.blocked_removed == 1
    assert not store.blocked.is_blocked(OURS, MOBILE) and store.blocked.is_blocked(OURS, other)
    assert opt_outs(publisher)[-1] == (MOBILE, False, "reconcile")


def test_out_of_time_it_saves_a_cursor_and_goes_on_from_it(world: Any) -> None:
    service, store, _, aculab, clock = world
    for i in range(6):
        submitted(store, clock, f"m-{i}", f"r{i}")
    clock.advance(minutes=20)
    # given only time for a first batch
    budget = iter([900.0, 900.0] + [0.0] * 50)
    report = service.run(lambda: next(budget))
    assert not report.complete and store.cursor.get_cursor() is not None
    # when the next run has time / then it finishes the rest and drops the cursor
    service.run(forever)
    assert store.cursor.get_cursor() is None
    assert {ref for refs in aculab.status_calls for ref in refs} == {f"r{i}" for i in range(6)}


def test_a_long_message_missing_parts_is_announced_with_what_arrived_after_the_wait(world: Any) -> None:
    service, store, publisher, _, clock = world
    # given two of three parts of a long message, the first at 09:00
    due = clock() + timedelta(minutes=10)
    for pos, text in [(1, "Please call "), (3, "tomorrow")]:
        store.inbound.add_inbound_part({"uid": "u-9", "from": MOBILE, "to": OURS, "type": "sms", "count": 3}, pos,
                               {"msg_ref": f"p{pos}", "content": text}, due, clock())
    # when the reconciler runs before the wait is over / then nothing is announced
    clock.advance(minutes=9)
    service.run(forever)
    assert ev.MESSAGE_RECEIVED not in publisher.types()
    # when it runs after the wait / then one Message Received with what arrived, in order, incomplete
    clock.advance(minutes=2)
    report = service.run(forever)
    received = [e.detail for e in publisher.published if e.detail_type == ev.MESSAGE_RECEIVED]
    assert report.closed_incomplete == 1 and len(received) == 1
    assert (received[0]["content"], received[0]["msgRefs"], received[0]["complete"]) == (
        "Please call tomorrow", ["p1", "p3"], False)
    # and a part arriving later changes nothing, and is never announced again
    group = store.inbound.add_inbound_part({"uid": "u-9", "from": MOBILE, "to": OURS, "type": "sms", "count": 3}, 2,
                                   {"msg_ref": "p2", "content": "me "}, due, clock())
    assert "p2" not in group and group["closed_at"]
    service.run(forever)
    assert [e.detail_type for e in publisher.published].count(ev.MESSAGE_RECEIVED) == 1
