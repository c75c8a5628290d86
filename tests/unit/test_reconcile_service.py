"""The reconciler on in-memory fakes and a controllable clock, given/when/then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.aculab.params import PartStatus
from aculab_messaging.contracts import events as ev
from aculab_messaging.logic.reconcile import ReconcilePolicy, ReconcileService
from aculab_messaging.metrics import RecordingMetrics
from aculab_messaging.status import Status
from tests.fakes import Clock, FakeAculab, InMemoryStore, RecordingPublisher

MOBILE, OURS = "447700900123", "447700900001"


@pytest.fixture
def world() -> tuple[ReconcileService, InMemoryStore, RecordingPublisher, FakeAculab, Clock]:
    store, publisher, aculab, clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock()
    policy = ReconcilePolicy(stale_age=timedelta(minutes=15), give_up_age=timedelta(hours=48), batch_size=2,
                             sending_numbers=(OURS,))
    service = ReconcileService(store=store, publisher=publisher, aculab=aculab, policy=policy, clock=clock,
                               metrics=RecordingMetrics())
    return service, store, publisher, aculab, clock


def submitted(store: InMemoryStore, clock: Clock, message_id: str, ref: str) -> None:
    store.claim(message_id=message_id, to=MOBILE, from_=OURS, type_="sms", metadata={}, dlr=True, now=clock(),
                lease_until=clock() + timedelta(seconds=90))
    store.record_submitted(message_id, [ref], True, clock())


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
    assert [store.get_message(f"m-{i}").status for i in range(3)] == [  # type: ignore[union-attr]
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
    # given Aculab blocks a mobile our table does not know about
    aculab.blocked = {OURS: [MOBILE]}
    # when the reconciler runs
    report = service.run(forever)
    # then the pair is blocked here too, and Opt-Out Changed says where it came from
    assert store.is_blocked(OURS, MOBILE) and report.blocked_added == 1
    opt_outs = [e.detail for e in publisher.published if e.detail_type == ev.OPT_OUT_CHANGED]
    assert [(d["from"], d["to"], d["blocked"], d["source"]) for d in opt_outs] == [(OURS, MOBILE, True, "reconcile")]


def test_out_of_time_it_saves_a_cursor_and_goes_on_from_it(world: Any) -> None:
    service, store, _, aculab, clock = world
    for i in range(6):
        submitted(store, clock, f"m-{i}", f"r{i}")
    clock.advance(minutes=20)
    # given only time for a first batch
    budget = iter([900.0, 900.0] + [0.0] * 50)
    report = service.run(lambda: next(budget))
    assert not report.complete and store.get_cursor() is not None
    # when the next run has time / then it finishes the rest and drops the cursor
    service.run(forever)
    assert store.get_cursor() is None
    assert {ref for refs in aculab.status_calls for ref in refs} == {f"r{i}" for i in range(6)}


def test_a_long_message_missing_parts_is_announced_with_what_arrived_after_the_wait(world: Any) -> None:
    service, store, publisher, _, clock = world
    # given two of three parts of a long message, the first at 09:00
    due = clock() + timedelta(minutes=10)
    for pos, text in [(1, "Please call "), (3, "tomorrow")]:
        store.add_inbound_part({"uid": "u-9", "from": MOBILE, "to": OURS, "type": "sms", "count": 3}, pos,
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
    group = store.add_inbound_part({"uid": "u-9", "from": MOBILE, "to": OURS, "type": "sms", "count": 3}, 2,
                                   {"msg_ref": "p2", "content": "me "}, due, clock())
    assert "p2" not in group and group["closed_at"]
    service.run(forever)
    assert [e.detail_type for e in publisher.published].count(ev.MESSAGE_RECEIVED) == 1
