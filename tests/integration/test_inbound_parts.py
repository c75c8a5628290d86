"""Long inbound messages, as people read them (moto server, the simulator, the
deployed handlers): parts in any order, repeated, become one message; parts
that never come are given up on after the wait (compressed here to seconds);
parts that come after that are announced again, whole."""

from __future__ import annotations

import time
from typing import Any

import requests

from aculab_messaging.dal import TableStore
from local.app import LocalApp
from simulator.control import SimulatorControl
from simulator.segmentation import split_sms
from tests.faults import FaultProxy, fail_operation

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


def part(app: LocalApp, ref: str, pos: int, text: str, uid: str = "uid-late") -> requests.Response:
    body = {"msg_ref": ref, "status": "received", "to": US, "from": MOBILE, "direction": "receive", "type": "sms",
            "content": text, "multipart_uid": uid, "multipart_pos": pos, "multipart_count": 3}
    return requests.post(app.inbound_url, json=body, timeout=30)


def test_parts_that_never_come_are_given_up_on_after_the_wait(app_factory: Any) -> None:
    app = app_factory(INBOUND_PARTS_WAIT_SECONDS="3")
    tail = app.event_tail()
    # given two of three parts
    started = time.monotonic()
    assert part(app, "late-1", 1, "Please call ").status_code == 200
    first_stored = time.monotonic()
    assert part(app, "late-3", 3, "tomorrow").status_code == 200
    # when the reconciler runs inside the wait / then nothing is announced (asserted only when the run
    # did end inside it: a busy machine may take longer than the wait to get there)
    early = app.run_reconcile()["closed_incomplete"]
    if time.monotonic() - started < 3:
        assert early == 0
    # when it runs after the wait / then what arrived is announced, in order, incomplete
    time.sleep(max(0.0, first_stored + 3.1 - time.monotonic()))
    assert early + app.run_reconcile()["closed_incomplete"] == 1
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Received")) >= 1)
    detail = tail.of_type("Message Received")[0]["detail"]
    assert (detail["content"], detail["msgRefs"], detail["complete"]) == ("Please call tomorrow",
                                                                          ["late-1", "late-3"], False)
    # and the missing part arriving late announces the whole text again (tests below)
    assert part(app, "late-2", 2, "me ").status_code == 200
    assert app.run_reconcile()["closed_incomplete"] == 0
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Received")) >= 2)


def revisions(tail: Any) -> dict[int, dict[str, Any]]:
    """Each announcement of the message by its revision (the bus does not promise their order)."""
    return {e["detail"].get("revision", 0): e["detail"] for e in tail.of_type("Message Received")}


def closed_without_part_3(app: LocalApp, uid: str, texts: tuple[str, str]) -> Any:
    """Parts 1 and 2 of three arrive; after the wait the reconciler announces them incomplete."""
    tail = app.event_tail()
    for pos, text in enumerate(texts, start=1):
        assert part(app, f"{uid}-{pos}", pos, text, uid=uid).status_code == 200
    time.sleep(1.1)
    assert app.run_reconcile()["closed_incomplete"] == 1
    assert tail.wait_for(lambda evs: 0 in revisions(tail))
    assert revisions(tail)[0]["complete"] is False
    return tail


def test_a_part_after_the_close_announces_the_whole_text_again(app_factory: Any) -> None:
    app = app_factory(INBOUND_PARTS_WAIT_SECONDS="1")
    tail = closed_without_part_3(app, "uid-rev", ("Please call ", "me "))
    # when part 3 arrives after the close
    assert part(app, "uid-rev-3", 3, "tomorrow", uid="uid-rev").status_code == 200
    # then a second Message Received: the whole text, every ref, complete, superseding the first
    assert tail.wait_for(lambda evs: 1 in revisions(tail))
    first, second = revisions(tail)[0], revisions(tail)[1]
    assert (second["content"], second["msgRefs"], second["complete"]) == (
        "Please call me tomorrow", ["uid-rev-1", "uid-rev-2", "uid-rev-3"], True)
    assert (second["messageId"], second["supersedes"]) == (first["messageId"], first["eventId"])
    assert second["eventId"] != first["eventId"]
    # and nothing is left for the reconciler to announce
    assert app.run_reconcile()["reannounced"] == 0


def test_a_stop_completed_by_a_late_part_blocks(app_factory: Any) -> None:
    app = app_factory(INBOUND_PARTS_WAIT_SECONDS="1")
    tail = closed_without_part_3(app, "uid-stop", ("S", "TO"))
    first = revisions(tail)[0]
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    assert not store.blocked.is_blocked(first["to"], first["from"])  # "STO", a part missing: no keyword
    # when the last part arrives late
    assert part(app, "uid-stop-3", 3, "P", uid="uid-stop").status_code == 200
    # then the whole text is STOP: the pair is blocked, and the opt-out announced with the revision
    assert store.blocked.is_blocked(first["to"], first["from"])
    assert tail.wait_for(lambda evs: 1 in revisions(tail) and len(tail.of_type("Opt-Out Changed")) == 1)
    assert (revisions(tail)[1]["content"], revisions(tail)[1]["complete"]) == ("STOP", True)
    assert tail.of_type("Opt-Out Changed")[0]["detail"]["blocked"] is True


def test_a_late_announcement_that_failed_is_reannounced_by_the_reconciler_with_the_same_event_id(
    app_factory: Any, aws: str
) -> None:
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url, INBOUND_PARTS_WAIT_SECONDS="1", STALE_AGE_SECONDS="1")
    tail = closed_without_part_3(app, "uid-lost", ("Please call ", "me "))
    # given EventBridge fails when the webhook announces the late part, and Aculab gives up at once
    proxy.fail(fail_operation("PutEvents", times=100))
    assert part(app, "uid-lost-3", 3, "tomorrow", uid="uid-lost").status_code == 503
    proxy.clear()
    # when the reconciler runs after the stale age (compressed to 1 s)
    time.sleep(1.1)
    assert app.run_reconcile()["reannounced"] == 1
    # then the revision is announced: the whole text, complete; once
    assert tail.wait_for(lambda evs: 1 in revisions(tail))
    again = revisions(tail)[1]
    assert (again["content"], again["complete"], again["supersedes"]) == (
        "Please call me tomorrow", True, revisions(tail)[0]["eventId"])
    assert app.run_reconcile()["reannounced"] == 0
    # and a late retry of the part from Aculab announces the very same revision (same eventId)
    assert part(app, "uid-lost-3", 3, "tomorrow", uid="uid-lost").status_code == 200
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Received")) == 3)
    assert [d["eventId"] for d in (e["detail"] for e in tail.of_type("Message Received"))
            if d.get("revision") == 1] == [again["eventId"]] * 2
    proxy.close()
