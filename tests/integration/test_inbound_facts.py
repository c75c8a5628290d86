"""No inbound fact lost, opt-outs in the order we received them, keyword
lists an operator can extend, and inbound numbers checked (moto server, the
simulator, the deployed handlers)."""

from __future__ import annotations

import time
from typing import Any

import requests

from aculab_messaging.dal import TableStore
from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.faults import FaultProxy, fail_operation

US, MOBILE = "447700900001", "447700900123"  # Aculab's form
PAIR = ("+" + US, "+" + MOBILE)  # our number and the mobile as blocked pairs are keyed: E.164 with '+'


def inbound(app: LocalApp, ref: str, text: str, **fields: Any) -> requests.Response:
    body = {"msg_ref": ref, "status": "received", "to": US, "from": MOBILE, "direction": "receive", "type": "sms",
            "content": text, "timestamp": "2026-11-25_10:02:00", **fields}
    return requests.post(app.inbound_url, json={k: v for k, v in body.items() if v is not None}, timeout=30)


def store_of(app: LocalApp) -> TableStore:
    return TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def test_stop_then_start_in_the_same_second_leaves_the_pair_unblocked(app: LocalApp) -> None:
    # given STOP then START with the same Aculab timestamp, START's msg_ref sorting first as text
    assert inbound(app, "zz_0.1764064920.00002", "STOP").status_code == 200
    assert inbound(app, "aa_0.1764064920.00001", "Start").status_code == 200
    # then the later arrival wins: unblocked
    assert not store_of(app).blocked.is_blocked(*PAIR)
    # and a late retry of the STOP (Aculab repeats what it sent) changes nothing
    assert inbound(app, "zz_0.1764064920.00002", "STOP").status_code == 200
    assert not store_of(app).blocked.is_blocked(*PAIR)


def test_an_operator_adds_the_keywords_their_regulator_requires(app_factory: Any) -> None:
    app = app_factory(STOP_KEYWORDS="STOP,REVOKE,OPTOUT", START_KEYWORDS="START")
    assert inbound(app, "k1", " revoke ").status_code == 200
    assert store_of(app).blocked.is_blocked(*PAIR)
    assert inbound(app, "k2", "yes").status_code == 200  # no longer a START word here
    assert store_of(app).blocked.is_blocked(*PAIR)


def test_a_malformed_inbound_message_is_400_and_stores_nothing(app: LocalApp) -> None:
    table = app.stack.refs["MessagesTable"]
    before = app.stack.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]
    assert inbound(app, "n1", "hi", to=None).status_code == 400
    # a '+' that is no possible number, a sender that is not text (a name like BANK is kept: test_numbers.py)
    assert inbound(app, "n2", "hi", **{"from": "+4477"}).status_code == 400
    assert inbound(app, "n3", "hi", **{"from": "BANK\u0000"}).status_code == 400
    assert app.stack.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"] == before


def test_an_inbound_stop_whose_events_failed_is_announced_by_the_reconciler(
    app_factory: Any, aws: str, sim: SimulatorControl
) -> None:
    # given EventBridge fails when the webhook publishes an inbound STOP, and Aculab gives up at once
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url, STALE_AGE_SECONDS="1")
    tail = app.event_tail()
    proxy.fail(fail_operation("PutEvents", times=100))
    assert inbound(app, "lost_0.1.1", "STOP").status_code == 503
    proxy.clear()
    assert store_of(app).blocked.is_blocked(*PAIR)  # stored; not announced
    assert tail.of_type("Message Received") == []
    # when the reconciler runs after Aculab's retries would be over (the stale age, compressed to 1 s)
    time.sleep(1.1)
    report = app.run_reconcile()
    # then both facts are announced, once
    assert report["reannounced"] == 1
    assert tail.wait_for(lambda evs: len(tail.of_type("Opt-Out Changed")) == 1
                         and len(tail.of_type("Message Received")) == 1)
    assert app.run_reconcile()["reannounced"] == 0
    # and a late retry from Aculab announces the very same facts (same eventIds)
    first = {e["detail"]["eventId"] for e in tail.received}
    assert inbound(app, "lost_0.1.1", "STOP").status_code == 200
    assert tail.wait_for(lambda evs: len(evs) == 4)
    assert {e["detail"]["eventId"] for e in tail.received} == first
    proxy.close()


def test_the_blocked_list_sync_announces_only_what_it_wrote_and_never_loses_it(
    app_factory: Any, aws: str, sim: SimulatorControl
) -> None:
    # given a STOP our inbound page missed, and EventBridge failing during the first sync
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url, SENDING_NUMBERS=US)
    sim.configure(inbound_notify_url=None)
    tail = app.event_tail()
    sim.inbound(MOBILE, US, "STOP")
    proxy.fail(fail_operation("PutEvents", times=100))
    first = app.run_reconcile()
    proxy.clear()
    # then the write took effect, its event waits
    assert first["blocked_added"] == 1 and first["publish_failures"] == 1
    assert store_of(app).blocked.is_blocked(*PAIR)
    # and the next run announces it, once
    second = app.run_reconcile()
    assert second["blocked_added"] == 0 and second["reannounced"] == 1
    assert tail.wait_for(lambda evs: len(tail.of_type("Opt-Out Changed")) == 1)
    assert app.run_reconcile()["reannounced"] == 0
    assert tail.of_type("Opt-Out Changed")[0]["detail"]["source"] == "reconcile"
    proxy.close()


def test_a_stop_for_a_pair_already_blocked_changes_nothing_and_says_so(app: LocalApp) -> None:
    tail = app.event_tail()
    assert inbound(app, "s1_0.1.1", "STOP").status_code == 200
    assert inbound(app, "s2_0.1.2", "stop").status_code == 200  # a second STOP, another message
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Received")) == 2)
    tail.wait_for(lambda evs: False, timeout=1)
    assert len(tail.of_type("Opt-Out Changed")) == 1  # only the change is an "Opt-Out Changed"
