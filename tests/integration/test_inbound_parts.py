"""Long inbound messages, as people read them (moto server, the simulator, the
deployed handlers): parts in any order, repeated, become one message; parts
that never come are given up on after the wait (compressed here to 1 s)."""

from __future__ import annotations

import time
from typing import Any

import requests

from local.app import LocalApp
from simulator.control import SimulatorControl
from simulator.segmentation import split_sms

US, MOBILE = "447700900001", "447700900123"
LONG = ("Hello, this is a long reply to your appointment reminder: yes, Thursday at 10 works for me, "
        "but could you send the address again? The one I have is from last year and I think you moved. ") * 2


def test_a_long_message_shuffled_and_repeated_is_announced_once_whole(app: LocalApp, sim: SimulatorControl) -> None:
    assert len(split_sms(LONG)) == 3
    tail = app.event_tail()
    # given the simulator sends it as its three parts, shuffled, one of them twice
    sim.configure(inbound_part_repeat_rate=1.0, seed=7)
    first_ref = sim.inbound(MOBILE, US, LONG)
    sim.settle()
    # then exactly one Message Received carries the whole text, every part's ref, complete
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Received")) >= 1)
    time.sleep(0.5)  # a second one would have arrived by now
    received = [e["detail"] for e in tail.of_type("Message Received")]
    assert len(received) == 1
    assert (received[0]["content"], received[0]["complete"], received[0]["messageId"]) == (LONG, True, first_ref)
    assert len(received[0]["msgRefs"]) == 3 and received[0]["multipart"]["count"] == 3


def part(app: LocalApp, ref: str, pos: int, text: str) -> requests.Response:
    body = {"msg_ref": ref, "status": "received", "to": US, "from": MOBILE, "direction": "receive", "type": "sms",
            "content": text, "multipart_uid": "uid-late", "multipart_pos": pos, "multipart_count": 3}
    return requests.post(app.inbound_url, json=body, timeout=30)


def test_parts_that_never_come_are_given_up_on_after_the_wait(app_factory: Any) -> None:
    app = app_factory(INBOUND_PARTS_WAIT_SECONDS="1")
    tail = app.event_tail()
    # given two of three parts
    assert part(app, "late-1", 1, "Please call ").status_code == 200
    assert part(app, "late-3", 3, "tomorrow").status_code == 200
    # when the reconciler runs inside the wait / then nothing is announced
    assert app.run_reconcile()["closed_incomplete"] == 0
    # when it runs after the wait / then what arrived is announced, in order, incomplete
    time.sleep(1.1)
    assert app.run_reconcile()["closed_incomplete"] == 1
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Received")) >= 1)
    detail = tail.of_type("Message Received")[0]["detail"]
    assert (detail["content"], detail["msgRefs"], detail["complete"]) == ("Please call tomorrow",
                                                                          ["late-1", "late-3"], False)
    # and the missing part arriving late announces nothing more
    assert part(app, "late-2", 2, "me ").status_code == 200
    assert app.run_reconcile()["closed_incomplete"] == 0
    time.sleep(0.5)
    assert len(tail.of_type("Message Received")) == 1
