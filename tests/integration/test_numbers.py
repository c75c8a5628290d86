"""Phone numbers over moto (IAM enforced) and the simulator: E.164 with '+'
from the edge on, Aculab's form (no '+') on the wire alone, and an inbound
message from any sender Aculab delivers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from aculab_messaging.dal import TableStore
from local.app import LocalApp
from local.template import REGION
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, stored_message
from tools.producer import Producer
from tools.status_client import get_message

US, MOBILE = "447700900001", "447700900123"  # Aculab's form


def de_stack(app_factory: Any) -> tuple[LocalApp, Producer]:
    """A stack whose DefaultRegion is DE (the send function's DEFAULT_REGION), and the producer helper."""
    app: LocalApp = app_factory(DEFAULT_REGION="DE")
    assert app.environment("send")["DEFAULT_REGION"] == "DE"
    return app, Producer(app.stack.refs["SendQueue"], app.stack.client("sqs"))


def test_under_default_region_de_a_producer_send_reaches_aculab_with_its_number(
    app_factory: Any, sim: SimulatorControl
) -> None:
    app, producer = de_stack(app_factory)
    # when the producer helper queues a send to a UK mobile
    mid = producer.send_sms(to="+44 7700 900123", from_="+44 7700 900001", content="hi", message_id="n-now")
    drain_queue(app)
    # then Aculab got it for the UK mobile in its form (not 49447700900123), from our number
    assert [(m["to"], m["from"]) for m in sim.messages()] == [(MOBILE, US)]
    # and the stack keeps and shows the numbers in E.164 with '+'
    item = stored_message(app, mid)
    assert item is not None and (item["to"], item["from"]) == ("+" + MOBILE, "+" + US)
    view = get_message(app.messages_url, mid,
                       session=boto3.session.Session(region_name=REGION, **app.stack.admin_credentials))
    assert (view["to"], view["from"]) == ("+4477*****123", "+" + US)


def test_under_default_region_de_a_scheduled_producer_send_reaches_aculab_with_its_number(
    app_factory: Any, sim: SimulatorControl
) -> None:
    app, producer = de_stack(app_factory)
    # when the producer helper queues a send to a UK mobile due in two hours (beyond SQS's 15 minutes)
    mid = producer.send_sms(to="+44 7700 900123", from_="+44 7700 900001", content="hi", message_id="n-later",
                            send_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())
    drain_queue(app)
    # and its schedule fires (the clock moves, nobody waits), its body read again by the send function
    (name,) = [s["Name"] for s in app.stack.client("scheduler").list_schedules(
        GroupName=app.stack.refs["SendSchedules"])["Schedules"]]
    assert app.scheduler_runner().fire_due(datetime.now(UTC) + timedelta(hours=2, seconds=1)) == [name]
    drain_queue(app)
    # then Aculab got it for the UK mobile, and the stack keeps it in E.164
    assert [(m["to"], m["from"]) for m in sim.messages()] == [(MOBILE, US)]
    item = stored_message(app, mid)
    assert item is not None and (item["to"], item["from"]) == ("+" + MOBILE, "+" + US)


def post_inbound(app: LocalApp, **fields: Any) -> requests.Response:
    body = {"msg_ref": "in-1", "status": "received", "direction": "receive", "type": "sms", "to": US,
            "content": "STOP", "timestamp": "2026-11-25_10:00:00", "aculab_msg_err": "000", **fields}
    return requests.post(app.inbound_url, json=body, timeout=10)


@pytest.mark.parametrize("sender", ["80012", "BANK"])
def test_an_inbound_stop_from_a_short_code_or_a_sender_name_is_stored_announced_and_blocks_nothing(
    app: LocalApp, sender: str
) -> None:
    tail = app.event_tail()
    # when a short code or an alphanumeric sender texts STOP to our number (issue 24 item 5)
    assert post_inbound(app, msg_ref="in-1", **{"from": sender}).status_code == 200
    # then it is stored and announced with its sender as given, our number in E.164
    item = app.stack.client("dynamodb").get_item(TableName=app.stack.refs["MessagesTable"],
                                                 Key={"pk": {"S": "IN#in-1"}, "sk": {"S": "IN"}})["Item"]
    assert (item["from"]["S"], item["to"]["S"]) == (sender, "+" + US)
    assert tail.wait_for(lambda evs: len(evs) >= 1)
    tail.drain(wait_seconds=1)
    assert [(e["detail-type"], e["detail"]["from"], e["detail"]["to"]) for e in tail.received] == [
        ("Message Received", sender, "+" + US)]
    # and no pair was blocked: no Opt-Out Changed, nothing blocked for our number
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    assert not store.blocked.blocked_for("+" + US)


def test_an_inbound_stop_from_a_mobile_blocks_the_pair_in_e164(app: LocalApp) -> None:
    tail = app.event_tail()
    assert post_inbound(app, msg_ref="in-2", **{"from": MOBILE}).status_code == 200
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    assert store.blocked.is_blocked("+" + US, "+" + MOBILE) and not store.blocked.is_blocked(US, MOBILE)
    assert tail.wait_for(lambda evs: len(evs) >= 2)
    opt_out = next(e["detail"] for e in tail.received if e["detail-type"] == "Opt-Out Changed")
    assert (opt_out["from"], opt_out["to"], opt_out["blocked"]) == ("+" + US, "+" + MOBILE, True)


@pytest.mark.parametrize("sender", ["", "   ", "BANK\u0007", "+4477", "x" * 33])
def test_only_a_malformed_inbound_notification_is_400(app: LocalApp, sender: str) -> None:
    response = post_inbound(app, msg_ref="in-bad", **{"from": sender})
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
    assert "Item" not in app.stack.client("dynamodb").get_item(
        TableName=app.stack.refs["MessagesTable"], Key={"pk": {"S": "IN#in-bad"}, "sk": {"S": "IN"}})


def test_a_query_string_inbound_from_a_sender_name_is_kept(app: LocalApp) -> None:
    # the GET form Aculab may use: same rule
    query = {"msg_ref": "in-3", "status": "received", "direction": "receive", "type": "sms", "to": US,
             "from": "Shop 42", "content": "hello"}
    assert requests.get(app.inbound_url, params=query, timeout=10).status_code == 200
    item = app.stack.client("dynamodb").get_item(TableName=app.stack.refs["MessagesTable"],
                                                 Key={"pk": {"S": "IN#in-3"}, "sk": {"S": "IN"}})["Item"]
    assert item["from"]["S"] == "Shop 42"  # stored as given, space and all
