"""Adversary tests of a batch's outbox clears made at once on its pool, on DynamoDB's own semantics
(dal/messages.py on moto server): each request is atomic, but ``clear_events`` of a final message is two
requests (the conditional "last events out, off the pending index", then a plain remove), so two clears of
one message in one batch could interleave between them (a send's and its cancel's: the cancelled message
kept its pending index entry with an empty outbox). A message's events are now cleared once for the batch,
whichever records named them. The in-memory fake's ``clear_events`` is one step and cannot show this."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from aculab_messaging.contracts import events as ev
from aculab_messaging.dal import TableStore
from aculab_messaging.dal.messages import Messages
from aculab_messaging.dal.table import TableAccess
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import MessageRecord
from local.app import LocalApp
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_service

GATE_SECONDS = 10  # a gate never met (the clears one after another) lets the thread go on after this


class OrderedMessages(Messages):
    """The real DynamoDB message items, with two interleavings a busy batch can take made certain:
    the cancel reads the message once the send has scheduled it, and a non-final outbox clear lands
    once a final clear has asked its conditional write (and been refused)."""

    def __init__(self, access: TableAccess, store: TableStore) -> None:
        super().__init__(access, store.refs)
        self.scheduled = threading.Event()
        self.asked_final = threading.Event()

    def transition(self, change: lc.Change) -> lc.Moved:
        moved = super().transition(change)
        if change.transition is lc.SCHEDULE and moved.done:
            self.scheduled.set()
        return moved

    def get_message(self, message_id: str) -> MessageRecord | None:
        self.scheduled.wait(GATE_SECONDS)
        return super().get_message(message_id)

    def _clear_last_events(self, message_id: str, ids: list[str], names: dict[str, str]) -> bool:
        try:
            return super()._clear_last_events(message_id, ids, names)
        finally:
            self.asked_final.set()

    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        if not final:
            self.asked_final.wait(GATE_SECONDS)
        super().clear_events(message_id, event_ids, final=final)


def test_a_send_and_its_cancel_in_one_batch_leave_the_cancelled_message_off_the_pending_index(app: LocalApp) -> None:
    # given the send path on the stack's DynamoDB table, the send's record ahead of the cancel's
    client = app.stack.client("dynamodb")
    table = app.stack.refs["MessagesTable"]
    base = TableStore.on(client, table)
    messages = OrderedMessages(TableAccess(client, table, 4, 90), base)
    store = replace(base, messages=messages)
    clock, publisher = Clock(), RecordingPublisher()
    service = send_service(store, publisher, FakeAculab(), InMemorySendQueue(clock), clock)
    mid = f"adv-{uuid.uuid4().hex[:12]}"
    send = {"message_id": mid, "to": "+447700900123", "from": "+447700900001", "content": "Your order has shipped",
            "send_at": (clock() + timedelta(minutes=5)).isoformat()}
    cancel = {"action": "cancel", "message_id": mid}
    records = [{"messageId": f"sqs-{i}", "receiptHandle": f"rh-{i}", "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1",
                               "SentTimestamp": str(int(clock().timestamp() * 1000))}}
               for i, body in enumerate((send, cancel))]
    # when one batch schedules the message and cancels it, and the cancel's final clear asks its
    # conditional write before the send's clear has removed the Scheduled event (threads at once)
    outcomes = service.process_batch(records)
    # then both events were published, no record is retried, and the outbox is empty
    assert sorted(publisher.types()) == sorted([ev.MESSAGE_SCHEDULED, ev.MESSAGE_CANCELLED])
    assert not any(o.retry for o in outcomes.values())
    item = messages.get_message_item(mid) or {}
    assert item.get("status") == "cancelled" and not item.get("outbox")
    # and the cancelled message left the pending index with its last events (one clear of both)
    assert "pending_pk" not in item, {k: v for k, v in item.items() if k.startswith("pending")}

