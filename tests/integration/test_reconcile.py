"""The reconciler over moto server and the simulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aculab_messaging.aculab.client import AculabClient, AculabCredentials
from aculab_messaging.dal import TableStore
from aculab_messaging.logic.message_record import PartWrite
from aculab_messaging.logic.status import Status
from local.app import LocalApp
from simulator.control import SimulatorControl
from tests import seeding
from tests.integration.conftest import SIM_CREDENTIALS, drain_queue, queue_send, stored_message

US, MOBILE = "447700900001", "447700900123"  # Aculab's form
PAIR = ("+" + US, "+" + MOBILE)  # our number and the mobile as blocked pairs are keyed: E.164 with '+'


def store_of(app: LocalApp) -> TableStore:
    return TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def test_reconcile_repairs_dropped_notifications(app_factory: Any, sim: SimulatorControl) -> None:
    # given messages whose every notification was dropped
    app = app_factory(STALE_AGE_SECONDS="1")
    sim.configure(notify_drop_rate=1.0, fail_rules=[{"to_prefix": "447700900999", "aculab_msg_err": "204",
                                                     "reason": "invalid destination", "at": "sent"}])
    tail = app.event_tail()
    mids = [queue_send(app), queue_send(app, content="ж" * 100), queue_send(app, to="447700900999"),
            queue_send(app, request_delivery_report=False)]
    drain_queue(app)
    sim.settle()
    assert all(stored_message(app, m)["status"] == "queued" for m in mids)  # type: ignore[index]
    time.sleep(1.1)
    # when the reconciler runs
    report = app.run_reconcile()
    # then every message has the simulator's final state, with events
    truth = {p["ref"]: p["status"] for m in sim.messages() for p in m["parts"]}
    for mid in mids:
        item = stored_message(app, mid)
        assert item is not None
        for ref, part in item["parts"].items():  # type: ignore[union-attr]
            assert truth[ref].startswith(part["status"])
        assert "pending_pk" not in item
    statuses = {m: stored_message(app, m)["status"] for m in mids}  # type: ignore[index]
    assert list(statuses.values()) == ["delivered", "delivered", "failed", "sent"]
    assert report["changed"] == 4 and report["status_calls"] == 1
    assert tail.wait_for(lambda evs: sum(e["detail"]["isFinal"] for e in evs
                                         if e["detail-type"] == "Message Status Changed") == 4)


def seed(store: TableStore, message_id: str, at: datetime, final: bool) -> str:
    ref = f"ref-{message_id}"
    seeding.queued(store, message_id, [ref], at, to=MOBILE, from_=US)
    if final:
        store.parts.write_part(PartWrite(message_id, ref, Status.DELIVERED, 40, "delivered", "000", None, True), at)
    return ref


def test_reconcile_reads_only_stale_items(app_factory: Any, sim: SimulatorControl) -> None:
    # given 150 final messages, 20 recent pending ones and 7 stale ones
    app = app_factory(STALE_AGE_SECONDS="600")
    store = store_of(app)
    now = datetime.now(UTC)
    for i in range(150):
        seed(store, f"final-{i}", now - timedelta(hours=2), final=True)
    for i in range(20):
        seed(store, f"recent-{i}", now - timedelta(seconds=30), final=False)
    for i in range(7):
        seed(store, f"stale-{i}", now - timedelta(hours=1), final=False)
    # when the reconciler runs
    report = app.run_reconcile()
    # then DynamoDB read exactly the stale items, in one msg_status call
    assert report["items_read"] == 7
    assert report["examined"] == 7
    assert report["status_calls"] == 1
    # the simulator does not know these refs: they expire, announced
    assert report["expired"] == 7
    assert stored_message(app, "stale-0")["status"] == "expired"  # type: ignore[index]
    assert stored_message(app, "recent-0")["status"] == "queued"  # type: ignore[index]


def test_reconcile_expires_after_give_up_age(app_factory: Any, sim: SimulatorControl) -> None:
    # (a give-up age of 8 s: the first run, 1 s after the send, comes before it even on a busy machine)
    app = app_factory(STALE_AGE_SECONDS="1", GIVE_UP_AGE_SECONDS="8")
    sim.configure(step_seconds=3600)  # the carrier never answers
    mid = queue_send(app)
    drain_queue(app)
    time.sleep(1.1)
    first = app.run_reconcile()
    assert first["unchanged"] == 1 and stored_message(app, mid)["status"] == "queued"  # type: ignore[index]
    time.sleep(8)
    runs = [app.run_reconcile()]
    while runs[-1]["expired"] == 0 and len(runs) < 20:  # once past its give-up age (and stale again)
        time.sleep(1.1)
        runs.append(app.run_reconcile())
    assert sum(r["expired"] for r in runs) == 1
    item = stored_message(app, mid)
    assert item is not None and item["status"] == "expired" and "pending_pk" not in item


def test_reconcile_run_is_bounded_and_resumes(app_factory: Any, sim: SimulatorControl) -> None:
    # given a run that must stop after its first page (margin > the function's timeout)
    app = app_factory(STALE_AGE_SECONDS="1", STATUS_BATCH_SIZE="2", TIME_MARGIN_SECONDS="300", PENDING_SHARDS="1")
    sim.configure(notify_drop_rate=1.0)
    mids = [queue_send(app) for _ in range(5)]
    drain_queue(app)
    sim.settle()
    time.sleep(1.1)
    # when it runs three times
    reports = [app.run_reconcile() for _ in range(3)]
    # then it stopped with a cursor and picked up where it left off
    assert [r["complete"] for r in reports] == [False, False, True]
    assert [r["examined"] for r in reports] == [2, 2, 1]
    assert all(stored_message(app, m)["status"] == "delivered" for m in mids)  # type: ignore[index]


def test_reconcile_survives_aculab_outage(app_factory: Any, sim: SimulatorControl) -> None:
    app = app_factory(STALE_AGE_SECONDS="1")
    sim.configure(notify_drop_rate=1.0)
    mid = queue_send(app)
    drain_queue(app)
    sim.settle()
    time.sleep(1.1)
    sim.configure(outage=True)
    during = app.run_reconcile()
    assert during["failed_batches"] >= 1 and during["changed"] == 0
    sim.configure(outage=False)
    after = app.run_reconcile()
    assert after["changed"] == 1
    assert stored_message(app, mid)["status"] == "delivered"  # type: ignore[index]


def test_reconcile_syncs_blocked_pairs(app_factory: Any, sim: SimulatorControl) -> None:
    # given our inbound page misses the phone's STOP (nothing is notified)
    app = app_factory(SENDING_NUMBERS=US)
    sim.configure(inbound_notify_url=None)
    tail = app.event_tail()
    store = store_of(app)
    sim.inbound(MOBILE, US, "STOP")
    assert not store.blocked.is_blocked(*PAIR)
    # when the reconciler runs, then the pair is blocked, announced once
    assert app.run_reconcile()["blocked_added"] == 1
    assert store.blocked.is_blocked(*PAIR)
    assert app.run_reconcile()["blocked_added"] == 0  # idempotent
    # and START lifts it
    sim.inbound(MOBILE, US, "START")
    assert app.run_reconcile()["blocked_removed"] == 1
    assert not store.blocked.is_blocked(*PAIR)
    assert tail.wait_for(lambda evs: len(tail.of_type("Opt-Out Changed")) == 2)
    assert [e["detail"]["blocked"] for e in tail.of_type("Opt-Out Changed")] == [True, False]
    assert {e["detail"]["source"] for e in tail.of_type("Opt-Out Changed")} == {"reconcile"}


def test_reconcile_syncs_numbers_seen_in_table(app_factory: Any, sim: SimulatorControl) -> None:
    app = app_factory()  # no SENDING_NUMBERS configured
    sim.configure(inbound_notify_url=None)
    queue_send(app, from_="447700900002") if False else queue_send(app, **{"from": "447700900002"})
    drain_queue(app)
    sim.inbound(MOBILE, "447700900002", "STOP")
    assert app.run_reconcile()["blocked_added"] == 1
    assert store_of(app).blocked.is_blocked("+447700900002", PAIR[1])


def test_the_blocked_list_sync_stops_when_the_run_is_out_of_time(app_factory: Any, sim: SimulatorControl) -> None:
    # given three sending numbers with STOPs for all three, and a run whose clock moves only as
    # Aculab answers: each msg_list_blocked takes 0.4 s of it, whatever the machine's load
    numbers = ["447700900001", "447700900002", "447700900003"]
    app = app_factory(SENDING_NUMBERS=",".join(numbers))
    sim.configure(inbound_notify_url=None)
    for number in numbers:
        sim.inbound(MOBILE, number, "STOP")

    def calls() -> int:
        return sim.stats().get("calls_msg_list_blocked", 0)

    before = calls()

    def clock() -> float:
        return 0.4 * (calls() - before)

    # when a run starts with 10.7 s left and a 10 s margin: time for two numbers' lists, not three
    report = app.invoke("reconcile", {"source": "aws.scheduler"}, timeout=10.7, clock=clock)
    # then it stops between numbers, inside its time, and says the sync is incomplete
    assert report["blocked_synced"] is False
    assert report["blocked_added"] == 2 and calls() - before == 2
    # and the next run finishes the job
    assert app.run_reconcile()["blocked_synced"] is True
    store = store_of(app)
    assert all(store.blocked.is_blocked("+" + number, PAIR[1]) for number in numbers)


def test_a_stop_by_our_own_keyword_outlives_the_blocked_list_sync(app_factory: Any, sim: SimulatorControl) -> None:
    # given the operator added REVOKE to StopWords, and a mobile texts it: Aculab does not know the word
    app = app_factory(SENDING_NUMBERS=US, STOP_KEYWORDS="STOP,REVOKE", START_KEYWORDS="START")
    tail = app.event_tail()
    store = store_of(app)
    aculab = AculabClient(sim.base_url, AculabCredentials(**SIM_CREDENTIALS))
    sim.inbound(MOBILE, US, "Revoke")
    sim.settle()
    assert store.blocked.is_blocked(*PAIR) and aculab.msg_list_blocked(from_=US) == []
    # when the reconciler syncs Aculab's (empty) list
    report = app.run_reconcile()
    # then the pair stays blocked, and a send to the mobile is blocked, never reaching Aculab
    assert report["blocked_synced"] is True and report["blocked_removed"] == 0
    assert store.blocked.is_blocked(*PAIR)
    blocked = queue_send(app)
    drain_queue(app)
    assert stored_message(app, blocked)["status"] == "blocked"  # type: ignore[index]
    assert sim.send_arrivals() == []
    # when the mobile texts START, then the pair is unblocked, the sync leaves it so, and a send goes out
    sim.inbound(MOBILE, US, "START")
    sim.settle()
    assert app.run_reconcile()["blocked_added"] == 0
    assert not store.blocked.is_blocked(*PAIR)
    sent = queue_send(app)
    drain_queue(app)
    assert stored_message(app, sent)["status"] != "blocked" and len(sim.send_arrivals()) == 1  # type: ignore[index]
    # and the only opt-out changes announced are the mobile's own keywords
    assert tail.wait_for(lambda evs: len(tail.of_type("Opt-Out Changed")) == 2)
    assert [(e["detail"]["blocked"], e["detail"]["source"]) for e in tail.of_type("Opt-Out Changed")] == [
        (True, "inbound"), (False, "inbound")]
