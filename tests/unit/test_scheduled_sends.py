"""send_at, validity and cancel at every stage, on in-memory fakes and a
controllable clock (hours pass in no time): given/when/then."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabServerError
from aculab_messaging.contracts import events as ev
from aculab_messaging.logic.status import Status
from tests.send_wiring import SendWorld

OURS = "447700900001"


class World(SendWorld):
    def __init__(self) -> None:
        super().__init__()
        self.delays = self.queue.retry_calls  # a record handed back: its backoff
        self.waits = self.queue.later_calls  # a fresh copy: a wait
        self._n = 0

    def record(self, body: dict[str, Any], receives: int = 1, sent_at: Any = None) -> dict[str, Any]:
        self._n += 1
        stamp = sent_at or self.clock()
        return {"messageId": f"sqs-{self._n}", "receiptHandle": f"rh-{self._n}", "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": str(receives),
                               "SentTimestamp": str(int(stamp.timestamp() * 1000))}}

    def send(self, **fields: Any) -> dict[str, Any]:
        return {"message_id": "m-1", "to": "447700900123", "from": OURS, "content": "Your code is 1234", **fields}

    def run(self, *records: dict[str, Any]) -> Any:
        return self.service.process_batch(list(records))

    def at(self, **delta: float) -> str:
        return (self.clock() + timedelta(**delta)).isoformat()


@pytest.fixture
def w() -> World:
    return World()


def test_due_within_15_minutes_waits_in_the_queue_then_goes(w: World) -> None:
    # given a send due in 10 minutes
    first = w.record(w.send(send_at=w.at(minutes=10)))
    outcome = w.run(first)["sqs-1"]
    # then it is stored scheduled, announced with its due time, and back in the queue until then as a
    # fresh copy (a wait uses up no receive of the record)
    assert not outcome.retry and w.waits == [600] and w.delays == [] and w.aculab.sent == []
    assert w.store.messages.get_message("m-1").status == Status.SCHEDULED.value  # type: ignore[union-attr]
    assert w.publisher.types() == [ev.MESSAGE_SCHEDULED]
    assert w.publisher.published[0].detail["dueAt"].startswith("2026-11-25T09:10:00")
    # when it comes back once due
    w.clock.advance(minutes=10)
    w.run(first | {"attributes": {**first["attributes"], "ApproximateReceiveCount": "2"}})
    # then it is sent, and its timeline says scheduled, then queued
    assert len(w.aculab.sent) == 1 and w.publisher.types()[-1] == ev.MESSAGE_SUBMITTED
    assert [h["status"] for h in w.store.messages.get_message("m-1").history] == ["scheduled", "queued"]  # type: ignore[union-attr]


def test_due_beyond_15_minutes_goes_through_a_schedule(w: World) -> None:
    # given a send due tomorrow at 09:00 with a validity of its own
    w.run(w.record(w.send(send_at=w.at(hours=24), valid_for_seconds=300)))
    # then a one-time schedule holds it (the record is done), not the queue
    (_name, (at, body)), = w.scheduler.schedules.items()
    assert at == w.clock() + timedelta(hours=24) and w.delays == [] and w.aculab.sent == []
    due = json.loads(body)
    assert due["action"] == "due" and due["request"]["valid_for_seconds"] == 300
    # and its validity is fixed on the item at first sight: nothing that fires later extends it
    assert w.store.messages.get_message("m-1").valid_until.startswith("2026-11-26T09:05:00")  # type: ignore[union-attr]
    # when the schedule fires a day later (the clock moves, nobody waits)
    w.clock.advance(hours=24, seconds=2)
    (fired,) = w.scheduler.fire_due(w.clock())
    w.run(w.record(json.loads(fired)))
    # then it is sent once, now
    assert len(w.aculab.sent) == 1 and w.publisher.types() == [ev.MESSAGE_SCHEDULED, ev.MESSAGE_SUBMITTED]


def test_a_scheduled_message_is_cancelled_with_its_schedule(w: World) -> None:
    w.run(w.record(w.send(send_at=w.at(hours=3))))
    w.run(w.record({"action": "cancel", "message_id": "m-1"}))
    assert w.scheduler.schedules == {} and w.publisher.types()[-1] == ev.MESSAGE_CANCELLED
    assert w.store.messages.get_message("m-1").status == Status.CANCELLED.value  # type: ignore[union-attr]


def test_a_message_waiting_in_the_queue_is_cancelled_and_skipped_when_it_comes_back(w: World) -> None:
    # given a send waiting 5 minutes in the queue, and its cancel
    waiting = w.record(w.send(send_at=w.at(minutes=5)))
    w.run(waiting)
    w.run(w.record({"action": "cancel", "message_id": "m-1"}))
    # when the waiting record comes back due
    w.clock.advance(minutes=5)
    w.run(waiting)
    # then it is never sent, and exactly one event answered the cancel
    assert w.aculab.sent == []
    assert w.publisher.types() == [ev.MESSAGE_SCHEDULED, ev.MESSAGE_CANCELLED]


def test_a_message_waiting_for_a_retry_is_cancelled(w: World) -> None:
    w.aculab.error = AculabServerError(503, "down")
    w.run(w.record(w.send()))
    w.run(w.record({"action": "cancel", "message_id": "m-1"}))
    assert w.publisher.types() == [ev.MESSAGE_CANCELLED]
    assert w.store.messages.get_message("m-1").status == Status.CANCELLED.value  # type: ignore[union-attr]


def test_a_message_at_aculab_is_cancelled_there_and_one_sent_cannot_be(w: World) -> None:
    w.run(w.record(w.send()))
    w.run(w.record({"action": "cancel", "message_id": "m-1"}))
    assert w.aculab.cancelled == [["ref-1"]] and w.publisher.types()[-1] == ev.MESSAGE_CANCELLED
    # a second message, delivered, then cancelled
    w.run(w.record(w.send(message_id="m-2")))
    from aculab_messaging.logic.message_record import PartWrite

    w.store.parts.write_part(PartWrite("m-2", "ref-2", Status.DELIVERED, 40, "delivered", None, None, True), w.clock())
    w.run(w.record({"action": "cancel", "message_id": "m-2"}))
    last = w.publisher.published[-1]
    assert last.detail_type == ev.MESSAGE_CANCEL_FAILED and last.detail["reason"] == "already sent"


def test_validity_runs_out_through_an_outage_and_it_is_never_sent(w: World) -> None:
    # given a one-time code worth 5 minutes, and Aculab down
    w.aculab.error = AculabServerError(503, "down")
    sent_at = w.clock()
    body = w.send(valid_for_seconds=300)
    w.run(w.record(body, sent_at=sent_at))
    # when Aculab is back 6 minutes after it was queued
    w.clock.advance(minutes=6)
    w.aculab.error = None
    w.run(w.record(body, receives=3, sent_at=sent_at))
    # then it was never handed to Aculab: expired, with the reason
    assert w.aculab.sent == [] and w.publisher.types() == [ev.MESSAGE_EXPIRED]
    expired = w.publisher.published[0].detail
    assert expired["status"] == "expired" and "valid_until" in expired["reason"] and expired["isFinal"] is True
    assert w.store.messages.get_message("m-1").status == Status.EXPIRED.value  # type: ignore[union-attr]


def test_a_scheduled_message_past_its_validity_expires_when_due(w: World) -> None:
    w.run(w.record(w.send(send_at=w.at(hours=2), valid_until=w.at(hours=2, minutes=1))))
    w.clock.advance(hours=2, minutes=2)  # the schedule fired late (e.g. a backlog)
    (fired,) = w.scheduler.fire_due(w.clock())
    w.run(w.record(json.loads(fired)))
    assert w.aculab.sent == [] and w.publisher.types() == [ev.MESSAGE_SCHEDULED, ev.MESSAGE_EXPIRED]


def test_send_at_in_the_past_means_now_and_bad_times_are_rejected(w: World) -> None:
    w.run(w.record(w.send(send_at=w.at(hours=-1))))
    assert len(w.aculab.sent) == 1
    w.run(w.record(w.send(message_id="m-2", send_at=w.at(days=400))))
    w.run(w.record(w.send(message_id="m-3", send_at=w.at(hours=2), valid_until=w.at(hours=1))))
    w.run(w.record(w.send(message_id="m-4", send_at="2026-11-26T09:00:00")))  # no offset
    reasons = [e.detail["reason"] for e in w.publisher.published if e.detail_type == ev.MESSAGE_REJECTED]
    assert reasons[0] == "send_at: must be at most a year ahead" and len(reasons) == 3
    assert "valid_until must be after send_at" in reasons[1]
    assert reasons[2] == "send_at: Input should have timezone info"


def test_relative_times_for_the_cli() -> None:
    from datetime import UTC, datetime

    from tools.producer import when

    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert [when(t, now) for t in ("+90s", "+2m", "+1h", "+1d")] == [
        "2026-11-25T09:01:30+00:00", "2026-11-25T09:02:00+00:00", "2026-11-25T10:00:00+00:00",
        "2026-11-26T09:00:00+00:00"]
    assert when("2026-12-01T08:00:00+01:00", now) == "2026-12-01T08:00:00+01:00"  # as given
