"""Campaigns on the local stack: the send function (its own role, moto with IAM enforced, the campaign
index, EventBridge Scheduler's API) cancels a campaign's messages not yet at Aculab, those still on the
queue included; the messages function answers GET /campaigns/{campaign_id} behind the gateway's AWS_IAM
authorizer; a campaign's pace is kept on its own item."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message
from tests.integration.test_message_status import admin, user
from tests.integration.test_scheduled_sends import schedules, types
from tools.status_client import StatusLookupError, campaigns_url, get_message


def cancel_campaign(app: LocalApp, campaign_id: str) -> None:
    app.stack.client("sqs").send_message(QueueUrl=app.stack.refs["SendQueue"], MessageBody=json.dumps(
        {"action": "cancel", "campaign_id": campaign_id}))


def test_a_campaign_is_cancelled_whole_and_its_progress_counted(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)  # Aculab's status updates held: the events asserted are the send path's
    tail = app.event_tail()
    # given a campaign's message sent now, another scheduled in two hours, and a message of no campaign
    sent = queue_send(app, campaign_id="spring")
    later = queue_send(app, campaign_id="spring", send_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())
    other = queue_send(app)
    drain_queue(app)
    assert len(schedules(app)) == 1
    # when the campaign is cancelled, and one more of its messages comes off the queue after
    cancel_campaign(app, "spring")
    drain_queue(app)
    unseen = queue_send(app, campaign_id="spring")
    drain_queue(app)
    # then the scheduled one is cancelled (its schedule gone) and the unseen one never sent; the one at
    # Aculab and the message of no campaign are left alone
    assert [stored_message(app, m)["status"] for m in (sent, later, unseen, other)] == [  # type: ignore[index]
        "queued", "cancelled", "cancelled", "queued"]
    assert schedules(app) == [] and sim.stats()["calls_msg_send"] == 2 and sim.stats().get("calls_msg_cancel", 0) == 0
    assert tail.wait_for(lambda evs: types(evs).count("Message Cancelled") == 2)
    cancelled = {e["detail"]["messageId"]: e["detail"]["reason"] for e in tail.of_type("Message Cancelled")}
    assert cancelled == {later: "campaign cancelled", unseen: "campaign cancelled"}
    # and its owner, signed, reads its progress; the index is eventually consistent: moto's is not behind
    view = get_message(campaigns_url(app.messages_url), "spring", session=admin(app))
    assert view["campaignId"] == "spring" and view["byStatus"] == {"cancelled": 2, "queued": 1}
    assert (view["messages"], view["final"]) == (3, 2) and view["cancelledAt"] is not None
    with pytest.raises(StatusLookupError) as unknown:
        get_message(campaigns_url(app.messages_url), "autumn", session=admin(app))
    assert unknown.value.status == 404


def test_a_caller_not_allowed_the_route_reads_no_campaign(app: LocalApp, sim: SimulatorControl) -> None:
    queue_send(app, campaign_id="spring")
    drain_queue(app)
    # given a user allowed GET /messages/* only: the campaigns route is another resource
    only_messages = user(app, "messages-reader", [{"Effect": "Allow", "Action": "execute-api:Invoke",
                                                  "Resource": "arn:aws:execute-api:*:*:*/$default/GET/messages/*"}])
    with pytest.raises(StatusLookupError) as denied:
        get_message(campaigns_url(app.messages_url), "spring", session=only_messages)
    assert denied.value.status == 403
    assert get_message(campaigns_url(app.messages_url), "spring", session=admin(app))["messages"] == 1


def test_a_campaigns_pace_is_kept_on_its_own_item(app: LocalApp, sim: SimulatorControl) -> None:
    # given a stack with no pace of its own, and a campaign that asks for 50 sends a second
    sim.configure(step_seconds=3600)
    before = datetime.now(UTC)
    ids = [queue_send(app, campaign_id="spring", campaign_max_per_second=50) for _ in range(3)]
    drain_queue(app)
    # then all three went, and the campaign's next slot (µs) is three intervals (20 ms and a margin) or more
    # past the first send, on the campaign's own pace item, written with the send function's role
    assert [stored_message(app, m)["status"] for m in ids] == ["queued"] * 3  # type: ignore[index]
    item = app.stack.client("dynamodb").get_item(TableName=app.stack.refs["MessagesTable"],
                                                 Key={"pk": {"S": "CAMPAIGN#spring"}, "sk": {"S": "PACE"}})["Item"]
    next_slot = datetime.fromtimestamp(int(item["c"]["N"]) / 1e6, UTC)
    assert next_slot >= before + timedelta(milliseconds=60)
