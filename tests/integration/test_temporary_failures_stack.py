"""Issue 24 item 3 over the real handlers, moto and the simulator: Aculab fails a message
with aculab_msg_err 301 (temporary); the webhook stores it, the reconcile function puts it
back on the send queue under its own role, and the send function sends it again."""

from __future__ import annotations

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message

MOBILE = "447700900123"


def test_a_temporary_failure_is_sent_again_and_delivered(app: LocalApp, sim: SimulatorControl) -> None:
    # given the carrier fails the first send of the message temporarily (301), then takes it
    sim.configure(fail_rules=[{"to_prefix": MOBILE, "aculab_msg_err": "301", "reason": "",
                               "at": "submitted to carrier", "times": 1}])
    tail = app.event_tail()
    message_id = queue_send(app)
    drain_queue(app)
    sim.settle()
    # then it waits to be sent again, its first ref kept
    item = stored_message(app, message_id)
    assert item is not None and item["status"] == "retryable" and item["resend"] is True
    (first,) = item["earlier_refs"]  # type: ignore[misc]
    # when the reconciler runs and the send function takes the queue
    report = app.run_reconcile()
    drain_queue(app)
    sim.settle()
    # then it was sent again, with a new ref, and delivered
    assert report["resent"] == 1 and sim.stats()["calls_msg_send"] == 2
    item = stored_message(app, message_id)
    assert item is not None and item["status"] == "delivered"
    (second,) = item["refs"]  # type: ignore[misc]
    assert second != first and item["earlier_refs"] == [first]
    assert tail.wait_for(lambda evs: len([e for e in evs if e["detail-type"] == "Message Submitted"]) == 2)
    failed = [e for e in tail.received if e["detail-type"] == "Message Status Changed"
              and e["detail"]["part"]["msgRef"] == first and e["detail"]["status"] == "failed"]
    assert failed and not failed[0]["detail"]["isFinal"]
