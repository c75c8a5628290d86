"""Issue 24 item 1 over the real handlers, moto and the simulator: Aculab queues the
message and its gateway answers 502. Under at-most-once the message is never sent
again; the simulator's status updates, posted to the status page that names it,
confirm it."""

from __future__ import annotations

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message

MOBILE = "447700900123"


def test_a_502_after_aculab_queued_the_message_is_sent_once_and_confirmed_by_its_updates(
        app: LocalApp, sim: SimulatorControl) -> None:
    # given Aculab queues the message, then its gateway answers 502 (once); its updates held back
    sim.configure(send_error_rules=[{"to_prefix": MOBILE, "status": 502, "queued": True, "times": 1}],
                  step_seconds=3600)
    tail = app.event_tail()
    message_id = queue_send(app)
    # when the send function handles it, and the same request comes again (a producer's retry)
    drain_queue(app)
    item = stored_message(app, message_id)
    assert item is not None and item["status"] == "unconfirmed"
    queue_send(app, message_id=message_id)
    drain_queue(app)
    # then Aculab got it once, and nothing was announced yet
    assert sim.stats()["calls_msg_send"] == 1 and sim.stats()["msg_send_502_after_queueing"] == 1
    assert stored_message(app, message_id)["status"] == "unconfirmed"  # type: ignore[index]
    # when Aculab's status updates come to the status page, which names the message
    sim.settle()
    # then its ref joins it and it is delivered; Message Submitted says how the ref was learnt
    (sent,) = sim.messages()
    assert tail.wait_for(lambda evs: any(e["detail"].get("status") == "delivered" for e in evs))
    item = stored_message(app, message_id)
    refs = [p["ref"] for p in sent["parts"]]
    assert item is not None and item["refs"] == refs and item["status"] == "delivered"
    (submitted,) = tail.of_type("Message Submitted")
    assert submitted["detail"]["msgRefs"] == refs
    assert submitted["detail"]["reason"].startswith("confirmed by a status update")
    assert sim.stats()["calls_msg_send"] == 1
