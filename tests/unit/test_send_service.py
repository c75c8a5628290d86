"""The send service on in-memory fakes (store, publisher, Aculab), given/when/then:
what one SQS record turns into, with no sockets and no moto."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabRequestError, AculabServerError
from aculab_messaging.contracts import events as ev
from aculab_messaging.logic.sending import SendService
from aculab_messaging.logic.status import RETRYABLE, Status
from tests.fakes.messages import InMemoryMessages
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_service

MOBILE, OURS = "+447700900123", "+447700900001"  # E.164 with '+': stored, keyed and announced so
ON_THE_WIRE = {MOBILE: "447700900123", OURS: "447700900001"}  # Aculab's form: msg_send alone


@pytest.fixture
def world() -> tuple[SendService, InMemoryStore, RecordingPublisher, FakeAculab, Clock]:
    store, publisher, aculab, clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock()
    service = send_service(store, publisher, aculab, InMemorySendQueue(clock), clock)
    return service, store, publisher, aculab, clock


def record(clock: Clock, sqs_id: str = "sqs-1", receives: int = 1, **fields: Any) -> dict[str, Any]:
    body = {"message_id": "m-1", "to": "+44 7700 900123", "from": OURS, "content": "Your order has shipped",
            "request_delivery_report": True, "metadata": {"orderId": "42"}, **fields}
    return {"messageId": sqs_id, "receiptHandle": f"rh-{sqs_id}", "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": str(receives),
                           "SentTimestamp": str(int(clock().timestamp() * 1000))}}


def test_a_valid_request_is_sent_once_recorded_and_announced(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given a send request for a mobile that never opted out
    # when the send service processes it
    outcomes = service.process_batch([record(clock)])
    # then Aculab got one msg_send to the normalised number, with our status page and its password
    assert [(p.to, p.from_, p.status_authentication_name) for p in aculab.sent] == [
        (ON_THE_WIRE[MOBILE], ON_THE_WIRE[OURS], "aculab")]
    assert aculab.sent[0].status_page is not None and "mid=m-1" in aculab.sent[0].status_page
    # and the message is queued with its ref, findable by it, and Message Submitted carries the metadata
    message = store.messages.get_message("m-1")
    assert message is not None and (message.status, message.refs) == (Status.QUEUED.value, ["ref-1"])
    assert (message.to, message.from_) == (MOBILE, OURS)
    assert store.refs.find_by_ref("ref-1") == ("m-1", True)
    assert publisher.types() == [ev.MESSAGE_SUBMITTED]
    assert publisher.published[0].detail["metadata"] == {"orderId": "42"}
    assert not outcomes["sqs-1"].retry


def test_a_redelivered_copy_is_not_sent_again(world: Any) -> None:
    service, _, publisher, aculab, clock = world
    # given a request already sent
    service.process_batch([record(clock)])
    # when SQS delivers the same message again
    service.process_batch([record(clock, "sqs-2", receives=2)])
    # then Aculab was called once, and Message Submitted was published once: its outbox was empty by then
    assert len(aculab.sent) == 1
    assert [e.detail_type for e in publisher.published] == [ev.MESSAGE_SUBMITTED]


def test_an_opted_out_mobile_is_blocked_without_calling_aculab(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given the mobile sent STOP to our number
    store.blocked.set_blocked(OURS, MOBILE, True, "inbound", "2026-11-25T08:00:00.000+00:00#r0")
    # when a message to it is processed
    service.process_batch([record(clock)])
    # then nothing went to Aculab, and the message is final as blocked
    assert aculab.sent == []
    assert publisher.types() == [ev.MESSAGE_BLOCKED]
    message = store.messages.get_message("m-1")
    assert message is not None and message.status == Status.BLOCKED.value


def test_a_batch_reads_the_opt_outs_of_its_sends_once(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given one of two mobiles opted out
    store.blocked.set_blocked(OURS, "+447700900124", True, "inbound", "2026-11-25T08:00:00.000+00:00#r0")
    # when a batch holds three sends to the two, a cancel and a bad request
    batch = [record(clock, "sqs-1", message_id="m-1"), record(clock, "sqs-2", message_id="m-2"),
             record(clock, "sqs-3", message_id="m-3", to="447700900124"),
             {**record(clock, "sqs-4"), "body": json.dumps({"action": "cancel", "message_id": "m-9"})},
             record(clock, "sqs-5", to="not a number")]
    outcomes = service.process_batch(batch)
    # then the opt-outs were read together first, for the two pairs; a send that starts after one of the
    # batch's msg_sends left reads its own again (a STOP stored meanwhile must stop it)
    assert store.blocked_reads[0] == 2 and all(n == 1 for n in store.blocked_reads[1:])
    assert len(store.blocked_reads) <= 3
    # and each record came out as it would alone: two sent, one blocked, the cancel answered, one rejected
    assert sorted(p.to for p in aculab.sent) == [ON_THE_WIRE[MOBILE]] * 2
    assert sorted(publisher.types()) == sorted([ev.MESSAGE_SUBMITTED, ev.MESSAGE_SUBMITTED, ev.MESSAGE_BLOCKED,
                                                ev.MESSAGE_CANCEL_FAILED, ev.MESSAGE_REJECTED])
    assert not any(o.retry for o in outcomes.values())


def test_a_batch_whose_opt_out_read_fails_reads_each_send_alone(world: Any, monkeypatch: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given the mobile opted out, and the batch read of opt-outs fails (throttled)
    store.blocked.set_blocked(OURS, MOBILE, True, "inbound", "2026-11-25T08:00:00.000+00:00#r0")

    def throttled(pairs: Any) -> set[tuple[str, str]]:
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(store.blocked, "blocked_among", throttled)
    # when a batch of two sends to it is processed
    service.process_batch([record(clock, "sqs-1", message_id="m-1"), record(clock, "sqs-2", message_id="m-2")])
    # then each send read its own opt-out, and neither was sent
    assert store.blocked_reads == [1, 1]
    assert aculab.sent == [] and publisher.types() == [ev.MESSAGE_BLOCKED, ev.MESSAGE_BLOCKED]


def test_a_single_send_reads_its_own_opt_out(world: Any) -> None:
    service, store, _, aculab, clock = world
    # given a batch of one send / when it is processed / then one plain read for its pair
    service.process_batch([record(clock)])
    assert store.blocked_reads == [1] and len(aculab.sent) == 1


def test_a_bad_request_is_rejected_naming_the_field_and_stores_nothing(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given a request whose number is not a phone number
    # when it is processed
    outcomes = service.process_batch([record(clock, to="not a number")])
    # then it is acknowledged, rejected with the field named, and its message_id is not taken
    assert not outcomes["sqs-1"].retry
    assert publisher.types() == [ev.MESSAGE_REJECTED]
    assert publisher.published[0].detail["reason"].startswith("to: ")
    assert aculab.sent == [] and store.messages.get_message("m-1") is None


def test_aculab_down_releases_the_claim_for_a_retry(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given Aculab answers 503
    aculab.error = AculabServerError(503, "service unavailable")
    # when the request is processed
    outcomes = service.process_batch([record(clock)])
    # then SQS delivers it again, the claim is free to take, and nothing was announced
    assert outcomes["sqs-1"].retry
    message = store.messages.get_message("m-1")
    assert message is not None and message.status == RETRYABLE
    assert publisher.published == []
    # when Aculab is back and the record comes again / then it is sent
    aculab.error = None
    clock.advance(seconds=30)
    service.process_batch([record(clock, "sqs-1", receives=2)])
    assert len(aculab.sent) == 1 and publisher.types() == [ev.MESSAGE_SUBMITTED]


def test_aculab_refusing_the_message_fails_it_for_good(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    aculab.error = AculabRequestError(400, "invalid destination")
    outcomes = service.process_batch([record(clock)])
    assert not outcomes["sqs-1"].retry
    assert publisher.types() == [ev.MESSAGE_FAILED]
    message = store.messages.get_message("m-1")
    assert message is not None and message.status == Status.FAILED.value


def test_an_event_not_published_sends_the_record_back_without_sending_twice(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given EventBridge refuses everything
    publisher.failing = True
    outcomes = service.process_batch([record(clock)])
    # then the event waits in the message's outbox, and the record comes back for it
    assert outcomes["sqs-1"].retry
    assert [e.detail_type for e in store.messages.get_message("m-1").outbox.values()] == [ev.MESSAGE_SUBMITTED]
    publisher.failing = False
    service.process_batch([record(clock, "sqs-1", receives=2)])
    # and its second delivery publishes it, without a second msg_send, and empties the outbox
    assert len(aculab.sent) == 1 and publisher.types() == [ev.MESSAGE_SUBMITTED]
    assert store.messages.get_message("m-1").outbox == {}


def test_a_cancel_for_an_unknown_message_fails_and_does_not_block_a_later_send(world: Any) -> None:
    service, store, publisher, aculab, clock = world
    # given a cancel for a message_id no send has used
    body = json.dumps({"action": "cancel", "message_id": "m-1"})
    service.process_batch([{**record(clock), "body": body}])
    # then it fails, "unknown message", and stores nothing
    assert publisher.types() == [ev.MESSAGE_CANCEL_FAILED] and aculab.cancelled == []
    assert publisher.published[0].detail["reason"] == "unknown message"
    assert publisher.published[0].detail["status"] is None and store.messages.get_message("m-1") is None
    # and a send with that id that comes later is sent
    service.process_batch([record(clock, "sqs-2")])
    assert len(aculab.sent) == 1 and publisher.types()[-1] == ev.MESSAGE_SUBMITTED


class MeetingMessages(InMemoryMessages):
    """Each outbox clear waits until ``parties`` clears are under way at once (a barrier): clears made one
    after another never get past the first."""

    def __init__(self, store: InMemoryStore, parties: int) -> None:
        super().__init__(store.table, store.refs)
        self.barrier = threading.Barrier(parties, timeout=30)

    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        self.barrier.wait()
        super().clear_events(message_id, event_ids, final=final)


def test_a_batchs_outboxes_are_cleared_at_once_not_one_after_another(world: Any) -> None:
    # given a store whose outbox clears each wait for all ten of a batch to be under way
    service, store, publisher, _, clock = world
    store.messages = MeetingMessages(store, parties=10)
    # when a batch of ten sends is processed
    records = [record(clock, f"sqs-{i}", message_id=f"m-{i}") for i in range(10)]
    outcomes = service.process_batch(records)
    # then each was published and its outbox emptied (ten writes in flight together, as ten round trips)
    assert not any(o.retry for o in outcomes.values())
    assert publisher.types().count(ev.MESSAGE_SUBMITTED) == 10
    assert all(not store.items[(f"MSG#m-{i}", "MSG")].get("outbox") for i in range(10))
