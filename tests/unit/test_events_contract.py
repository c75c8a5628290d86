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
from aculab_messaging.contracts.events import inbound as inb
from aculab_messaging.contracts.events import media as md
from aculab_messaging.contracts.events import outcomes as o
from aculab_messaging.contracts.events import status as st
from aculab_messaging.contracts.events.base import AculabMsgErr, Detail
from aculab_messaging.contracts.queue import queue_json_schema
from aculab_messaging.contracts.schemas import generated
from aculab_messaging.logic.message_record import MessageRecord
from aculab_messaging.logic.status import RETRYABLE, Status
from aculab_messaging.logic.tracking import failed_event

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
    def common(model: type[Detail], status: Status | None, message_id: str = "m-1") -> dict[str, Any]:
        return {**ev.stamp(model, message_id, status, "", now=NOW), "message_id": message_id,
                "metadata": {"k": "v"}, "msg_refs": ["r1"]}

    return [ev.Event.of(detail) for detail in [
        o.SubmittedDetail(**common(o.SubmittedDetail, Status.QUEUED), status=Status.QUEUED, is_final=False),
        st.StatusChangedDetail(**common(st.StatusChangedDetail, Status.DELIVERED), status=Status.DELIVERED,
                               is_final=True, provider_status="delivered", aculab_msg_err=AculabMsgErr.of("000"),
                               part=st.PartDetail(msg_ref="r1", status=Status.DELIVERED, position=1, count=1,
                                                  provider_timestamp="2026-11-25T10:00:00Z")),
        o.RejectedDetail(**common(o.RejectedDetail, Status.REJECTED), status=Status.REJECTED, is_final=True,
                         reason="to: bad"),
        o.BlockedDetail(**common(o.BlockedDetail, Status.BLOCKED), status=Status.BLOCKED, is_final=True,
                        reason="opted out"),
        o.FailedDetail(**common(o.FailedDetail, Status.FAILED), status=Status.FAILED, is_final=True,
                       reason="outcome unknown"),
        o.CancelledDetail(**common(o.CancelledDetail, Status.CANCELLED), status=Status.CANCELLED, is_final=True,
                          cancel_results={"r1": "success"}),
        o.CancelFailedDetail(**common(o.CancelFailedDetail, Status.DELIVERED), status=Status.DELIVERED, is_final=True,
                             reason="too late", cancel_results={"r1": "failed"}),
        o.CancelFailedDetail(**common(o.CancelFailedDetail, None, "m-2"), status=None, is_final=False,
                             reason="unknown message", cancel_results={}),
        o.ScheduledDetail(**common(o.ScheduledDetail, Status.SCHEDULED), status=Status.SCHEDULED, is_final=False,
                          due_at="2026-11-26T09:00:00Z", valid_until=None),
        o.ExpiredDetail(**common(o.ExpiredDetail, Status.EXPIRED), status=Status.EXPIRED, is_final=True,
                        reason="not sent before", valid_until="2026-11-26T09:05:00Z"),
        inb.ReceivedDetail(**ev.stamp(inb.ReceivedDetail, "r9", "received", "", now=NOW), message_id="r9",
                           metadata={}, msg_refs=["r9"], status="received", is_final=True, direction="receive",
                           from_="447700900123", to="447700900001", type="mms", content=None, msg_media=["a.png"],
                           multipart=None, provider_timestamp=None),
        md.MediaArchivedDetail(**ev.stamp(md.MediaArchivedDetail, "r9", "", now=NOW), message_id="r9",
                               msg_refs=["r9"], from_="447700900123", to="447700900001",
                               files=[md.ArchivedFile(name="a.png", bucket="b", size=10, content_type="image/png",
                                                      key="inbound/2026/11/25/r9/01-a.png")],
                               missing=[md.MissingFile(name="b.png", reason="gone")]),
    ]] + [ev.opt_out_event(from_="447700900001", to="447700900123", blocked=True, source="inbound",
                           keyword="STOP", now=NOW)]


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
    original = failed_event("m-1", {}, reason, NOW)
    item = {"message_id": "m-1", "status": RETRYABLE, "rank": 0, "outbox": {original.detail["eventId"]},
            f"ob_{original.detail['eventId']}": {"t": original.detail_type, "d": json.dumps(original.detail)}}
    # when the item is read back (the reconciler, a redelivery)
    replayed = list(MessageRecord.from_item(item).outbox.values())
    # then it is the same event, to the letter (eventId, timestamp, reason), still valid
    assert [(e.detail_type, e.detail) for e in replayed] == [(ev.MESSAGE_FAILED, original.detail)]
    validate(replayed[0])


def test_event_id_differs_between_facts() -> None:
    a = failed_event("m", {}, "outcome unknown", NOW, identity="r1:failed")
    b = failed_event("m", {}, "outcome unknown", NOW, identity="r2:failed")
    assert a.detail["eventId"] != b.detail["eventId"]


def test_shipped_schemas_are_the_models() -> None:
    # given the models / when schemas/ is generated / then every shipped file is what they say (make schemas)
    expected = generated()
    shipped = {str(p.relative_to(ROOT / "schemas")): p.read_text() for p in (ROOT / "schemas").rglob("*.json")}
    assert shipped == expected


def test_a_detail_that_breaks_its_model_is_refused_when_built() -> None:
    # given a Message Submitted whose status is not queued, and a cancel result Aculab never gives
    # when each is built / then the model refuses it before it can be published (and mypy before it runs)
    fields: dict[str, Any] = {**ev.stamp(o.SubmittedDetail, "m", now=NOW), "message_id": "m", "metadata": {},
                              "msg_refs": []}
    with pytest.raises(ValidationError, match="status"):
        o.SubmittedDetail(**fields, status=Status.DELIVERED, is_final=True)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="cancel_results"):
        o.CancelFailedDetail(**fields, status=Status.SENT, is_final=False,
                             cancel_results={"r1": "maybe"})  # type: ignore[dict-item]


def test_a_detail_with_a_field_its_model_lacks_or_a_value_of_another_type_is_refused() -> None:
    # given the fields every Message Failed carries
    fields: dict[str, Any] = {**ev.stamp(o.FailedDetail, "m", now=NOW), "message_id": "m", "metadata": {},
                              "status": Status.FAILED, "is_final": True}
    assert o.FailedDetail(**fields, msg_refs=["r1"]).msg_refs == ["r1"]
    # when one names a field the model does not have, or gives msgRefs a number
    # then it is refused when built (and by mypy before it runs)
    with pytest.raises(ValidationError, match="extra_forbidden"):
        o.FailedDetail(**fields, msg_refs=["r1"], cancel_results={})  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="msg_refs"):
        o.FailedDetail(**fields, msg_refs=42)  # type: ignore[arg-type]


def test_each_detail_model_knows_its_detail_type() -> None:
    # given every detail type / then its model says it (the one an Event of it goes out under)
    for detail_type in ev.DETAIL_TYPES:
        assert ev.detail_model(detail_type).detail_type == detail_type
    failed = o.FailedDetail(**ev.stamp(o.FailedDetail, "m", Status.FAILED, "", now=NOW), message_id="m",
                            metadata={}, msg_refs=[], status=Status.FAILED, is_final=True)
    assert ev.Event.of(failed).detail_type == ev.MESSAGE_FAILED


def test_metadata_numbers_stay_numbers_on_the_wire() -> None:
    event = failed_event("m", {"n": 42, "price": 1.5, "tags": ["a"]}, "outcome unknown", NOW)
    detail = json.loads(event.entry("bus", "src")["Detail"])
    assert detail["metadata"] == {"n": 42, "price": 1.5, "tags": ["a"]}


def test_queue_schema_accepts_the_readme_example() -> None:
    example = {"version": "1", "action": "send", "message_id": "order-42", "to": "+44 7700 900123",
               "from": "447700900001", "type": "sms", "content": "Shipped", "request_delivery_report": True,
               "metadata": {"orderId": "42"}}
    jsonschema.validate(example, queue_json_schema())
