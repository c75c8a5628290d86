"""Contract tests: every event we build validates against its shipped JSON
Schema, and matches the EventBridge rule pattern consumers are told to use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.queue import queue_json_schema
from aculab_messaging.contracts.schemas import generated
from aculab_messaging.dal import MessageRecord
from aculab_messaging.logic.tracking import outcome_event
from aculab_messaging.status import RETRYABLE, Status

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def schema_for(detail_type: str) -> dict[str, Any]:
    path = ROOT / "schemas" / "events" / (detail_type.lower().replace(" ", "-") + ".json")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def validate(event: ev.Event) -> None:
    # the detail as it goes on the wire (JSON), not the Python object
    detail = json.loads(event.entry("bus", "aculab.messaging")["Detail"])
    jsonschema.validate(detail, schema_for(event.detail_type), format_checker=jsonschema.FormatChecker())


def samples() -> list[ev.Event]:
    common: dict[str, Any] = {"message_id": "m-1", "metadata": {"k": "v"}, "msg_refs": ["r1"], "now": NOW}
    return [
        ev.message_event(ev.MESSAGE_SUBMITTED, status="queued", is_final=False, **common),
        ev.message_event(ev.MESSAGE_STATUS_CHANGED, status="delivered", is_final=True, provider_status="delivered",
                         aculab_msg_err="000", extra={"part": {"msgRef": "r1", "status": "delivered",
                                                               "position": 1, "count": 1,
                                                               "providerTimestamp": "2026-11-25T10:00:00Z"}},
                         **common),
        ev.message_event(ev.MESSAGE_REJECTED, status="rejected", is_final=True, reason="to: bad", **common),
        ev.message_event(ev.MESSAGE_BLOCKED, status="blocked", is_final=True, reason="opted out", **common),
        ev.message_event(ev.MESSAGE_FAILED, status="failed", is_final=True, reason="outcome unknown", **common),
        ev.message_event(ev.MESSAGE_CANCELLED, status="cancelled", is_final=True,
                         extra={"cancelResults": {"r1": "success"}}, **common),
        ev.message_event(ev.MESSAGE_CANCEL_FAILED, status="delivered", is_final=True, reason="too late",
                         extra={"cancelResults": {"r1": "failed"}}, **common),
        ev.message_event(ev.MESSAGE_CANCEL_FAILED, status=None, is_final=False, reason="unknown message",
                         message_id="m-2", now=NOW, extra={"cancelResults": {}}),
        ev.message_event(ev.MESSAGE_SCHEDULED, status="scheduled", is_final=False,
                         extra={"dueAt": "2026-11-26T09:00:00Z", "validUntil": None}, **common),
        ev.message_event(ev.MESSAGE_EXPIRED, status="expired", is_final=True, reason="not sent before",
                         extra={"validUntil": "2026-11-26T09:05:00Z"}, **common),
        ev.message_event(ev.MESSAGE_RECEIVED, status="received", is_final=True, message_id="r9", msg_refs=["r9"],
                         now=NOW, extra={"direction": "receive", "from": "447700900123", "to": "447700900001",
                                         "type": "mms", "content": None, "msgMedia": ["a.png"], "multipart": None,
                                         "providerTimestamp": None}),
        ev.opt_out_event(from_="447700900001", to="447700900123", blocked=True, source="inbound",
                         keyword="STOP", now=NOW),
        ev.media_archived_event(message_id="r9", msg_refs=["r9"], from_="447700900123", to="447700900001",
                                files=[{"name": "a.png", "bucket": "b", "key": "inbound/2026/11/25/r9/01-a.png",
                                        "size": 10, "contentType": "image/png"}],
                                missing=[{"name": "b.png", "reason": "gone"}], now=NOW),
    ]


def test_every_detail_type_has_a_schema_and_a_sample() -> None:
    assert {e.detail_type for e in samples()} == set(ev.DETAIL_TYPES)
    for detail_type in ev.DETAIL_TYPES:
        assert schema_for(detail_type)["title"] == detail_type


@pytest.mark.parametrize("event", samples(), ids=lambda e: e.detail_type)
def test_validate_event_against_schema(event: ev.Event) -> None:
    validate(event)


def test_schema_rejects_event_missing_field() -> None:
    event = samples()[0]
    broken = ev.Event(event.detail_type, {k: v for k, v in event.detail.items() if k != "messageId"})
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_an_event_read_back_from_the_outbox_is_the_one_stored() -> None:
    # given the Message Failed a last send attempt stored in its message's outbox
    reason = "dead-lettered after 5 attempts: AculabServerError: 503"
    original = outcome_event(ev.MESSAGE_FAILED, "m-1", Status.FAILED, NOW, reason=reason)
    item = {"message_id": "m-1", "status": RETRYABLE, "rank": 0, "outbox": {original.detail["eventId"]},
            f"ob_{original.detail['eventId']}": {"t": original.detail_type, "d": json.dumps(original.detail)}}
    # when the item is read back (the reconciler, a redelivery)
    replayed = list(MessageRecord.from_item(item).outbox.values())
    # then it is the same event, to the letter (eventId, timestamp, reason), still valid
    assert [(e.detail_type, e.detail) for e in replayed] == [(ev.MESSAGE_FAILED, original.detail)]
    validate(replayed[0])


def test_event_id_differs_between_facts() -> None:
    a = ev.message_event(ev.MESSAGE_FAILED, message_id="m", status="failed", is_final=True, identity="r1:failed")
    b = ev.message_event(ev.MESSAGE_FAILED, message_id="m", status="failed", is_final=True, identity="r2:failed")
    assert a.detail["eventId"] != b.detail["eventId"]


def test_shipped_schemas_are_the_models() -> None:
    # given the models / when schemas/ is generated / then every shipped file is what they say (make schemas)
    expected = generated()
    shipped = {str(p.relative_to(ROOT / "schemas")): p.read_text() for p in (ROOT / "schemas").rglob("*.json")}
    assert shipped == expected


def test_a_detail_that_breaks_its_model_is_refused_when_built() -> None:
    # given a Message Submitted whose status is not queued, and a cancel result Aculab never gives
    # when each is built / then the model refuses it before it can be published
    with pytest.raises(ValidationError, match="status"):
        ev.message_event(ev.MESSAGE_SUBMITTED, message_id="m", status="delivered", is_final=True)
    with pytest.raises(ValidationError, match="cancelResults"):
        ev.message_event(ev.MESSAGE_CANCEL_FAILED, message_id="m", status="sent", is_final=False,
                         extra={"cancelResults": {"r1": "maybe"}})


def test_metadata_numbers_stay_numbers_on_the_wire() -> None:
    event = ev.message_event(ev.MESSAGE_FAILED, message_id="m", status="failed", is_final=True,
                             metadata={"n": 42, "price": 1.5, "tags": ["a"]})
    detail = json.loads(event.entry("bus", "src")["Detail"])
    assert detail["metadata"] == {"n": 42, "price": 1.5, "tags": ["a"]}


def test_queue_schema_accepts_the_readme_example() -> None:
    example = {"version": "1", "action": "send", "message_id": "order-42", "to": "+44 7700 900123",
               "from": "447700900001", "type": "sms", "content": "Shipped", "request_delivery_report": True,
               "metadata": {"orderId": "42"}}
    jsonschema.validate(example, queue_json_schema())
