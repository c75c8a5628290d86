"""The message item's model: what dal/ hands the services is the item read through it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from aculab_messaging.logic.message_record import MessageRecord


def test_an_item_as_dynamodb_holds_it_reads_as_its_record() -> None:
    # given an item as the table returns it: numbers as Decimal, "from", an outbox of two events, a null reason
    detail = {"eventId": "e" * 32, "messageId": "m1", "isFinal": False}
    item = {"pk": "MSG#m1", "sk": "MSG", "message_id": "m1", "status": "queued", "rank": Decimal(10),
            "from": "+447700900001", "to": "+447700900123", "reason": None, "lease_until": Decimal(1764000000),
            "parts": {"r1": {"status": "queued", "rank": Decimal(10)}}, "attempts": Decimal(1),
            "outbox": {"e" * 32}, f"ob_{'e' * 32}": {"t": "Message Submitted", "d": json.dumps(detail)},
            "pending_pk": "PENDING#1"}
    # when it is read
    record = MessageRecord.from_item(item)
    # then each attribute is its field, typed; the outbox's entries are its events; the index's keys are not
    assert (record.message_id, record.status, record.rank, record.from_, record.reason) == (
        "m1", "queued", 10, "+447700900001", None)
    assert record.lease_until == 1764000000 and record.attempts == 1 and record.parts["r1"]["rank"] == 10
    assert [(e.detail_type, dict(e.detail)) for e in record.outbox.values()] == [("Message Submitted", detail)]
    assert not hasattr(record, "pending_pk")


def test_an_item_whose_attribute_has_the_wrong_type_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="rank"):
        MessageRecord.from_item({"message_id": "m1", "status": "queued", "rank": "high"})
