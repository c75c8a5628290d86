"""Message number pools over moto server (IAM enforced, each function with its
own role) and the simulator, which sends a pool's message from one of the
pool's numbers and names it in its status updates."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import boto3

from aculab_messaging.dal import TableStore
from aculab_messaging.logic.message_record import PartWrite
from aculab_messaging.logic.status import Status
from local.app import LocalApp
from local.template import REGION
from simulator.control import SimulatorControl
from tests.integration.conftest import Capture, drain_queue, queue_send, stored_message
from tools.status_client import get_message


def numbers() -> tuple[str, str, str]:
    """A pool name, its number and a mobile of this run (Aculab's form): the table outlives one test."""
    digits = random.sample(range(10000, 99999), 2)
    return f"pool-{uuid.uuid4().hex[:8]}", f"447700{digits[0]}", f"447700{digits[1]}"


def store_of(app: LocalApp) -> TableStore:
    return TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def sent_from_pool(app: LocalApp, sim: SimulatorControl, pool: str, number: str, mobile: str) -> str:
    sim.configure(number_pools={pool: [number]}, step_seconds=3600)
    message_id = queue_send(app, to=mobile, **{"from": pool})
    drain_queue(app)
    assert sim.settle()["idle"] >= 1
    return message_id


def test_a_pool_send_shows_its_number_and_a_stop_to_it_blocks_the_pool(app: LocalApp, sim: SimulatorControl) -> None:
    pool, number, mobile = numbers()
    tail = app.event_tail()
    # given a message sent from the pool's name, every status update through the webhook
    first = sent_from_pool(app, sim, pool, number, mobile)
    # then its owner sees the number Aculab used beside the pool's name, on the message and its part
    admin = boto3.session.Session(region_name=REGION, **app.stack.admin_credentials)
    view = get_message(app.messages_url, first, session=admin)
    assert (view["status"], view["from"], view["fromNumber"]) == ("delivered", pool, f"+{number}")
    assert [p["fromNumber"] for p in view["parts"]] == [f"+{number}"]
    # and so does every Message Status Changed
    assert tail.wait_for(lambda evs: any(e["detail"].get("isFinal") for e in evs
                                         if e["detail-type"] == "Message Status Changed"))
    changed = [e["detail"] for e in tail.of_type("Message Status Changed") if e["detail"]["messageId"] == first]
    assert changed and {(d["part"]["fromNumber"], d["fromNumber"]) for d in changed} == {(f"+{number}",) * 2}
    # when the mobile texts STOP to that number
    sim.inbound(mobile, number, "STOP")
    sim.settle()
    # then a second send from the pool to it is blocked, never sent
    second = queue_send(app, to=mobile, **{"from": pool})
    drain_queue(app)
    assert stored_message(app, second)["status"] == "blocked"  # type: ignore[index]
    assert sim.stats()["calls_msg_send"] == 1
    assert tail.wait_for(lambda evs: len([e for e in evs if e["detail-type"] == "Opt-Out Changed"]) >= 2)
    assert {(e["detail"]["from"], e["detail"]["blocked"]) for e in tail.of_type("Opt-Out Changed")} == {
        (f"+{number}", True), (pool, True)}


def test_the_sync_blocks_the_pool_for_a_stop_only_aculab_heard(app: LocalApp, sim: SimulatorControl,
                                                                capture: Capture) -> None:
    pool, number, mobile = numbers()
    sent_from_pool(app, sim, pool, number, mobile)
    # given the mobile texted STOP to the pool's number and Aculab blocked it, but the message never reached us
    sim.configure(inbound_notify_url=capture.url)
    sim.inbound(mobile, number, "STOP")
    sim.settle()
    store = store_of(app)
    assert not store.blocked.is_blocked(pool, f"+{mobile}")
    # when the reconciler syncs Aculab's blocked lists (the pool's number among them)
    assert app.run_reconcile()["blocked_synced"]
    # then the pool's pair is blocked as the sync's, and the next send from the pool is never sent
    assert store.blocked.blocked_for(pool) == {f"+{mobile}": "reconcile"}
    second = queue_send(app, to=mobile, **{"from": pool})
    drain_queue(app)
    assert stored_message(app, second)["status"] == "blocked"  # type: ignore[index]


def test_the_store_keeps_a_parts_number_and_each_numbers_pools(app: LocalApp) -> None:
    pool, number, mobile = numbers()
    now = datetime.now(UTC)
    from tests import seeding

    store = store_of(app)
    mid = f"p-{uuid.uuid4().hex[:8]}"
    seeding.queued(store, mid, ["r1"], now, to=f"+{mobile}", from_=pool)
    # when a part's update names its number, then one without a number comes
    store.parts.write_part(PartWrite(mid, "r1", Status.SENT, 30, "sent", None, None, True, f"+{number}"), now)
    store.parts.write_part(PartWrite(mid, "r1", Status.DELIVERED, 40, "delivered", None, None, True), now)
    # then the part keeps the number, and the number is the pool's
    record = store.messages.get_message(mid)
    assert record is not None and record.parts["r1"]["from_number"] == f"+{number}"
    assert store.pools.pools_of(f"+{number}") == [pool]
    # and remembering it again (another container) or for a second pool adds each pool once
    other = store_of(app)
    other.pools.remember_pool_number(pool, f"+{number}", now)
    other.pools.remember_pool_number(f"{pool}-b", f"+{number}", now)
    assert store.pools.pool_numbers()[f"+{number}"] == [pool, f"{pool}-b"]
    assert store.pools.pools_of(f"+{mobile}") == []
