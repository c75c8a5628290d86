"""An Aculab outage loses nothing; concurrent updates of one message's parts
never lose a part's state."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from aculab_messaging.dal import TableStore
from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import queue_send
from tests.reliability.conftest import Counts, report

US, MOBILE = "447700900001", "447700900123"


# An hour-long Aculab outage, timings compressed 360 times: the 6-hour retry window is 60 s,
# the 15-minute backoff cap 3 s (2.5 rounded up), the 10-second first step 1 s, the hour 10 s.
COMPRESSION = 360
OUTAGE_SECONDS = 3600 / COMPRESSION


def test_an_hour_long_outage_loses_nothing(app_factory: Any, sim: SimulatorControl, counts: Counts) -> None:
    # given Aculab answers 5xx for an hour
    app: LocalApp = app_factory(
        STALE_AGE_SECONDS="1", POWERTOOLS_LOG_LEVEL="CRITICAL",
        SEND_RETRY_WINDOW_SECONDS=str(6 * 3600 // COMPRESSION), SEND_BASE_BACKOFF_SECONDS="1",
        SEND_MAX_BACKOFF_SECONDS=str(-(-900 // COMPRESSION)),
    )
    tail = app.event_tail()
    sim.configure(outage=True, step_seconds=0.05)
    mids = [queue_send(app) for _ in range(counts.outage_messages)]
    poller = app.send_poller(wait_seconds=1)  # records go back to SQS after the function's own backoff
    poller.start()
    try:
        # when the send function keeps polling through the outage
        time.sleep(OUTAGE_SECONDS)
        during = app.run_reconcile()
        sim.configure(outage=False)
        # and after it ends
        store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all((r := store.messages.get_message(m)) is not None and r.refs for m in mids):
                break
            time.sleep(0.2)
    finally:
        poller.stop()
    recovered = time.monotonic() - deadline + 60
    sim.settle()
    after = app.run_reconcile()
    # then every message was sent exactly once, none dead-lettered, none failed
    submitted = [m for m in mids if (r := store.messages.get_message(m)) is not None and r.refs]
    dlq = app.stack.client("sqs").get_queue_attributes(
        QueueUrl=app.stack.refs["SendDeadLetterQueue"], AttributeNames=["ApproximateNumberOfMessages"])
    report("messages sent after a 1 h outage (compressed 360x)", f"{len(submitted)}/{len(mids)}",
           f"all, none dead-lettered; the last sent {recovered:.1f} s after the outage ended (the compressed "
           "backoff cap is 3 s; the rest is the local stack's throughput)")
    assert submitted == mids
    assert sim.stats()["messages_sent"] == len(mids)
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert tail.of_type("Message Failed") == []
    assert during["complete"] and after["complete"]  # the reconciler kept going
    assert all(store.messages.get_message(m).status == "delivered" for m in submitted)  # type: ignore[union-attr]


def test_concurrent_part_updates_lose_nothing(app: LocalApp, sim: SimulatorControl) -> None:
    # given 5 messages of 10 parts each (UCS-2, 670 characters)
    sim.configure(step_seconds=3600)
    mids = [queue_send(app, content="ж" * 670) for _ in range(5)]
    from tests.integration.conftest import drain_queue

    drain_queue(app)
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    refs = {mid: store.messages.get_message(mid).refs for mid in mids}  # type: ignore[union-attr]
    assert all(len(r) == 10 for r in refs.values())

    def post(mid: str, ref: str, status: str) -> int:
        """One update as Aculab posts it: a 503 (a dependency slow on a loaded machine) is posted again,
        as Aculab retries; anything else is the answer."""
        body = {"msg_ref": ref, "status": status, "to": MOBILE, "from": US, "direction": "send", "type": "sms",
                "multipart_count": 10}
        for attempt in range(30):  # Aculab keeps retrying an update that was not acknowledged
            code = requests.post(f"{app.webhook_url}?mid={mid}&dlr=1", json=body, timeout=30,
                                 auth=("aculab", app.webhook_password)).status_code
            if code != 503:
                return code
            time.sleep(min(2.0, 0.1 * (attempt + 1)))
        return code

    # when every part's "sent" and "delivered" arrive at once, 50 requests in flight
    jobs = [(mid, ref, s) for mid in mids for ref in refs[mid] for s in ("sent", "delivered")]
    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(lambda job: post(*job), jobs))
    # then no part lost its state and each message is delivered
    assert set(codes) == {200}
    for mid in mids:
        record = store.messages.get_message(mid)
        assert record is not None
        assert {p["status"] for p in record.parts.values()} == {"delivered"}
        assert record.status == "delivered"
    report("concurrent part updates", len(jobs), "no lost part state")
