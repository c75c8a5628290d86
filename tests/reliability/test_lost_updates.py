"""Duplicated, shuffled notifications with PutEvents failing now and then:
the stored state equals the simulator's truth for every message, and every
final state was announced."""

from __future__ import annotations

from typing import Any

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.faults import FaultProxy, random_put_events_failures
from tests.integration.conftest import drain_queue, queue_send
from tests.reliability.conftest import Counts, report


def test_no_update_is_lost(app_factory: Any, aws: str, sim: SimulatorControl, counts: Counts) -> None:
    # given messages (a third of them 3-part) whose notifications come twice (20%), out of order,
    # while 5% of PutEvents calls fail (Aculab retries what we do not acknowledge)
    proxy = FaultProxy(aws)
    app: LocalApp = app_factory(AWS_ENDPOINT_URL=proxy.url, POWERTOOLS_LOG_LEVEL="ERROR")
    tail = app.event_tail()
    sim.configure(step_seconds=3600, notify_duplicate_rate=0.2, notify_reorder_seconds=0.3, notify_retries=8,
                  notify_retry_delay=0.05, seed=11,
                  fail_rules=[{"to_prefix": "4477009007", "aculab_msg_err": "204", "reason": "invalid destination",
                               "at": "sent"}])
    n = counts.lost_update_messages
    mids = [queue_send(app, to="447700900700" if i % 10 == 0 else "447700900123",
                       content="ж" * 150 if i % 3 == 0 else "hi") for i in range(n)]
    drain_queue(app, max_batches=n)
    proxy.fail(random_put_events_failures(0.05, seed=5))
    # when the carrier runs every message to its end
    with tail.following():
        sim.settle(timeout=max(600.0, 1.5 * n))
    stats = sim.stats()
    # then our state equals the simulator's, part by part
    truth = {p["ref"]: p["status"] for m in sim.messages() for p in m["parts"]}
    ddb = app.stack.client("dynamodb")
    table = app.stack.refs["MessagesTable"]
    from aculab_messaging.dal import TableStore

    store = TableStore.on(ddb, table)
    mismatched = []
    final_parts: dict[str, str] = {}
    for mid in mids:
        record = store.messages.get_message(mid)
        assert record is not None
        for ref, part in record.parts.items():
            final_parts[ref] = part["status"]
            if not truth[ref].startswith(part["status"]):
                mismatched.append((mid, ref, part["status"], truth[ref]))
    matched = 100.0 * (len(mids) - len({m for m, *_ in mismatched})) / len(mids)
    # and every part's final state has an event
    tail.wait_for(lambda evs: len(evs) >= len(final_parts), timeout=30)
    announced = {(e["detail"]["part"]["msgRef"], e["detail"]["part"]["status"])
                 for e in tail.of_type("Message Status Changed")}
    missing = [(ref, status) for ref, status in final_parts.items() if (ref, status) not in announced]
    report("notifications delivered (incl. duplicates and retries)", stats.get("notifications_delivered"), "-")
    report("PutEvents failures injected -> retried", stats.get("notification_http_503", 0), "> 0")
    report("messages whose stored state equals the simulator's", f"{matched:.1f}%", "100%")
    report("final part states without an event", len(missing), "0")
    assert not mismatched, mismatched[:5]
    assert not missing, missing[:5]
    assert stats.get("notifications_failed", 0) == 0
    assert stats.get("notification_http_503", 0) > 0  # the failure path really ran
    proxy.close()
