"""GET /messages/{id}'s adapter and view over the in-memory store: given/when/then."""

from __future__ import annotations

import json
from datetime import timedelta

from aculab_messaging.api.messages import MessagesApi
from aculab_messaging.logic.message_record import PartWrite
from aculab_messaging.logic.status import Status
from tests import seeding
from tests.fakes.services import Clock
from tests.fakes.store import InMemoryStore


def get(api: MessagesApi, message_id: str) -> tuple[int, dict[str, object]]:
    answer = api.handle({"pathParameters": {"message_id": message_id}})
    return answer["statusCode"], json.loads(answer["body"])


def test_a_two_part_message_shows_parts_and_timeline_in_time_order() -> None:
    # given a two-part message queued, whose parts moved out of order in time
    store, clock = InMemoryStore(), Clock()
    seeding.queued(store, "m1", ["r1", "r2"], clock(), metadata={"k": "v"})
    clock.advance(seconds=2)
    store.parts.write_part(PartWrite("m1", "r2", Status.SENT, 30, "sent", "000", "2026-11-25T09:00:02Z", False),
                           clock())
    clock.advance(seconds=1)
    store.parts.write_part(PartWrite("m1", "r1", Status.SENT, 30, "sent", None, None, False), clock())
    store.parts.write_message_status("m1", Status.SENT, 30, clock())
    # when its owner asks
    status, view = get(MessagesApi(store), "m1")
    # then the parts by position, and the timeline oldest first
    assert status == 200 and view["status"] == "sent" and view["isFinal"] is False
    assert view["to"] == "4477*****123" and view["from"] == "447700900001" and view["metadata"] == {"k": "v"}
    parts = view["parts"]
    assert [(p["msgRef"], p["position"], p["status"]) for p in parts] == [("r1", 1, "sent"), ("r2", 2, "sent")]
    assert parts[1]["aculabMsgErr"] == {"code": "000", "meaning": "OK - no problems detected."}
    assert parts[1]["providerTimestamp"] == "2026-11-25T09:00:02Z"
    assert [(t["status"], t["msgRef"]) for t in view["timeline"]] == [
        ("queued", None), ("sent", "r2"), ("sent", "r1"), ("sent", None)]


def test_a_message_still_with_the_send_path_reads_sending() -> None:
    store, clock = InMemoryStore(), Clock()
    seeding.waiting(store, "m2", clock(), "aculab unavailable")
    status, view = get(MessagesApi(store), "m2")
    assert status == 200 and view["status"] == "sending" and view["isFinal"] is False and view["timeline"] == []


def test_a_rejected_message_has_its_one_final_line() -> None:
    store, clock = InMemoryStore(), Clock()
    seeding.blocked(store, "m3", clock(), "recipient opted out")
    status, view = get(MessagesApi(store), "m3")
    assert status == 200 and view["isFinal"] is True
    assert [(t["status"], t["reason"]) for t in view["timeline"]] == [("blocked", "recipient opted out")]


def test_a_scheduled_message_shows_when_it_is_due() -> None:
    store, clock = InMemoryStore(), Clock()
    due = clock() + timedelta(hours=2)
    seeding.scheduled(store, "m4", clock(), due, schedule_name="msg-x", dlr=False)
    status, view = get(MessagesApi(store), "m4")
    assert status == 200 and view["status"] == "scheduled" and view["isFinal"] is False
    assert view["dueAt"].startswith("2026-11-25T11:00:00") and view["timeline"][0]["dueAt"] == view["dueAt"]


def test_unknown_and_malformed_ids() -> None:
    api = MessagesApi(InMemoryStore())
    assert get(api, "nope") == (404, {"message": "no such message"})
    assert get(api, "bad id/..")[0] == 400
    assert api.handle({})["statusCode"] == 400
