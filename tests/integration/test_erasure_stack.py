"""Erasure over the local stack (moto with IAM enforced, the simulator, the deployed handlers): messages
sent to and received from two mobiles, media archived, one mobile's STOP; the erase function, invoked
through Lambda's Invoke API as `make erase` and an operator invoke it, removes everything of one mobile and
nothing of the other, keeps its opt-out (a send to it is still blocked), records the erasure without the
number, and a second run changes nothing. The archive keeps no event with numbers or text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local.app import LocalApp
from local.template import REGION
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message
from tests.integration.test_media_archive import run_media
from tools.erase import EraseError, erase

US, ERASED, KEPT = "447700900001", "447700900123", "447700900456"


def _items(app: LocalApp) -> list[dict[str, Any]]:
    from aculab_messaging.dal.table import from_item

    pages = app.stack.client("dynamodb").get_paginator("scan").paginate(TableName=app.stack.refs["MessagesTable"])
    return [from_item(i) or {} for page in pages for i in page["Items"]]


def _holding(app: LocalApp, mobile: str) -> list[tuple[str, str]]:
    return sorted((str(i["pk"]), str(i["sk"])) for i in _items(app) if f"+{mobile}" in (i.get("to"), i.get("from")))


def _media(app: LocalApp) -> list[str]:
    s3 = app.stack.client("s3")
    answer = s3.list_object_versions(Bucket=app.stack.refs["MediaBucket"], Prefix="inbound/")
    return sorted(v["Key"] for v in [*answer.get("Versions", []), *answer.get("DeleteMarkers", [])])


def _seed(app: LocalApp, sim: SimulatorControl, mobile: str) -> dict[str, Any]:
    """A message sent to the mobile (delivered), a text and an MMS from it (its file archived)."""
    message_id = queue_send(app, to=mobile)
    drain_queue(app)
    text = sim.inbound(mobile, US, "hello there")
    mms = sim.inbound(mobile, US, "look", "mms", ["photo.png"])
    sim.settle()
    return {"message_id": message_id, "refs": list(stored_message(app, message_id)["refs"]),  # type: ignore[index]
            "inbound": [text, mms]}


def test_erasing_a_number_removes_all_of_it_and_keeps_its_opt_out(app: LocalApp, sim: SimulatorControl) -> None:
    # given two mobiles with messages both ways and archived media, and a STOP from the one to be erased
    sim.configure(step_seconds=0.05)
    erased, kept = _seed(app, sim, ERASED), _seed(app, sim, KEPT)
    sim.inbound(ERASED, US, "STOP")
    sim.settle()
    assert run_media(app) == 2
    assert len([k for k in _media(app) if f"/{erased['inbound'][1]}/" in k]) == 1
    kept_items = [i for i in _items(app) if f"+{KEPT}" in (i.get("to"), i.get("from"))
                  or str(i["pk"]) in {f"REF#{r}" for r in kept["refs"]}]
    kept_media = [k for k in _media(app) if f"/{kept['inbound'][1]}/" in k]
    assert len(kept_items) >= 4 and len(kept_media) == 1
    # when an operator erases it through Lambda's Invoke API (make erase does the same)
    admin = boto3.session.Session(region_name=REGION, **app.stack.admin_credentials)
    api = app.start_lambda_api()
    answer = erase(app.function_name("erase"), f"+44 {ERASED[2:6]} {ERASED[6:]}", session=admin,
                   endpoint_url=api.base_url)
    # then every message, ref, inbound message and file of it is gone, but its opt-out (a message's key stays,
    # a tombstone holding no number: a copy of its request still on the queue is a duplicate, never sent)
    assert _holding(app, ERASED) == [(f"BLOCK#+{US}", f"TO#+{ERASED}")]
    refs = {f"REF#{r}" for r in erased["refs"]}
    assert not [i for i in _items(app) if str(i["pk"]) in refs]
    assert not [k for k in _media(app) if f"/{erased['inbound'][1]}/" in k]
    assert answer["complete"] is True and answer["counts"] == {
        "messages": 1, "refs": len(erased["refs"]), "inbound_messages": 3, "inbound_groups": 0,
        "media_objects": 1, "opt_ins_removed": 0, "opt_outs_kept": 1, "schedules": 0, "other_kept": 0}
    # and the other mobile's items and file are untouched
    assert [i for i in _items(app) if i in kept_items] == kept_items
    assert [k for k in _media(app) if k in kept_media] == kept_media
    # and the erasure is recorded under the number's keyed hash, the number nowhere in it
    (record,) = [i for i in _items(app) if str(i["pk"]).startswith("ERASURE#")]
    assert record["pk"] == f"ERASURE#{answer['numberHash']}" and record["complete"] is True
    assert ERASED[-6:] not in json.dumps(record) + json.dumps(answer)
    # and the opt-out still stops a send to it
    blocked = queue_send(app, to=ERASED)
    drain_queue(app)
    assert (stored_message(app, blocked) or {}).get("status") == "blocked"
    # when it is erased again / then nothing more is found and nothing else changes
    before = [i for i in _items(app) if not str(i["pk"]).startswith("ERASURE#")]
    again = erase(app.function_name("erase"), ERASED, session=admin, endpoint_url=api.base_url)
    assert again["counts"] == {**dict.fromkeys(answer["counts"], 0), "messages": 1, "opt_outs_kept": 1}
    assert [i for i in _items(app) if not str(i["pk"]).startswith("ERASURE#") and i.get("message_id") != blocked] == [
        i for i in before if i.get("message_id") != blocked]  # only the blocked send's own item changed:
    assert (stored_message(app, blocked) or {}).get("status") == "erased"  # a tombstone of its key, no number
    assert again["numberHash"] == answer["numberHash"] and again["erasureId"] != answer["erasureId"]


def test_only_a_caller_granted_the_function_may_invoke_it(app: LocalApp) -> None:
    # given the webhook's own role (no lambda:InvokeFunction) / then the invoke is refused, nothing runs
    webhook = boto3.session.Session(region_name=REGION, **app.stack.function_credentials["WebhookFunction"])
    api = app.start_lambda_api()
    with pytest.raises(Exception, match=r"AccessDenied|not authorized"):
        erase(app.function_name("erase"), ERASED, session=webhook, endpoint_url=api.base_url)
    assert not [i for i in _items(app) if str(i["pk"]).startswith("ERASURE#")]
    # and a number that is not one is refused by the function, without echoing it
    admin = boto3.session.Session(region_name=REGION, **app.stack.admin_credentials)
    with pytest.raises(EraseError, match="phone is not a phone number") as caught:
        erase(app.function_name("erase"), "12345678901234567890", session=admin, endpoint_url=api.base_url)
    assert "1234567890" not in str(caught.value)


def test_the_archive_keeps_no_event_with_numbers_or_text(app: LocalApp) -> None:
    from aculab_messaging.contracts.events import opt_out_event
    from aculab_messaging.logic.tracking import failed_event

    # given events with numbers (an opt-out change) and without (a failure), put on the bus
    events = app.stack.client("events")
    archive = events.describe_archive(ArchiveName=app.stack.refs["MessagingBusArchive"])
    tail = app.event_tail("replaying-consumer")
    start = datetime.now(UTC) - timedelta(seconds=5)
    kept = failed_event("m-archived", {}, "outcome unknown", datetime.now(UTC))
    personal = opt_out_event(from_=f"+{US}", to=f"+{ERASED}", blocked=True, source="inbound", keyword="STOP")
    events.put_events(Entries=[e.entry(app.stack.refs["MessagingBus"], "aculab.messaging") for e in (kept, personal)])
    assert len(tail.drain(wait_seconds=2)) == 2
    # when the window is replayed from the archive
    events.start_replay(ReplayName="erasure-window", EventSourceArn=archive["ArchiveArn"],
                        EventStartTime=start, EventEndTime=datetime.now(UTC) + timedelta(seconds=1),
                        Destination={"Arn": app.stack.attrs[("MessagingBus", "Arn")]})
    # then only the event without a number was archived (ArchivePersonalData's default, false)
    assert [e["detail"]["eventId"] for e in tail.drain(wait_seconds=2)] == [kept.detail["eventId"]]
