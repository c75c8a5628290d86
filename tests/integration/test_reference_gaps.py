"""Where Aculab's reference is silent (issue 24 items 6 and 7), through the
whole stack: the simulator, the gateway, the functions on moto server."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message

EMOJI = "\U0001f600"


def test_an_unlisted_status_spelling_is_acknowledged_and_changes_nothing(app: LocalApp, sim: SimulatorControl) -> None:
    # given Aculab spells "delivered" in a way the reference does not list
    # (a minute for each answer: the test is about what the webhook answers, not how fast a busy machine's
    # first, cold answer comes; a slow one would be retried and counted below)
    sim.configure(status_spellings={"delivered": "handset delivered"}, notify_timeout=60)
    mid = queue_send(app)  # with a delivery report: submitted, sent, then the odd spelling
    drain_queue(app)
    sim.settle()
    # then every update was answered 200 at the first attempt (nothing for Aculab to retry) ...
    stats = sim.stats()
    assert stats["notifications_delivered"] == 3
    assert stats.get("notification_retries", 0) == 0 and stats.get("notifications_failed", 0) == 0
    # ... and the message stays where the updates we understand put it, for the reconciler to settle
    item = stored_message(app, mid)
    assert item is not None and item["status"] == "sent"
    assert [p["provider_status"] for p in item["parts"].values()] == ["sent"]  # type: ignore[union-attr]
    assert "pending_pk" in item


def test_unlisted_answers_are_counted_in_metrics(app: LocalApp) -> None:
    from aculab_messaging.api.webhook.http import HttpRequest
    from aculab_messaging.runtime.metrics import RecordingMetrics
    from aculab_messaging.runtime.wiring import build_webhook

    metrics = RecordingMetrics()
    app.apply_environment("webhook")
    service = build_webhook(metrics=metrics)
    auth = "Basic " + base64.b64encode(f"aculab:{app.webhook_password}".encode()).decode()
    body = {"msg_ref": "r-odd", "status": "teleported", "direction": "send", "aculab_msg_err": "999"}
    answer = service.handle(HttpRequest("POST", "mid=m-odd", {"authorization": auth,
                                                              "content-type": "application/json"},
                                        json.dumps(body).encode()))
    assert answer.status == 200
    assert metrics.counts == {"UnknownAculabStatus": 1, "UnknownAculabMsgErr": 1, "NotificationAccepted": 1}


def test_the_largest_sms_the_contract_allows_is_sent_and_its_last_part_tracked(
    app_factory: Any, sim: SimulatorControl
) -> None:
    # given a stack whose MaxPartsPerMessage allows what the contract does (the default is 10), and the largest
    # sms the contract takes: 255 UCS-2 parts of 33 emoji, sent without status updates
    app = app_factory(MAX_PARTS_PER_MESSAGE="255")
    sim.configure(step_seconds=3600)
    mid = queue_send(app, content=EMOJI * (33 * 255))
    drain_queue(app)
    item = stored_message(app, mid)
    assert item is not None and item["status"] == "queued" and len(item["refs"]) == 255  # type: ignore[arg-type]
    # when Aculab reports its last part (position 255 of 255)
    (message,) = sim.messages()
    last = message["parts"][-1]
    answer = requests.post(f"{app.webhook_url}?mid={mid}&dlr=1", timeout=30, auth=("aculab", app.webhook_password),
                           json={"msg_ref": last["ref"], "status": "sent", "direction": "send", "type": "sms",
                                 "multipart_uid": last["uid"], "multipart_pos": last["pos"],
                                 "multipart_count": last["count"], "aculab_msg_err": "000"})
    # then the update is taken, not refused for its part count
    assert (last["pos"], last["count"], answer.status_code) == (255, 255, 200)
    item = stored_message(app, mid)
    assert item is not None and item["parts"][last["ref"]]["status"] == "sent"  # type: ignore[index]
