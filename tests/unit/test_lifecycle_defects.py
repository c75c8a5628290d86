"""Defects the lifecycle model (test_lifecycle_model.py) found, each as its smallest plain reproduction
on the in-memory fakes, kept as regression tests once fixed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabThrottledError
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic.domain_errors import NotPublished
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.policy import ReconcilePolicy, SendPolicy
from aculab_messaging.logic.reconcile import ReconcileService
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.send_wiring import send_service

OURS, MOBILE = "+447700900001", "+447700900123"


class World:
    def __init__(self) -> None:
        self.store, self.publisher, self.aculab, self.clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), \
            Clock()
        self.sender = send_service(self.store, self.publisher, self.aculab, _NoQueue(), self.clock)
        self.ingest = IngestService(store=self.store, publisher=self.publisher, clock=self.clock)
        self.reconciler = ReconcileService(
            store=self.store, publisher=self.publisher, aculab=self.aculab, clock=self.clock,
            metrics=RecordingMetrics(), policy=ReconcilePolicy(stale_age=timedelta(minutes=15),
                                                               give_up_age=timedelta(hours=48)))
        self._n = 0

    def record(self, receives: int = 1, sqs_id: str | None = None) -> dict[str, Any]:
        self._n += 1
        body = {"message_id": "m-1", "to": MOBILE, "from": OURS, "content": "Your code is 1234"}
        return {"messageId": sqs_id or f"sqs-{self._n}", "receiptHandle": "rh", "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": str(receives),
                               "SentTimestamp": str(int(self.clock().timestamp() * 1000))}}

    def event_ids(self, detail_type: str) -> list[str]:
        return [str(e.detail["eventId"]) for e in self.publisher.published if e.detail_type == detail_type]


class _NoQueue:
    def later(self, body: str, delay_seconds: int) -> None: ...
    def retry_after(self, record: Any, seconds: int) -> None: ...
    def dead_letter(self, record: Any) -> None: ...


def test_an_event_waiting_in_an_outbox_stays_visible_to_the_reconciler_after_a_final_status() -> None:
    w = World()
    # given a message sent while EventBridge refused PutEvents: Message Submitted waits in its outbox
    w.publisher.failing = True
    outcome = w.sender.process_batch([w.record()])
    assert outcome["sqs-1"].retry and w.store.messages.get_message("m-1").outbox  # type: ignore[union-attr]
    # and, EventBridge back, Aculab posts the final status (no delivery report: "sent" is final)
    w.publisher.failing = False
    w.ingest.ingest(Notification.from_fields({"msg_ref": "ref-1", "status": "sent"}), Route("m-1", False))
    # when the reconciler runs past the stale age (the SQS record may be long gone: a DLQ, a lost retry)
    w.clock.advance(minutes=20)
    w.reconciler.run(lambda: 900.0)
    # then Message Submitted, stored with the transition, was published by the one replay path
    assert ev.MESSAGE_SUBMITTED in w.publisher.types()
    assert not w.store.messages.get_message("m-1").outbox  # type: ignore[union-attr]


def test_a_message_dead_lettered_twice_announces_two_facts_under_two_event_ids() -> None:
    w = World()
    w.aculab.error = AculabThrottledError(429, "Too many requests")
    # given a message Aculab throttles for longer than the retry window (6 h): dead-lettered
    w.sender.process_batch([w.record()])
    w.clock.advance(hours=7)
    assert w.sender.process_batch([w.record(receives=2, sqs_id="sqs-1")])["sqs-1"].dead_letter
    # when an operator redrives the DLQ and Aculab throttles it again: dead-lettered again
    w.clock.advance(minutes=5)
    assert w.sender.process_batch([w.record()])[f"sqs-{w._n}"].dead_letter
    # then the two Message Failed events (their reasons differ: the attempts made so far)
    # are two facts: a consumer that drops an eventId it has seen would miss the second
    failed = [e.detail for e in w.publisher.published if e.detail_type == ev.MESSAGE_FAILED]
    assert len(failed) == 2 and failed[0]["reason"] != failed[1]["reason"]
    assert failed[0]["eventId"] != failed[1]["eventId"]


def test_a_replayed_status_update_is_the_same_fact_as_the_update() -> None:
    w = World()
    w.sender.process_batch([w.record()])
    update = Notification.from_fields({"msg_ref": "ref-1", "status": "failed (undeliverable)"})
    # given Aculab's final update whose event EventBridge refused (stored; the message put back for a replay)
    w.publisher.failing = True
    with pytest.raises(NotPublished):
        w.ingest.ingest(update, Route("m-1", False))
    w.publisher.failing = False
    # when Aculab posts it again, and the reconciler replays it too
    w.ingest.ingest(update, Route("m-1", False))
    w.clock.advance(minutes=20)
    w.reconciler.run(lambda: 900.0)
    # then both carry one fact under their one eventId (but for when each was announced)
    changed = [{k: v for k, v in e.detail.items() if k != "timestamp"} for e in w.publisher.published
               if e.detail_type == ev.MESSAGE_STATUS_CHANGED]
    assert len(changed) == 2 and changed[0]["eventId"] == changed[1]["eventId"]
    assert changed[0]["reason"] == "undeliverable"
    assert changed[1] == changed[0]


def test_a_stop_stored_while_a_batch_is_sending_stops_its_later_sends_to_that_mobile() -> None:
    w = World()
    w.sender.policy = SendPolicy(webhook_url="https://hooks.example/notify", concurrency=1)  # one after the other
    texted: list[Any] = []

    class StopMeanwhile(FakeAculab):
        def msg_send(self, params: Any) -> list[str]:
            refs = super().msg_send(params)
            if not texted:  # while the first request is on its way, the mobile texts STOP (the webhook)
                texted.append(w.ingest.ingest(Notification.from_fields({
                    "msg_ref": "in-1", "status": "received", "direction": "receive", "from": MOBILE[1:],
                    "to": OURS[1:], "content": "STOP"})))
            return refs

    w.aculab = w.sender.aculab = StopMeanwhile()
    # given two messages to the same mobile in one batch
    first, second = w.record(), w.record()
    second["body"] = second["body"].replace('"m-1"', '"m-2"')
    # when the mobile's STOP is stored while the first is being sent
    w.sender.process_batch([first, second])
    # then the second, sent after the STOP took effect, is not sent: blocked
    assert w.store.blocked.is_blocked(OURS, MOBILE)
    assert len(w.aculab.sent) == 1
    assert w.store.messages.get_message("m-2").status == "blocked"  # type: ignore[union-attr]
