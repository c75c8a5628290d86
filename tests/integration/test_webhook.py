"""Webhook ingest through the HTTP gateway, moto server and the simulator."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from aculab_messaging.contracts.events import DETAIL_TYPES
from aculab_messaging.dal import TableStore
from local.app import LocalApp
from simulator.control import SimulatorControl
from tests import seeding
from tests.faults import FaultProxy, put_events_fail_entries
from tests.integration.conftest import drain_queue, queue_send, stored_message

ROOT = Path(__file__).resolve().parents[2]
US, MOBILE = "447700900001", "447700900123"  # Aculab's form
PAIR = ("+" + US, "+" + MOBILE)  # our number and the mobile as blocked pairs are keyed: E.164 with '+'


def item_count(app: LocalApp) -> int:
    ddb = app.stack.client("dynamodb")
    return int(ddb.scan(TableName=app.stack.refs["MessagesTable"], Select="COUNT")["Count"])


def schema_for(detail_type: str) -> dict[str, Any]:
    return json.loads((ROOT / "schemas" / "events" / (detail_type.lower().replace(" ", "-") + ".json")).read_text())


class ContractTails:
    """One EventBridge rule per detail-type, as a consumer would write it
    ({"source": [...], "detail-type": [...]}), each to its own queue."""

    def __init__(self, app: LocalApp) -> None:
        self.tails = {dt: app.event_tail(f"contract-{dt.lower().replace(' ', '-')}", [dt]) for dt in DETAIL_TYPES}

    def check(self, events: list[dict[str, Any]]) -> None:
        """Each event validates against its schema and reached its detail-type's rule."""
        for tail in self.tails.values():
            tail.drain()
        for envelope in events:
            jsonschema.validate(envelope["detail"], schema_for(envelope["detail-type"]))
            caught = self.tails[envelope["detail-type"]].received
            assert any(e["id"] == envelope["id"] for e in caught), envelope["detail-type"]


def post_status(app: LocalApp, mid: str, payload: dict[str, Any], auth: tuple[str, str] | None = None
                ) -> requests.Response:
    return requests.post(f"{app.webhook_url}?mid={mid}&dlr=1", json=payload, timeout=10,
                         auth=auth or ("aculab", app.webhook_password))


def test_ingest_three_part_ucs2_message_to_delivered(app: LocalApp, sim: SimulatorControl) -> None:
    # given a 3-part UCS-2 message sent through the send function
    tail, contract = app.event_tail(), ContractTails(app)
    mid = queue_send(app, content="ж" * 150)
    drain_queue(app)
    # when the simulated carrier delivers it and posts every part's updates
    sim.settle()
    # then every part and the message are delivered, and the events say so
    item = stored_message(app, mid)
    assert item is not None
    assert item["status"] == "delivered"
    assert len(item["parts"]) == 3  # type: ignore[arg-type]
    assert {p["status"] for p in item["parts"].values()} == {"delivered"}  # type: ignore[union-attr]
    assert "pending_pk" not in item  # left the reconciler's index
    def parts_delivered(evs: list[dict[str, Any]]) -> int:
        return len({e["detail"]["part"]["msgRef"] for e in evs if e["detail-type"] == "Message Status Changed"
                    and e["detail"]["part"]["status"] == "delivered"})

    assert tail.wait_for(lambda evs: parts_delivered(evs) == 3)
    positions = {e["detail"]["part"]["position"] for e in tail.of_type("Message Status Changed")}
    assert positions == {1, 2, 3}
    finals = [e for e in tail.of_type("Message Status Changed") if e["detail"]["isFinal"]]
    assert len(finals) == 1 and finals[0]["detail"]["status"] == "delivered"
    contract.check(tail.received)


def test_ingest_mms_failure_with_error_meaning(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(fail_rules=[{"to_prefix": "4477009009", "aculab_msg_err": "204", "reason": "invalid destination",
                               "at": "sent"}])
    tail, contract = app.event_tail(), ContractTails(app)
    mid = queue_send(app, to="447700900999", type="mms", content=None, msg_media=["a.png"], metadata={"o": 7})
    drain_queue(app)
    sim.settle()
    item = stored_message(app, mid)
    assert item is not None and item["status"] == "failed"
    assert tail.wait_for(lambda evs: any(e["detail"]["status"] == "failed" for e in evs))
    failed = next(e for e in tail.received if e["detail"]["status"] == "failed")
    assert failed["detail"]["aculabMsgErr"] == {"code": "204", "meaning": "Invalid destination number."}
    assert failed["detail"]["providerStatus"] == "failed (invalid destination)"
    assert failed["detail"]["metadata"] == {"o": 7}
    contract.check(tail.received)


def test_ingest_duplicates_and_reversed_order_leave_same_final_state(app: LocalApp, sim: SimulatorControl) -> None:
    # given a sent message whose carrier notifications we replay by hand
    sim.configure(step_seconds=3600)  # the simulator itself stays quiet
    mid = queue_send(app)
    drain_queue(app)
    ref = str(stored_message(app, mid)["refs"][0])  # type: ignore[index]
    base = {"msg_ref": ref, "to": MOBILE, "from": US, "direction": "send", "type": "sms", "aculab_msg_err": "000"}
    tail = app.event_tail()
    # when they arrive newest first, each twice
    for status in ["delivered", "delivered", "sent", "submitted to carrier", "sent", "delivered"]:
        assert post_status(app, mid, {**base, "status": status}).status_code == 200
    # then the state is delivered and never went back
    item = stored_message(app, mid)
    assert item is not None and item["status"] == "delivered"
    assert tail.wait_for(lambda evs: len(evs) >= 3)
    statuses = [e["detail"]["status"] for e in tail.received]
    assert set(statuses) == {"delivered"}  # the duplicates re-publish the same event, the older ones nothing
    assert len({e["detail"]["eventId"] for e in tail.received}) == 1


def test_ingest_with_simulator_duplicates_and_reordering(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(notify_duplicate_rate=1.0, notify_reorder_seconds=0.3, seed=7)
    mids = [queue_send(app, content="ж" * 100) for _ in range(3)] + [queue_send(app) for _ in range(3)]
    drain_queue(app)
    sim.settle()
    truth = {m["parts"][0]["ref"]: m for m in sim.messages()}
    for mid in mids:
        item = stored_message(app, mid)
        assert item is not None and "parts" in item, (mid, {k: item.get(k) for k in (  # type: ignore[union-attr]
            "status", "reason", "history", "lease_until", "attempts")} if item else None)
        for ref, part in item["parts"].items():  # type: ignore[union-attr]
            sim_parts = {p["ref"]: p for m in truth.values() for p in m["parts"]}
            assert part["status"] == sim_parts[ref]["status"] == "delivered"
        assert item["status"] == "delivered"


def test_reject_wrong_or_missing_credentials_storing_nothing(app: LocalApp) -> None:
    before = item_count(app)
    payload = {"msg_ref": "r1", "status": "received", "to": US, "from": MOBILE, "direction": "receive",
               "type": "sms", "content": "hi"}
    assert requests.post(app.webhook_url, json=payload, timeout=10).status_code == 401
    assert post_status(app, "m", payload, auth=("aculab", "wrong")).status_code == 401
    assert requests.post(app.inbound_url.replace(app.inbound_token, "not-the-token"), json=payload,
                         timeout=10).status_code == 401
    assert item_count(app) == before


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"msg_ref": "r1"}',  # an unrecognised status is answered 200: test_unknown_answers.py
     b"[1]", b'{"msg_ref": "r1", "status": "sent", "multipart_pos": -1}'],
)
def test_reject_bad_input_with_400_storing_nothing(app: LocalApp, body: bytes) -> None:
    before = item_count(app)
    response = requests.post(app.webhook_url + "?mid=m", data=body, timeout=10, auth=("aculab", app.webhook_password),
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert item_count(app) == before


def test_a_body_over_the_limit_is_413_and_a_401_says_how_to_authenticate(app: LocalApp) -> None:
    before = item_count(app)
    big = requests.post(app.webhook_url + "?mid=m", data=b"x" * 70000, timeout=10,
                        auth=("aculab", app.webhook_password), headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error"] == "payload_too_large"
    refused = requests.post(app.webhook_url + "?mid=m", json={}, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="aculab"'
    assert item_count(app) == before


def test_a_path_token_that_is_not_text_is_401(app: LocalApp) -> None:
    from local.gateway import Route, build_event

    event = build_event("POST", "/aculab/x/notify", "", {"content-type": "application/json"}, b"{}",
                        Route("POST", "/aculab/{token}/notify"), {"token": "\udcff\udcfe"}, "127.0.0.1")
    assert app.invoke("webhook", event)["statusCode"] == 401


def test_unknown_message_is_404(app: LocalApp) -> None:
    payload = {"msg_ref": "nope", "status": "sent", "to": MOBILE, "from": US, "direction": "send", "type": "sms"}
    assert post_status(app, "no-such-message", payload).status_code == 404
    assert requests.post(app.webhook_url, json=payload, timeout=10,
                         auth=("aculab", app.webhook_password)).status_code == 404


def test_put_events_failure_is_not_acknowledged_and_retry_publishes(
    app_factory: Any, aws: str, sim: SimulatorControl
) -> None:
    # given the functions reach AWS through a proxy that can fail PutEvents
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url)
    tail = app.event_tail()
    sim.configure(step_seconds=3600)
    mid = queue_send(app, request_delivery_report=False)
    drain_queue(app)
    ref = str(stored_message(app, mid)["refs"][0])  # type: ignore[index]
    payload = {"msg_ref": ref, "status": "sent", "to": MOBILE, "from": US, "direction": "send", "type": "sms"}
    # when PutEvents reports a failed entry
    proxy.fail(put_events_fail_entries(1))
    first = requests.post(f"{app.webhook_url}?mid={mid}&dlr=0", json=payload, timeout=10,
                          auth=("aculab", app.webhook_password))
    # then the update is stored but not acknowledged
    assert first.status_code == 503
    assert stored_message(app, mid)["status"] == "sent"  # type: ignore[index]
    assert not tail.wait_for(lambda evs: any(e["detail-type"] == "Message Status Changed" for e in evs), 1)
    # when Aculab retries, the already-stored update still gets its event
    second = requests.post(f"{app.webhook_url}?mid={mid}&dlr=0", json=payload, timeout=10,
                           auth=("aculab", app.webhook_password))
    assert second.status_code == 200
    assert tail.wait_for(lambda evs: any(e["detail-type"] == "Message Status Changed" and e["detail"]["isFinal"]
                                         for e in evs))
    proxy.close()


def test_inbound_stop_and_start_update_blocked_pairs(app: LocalApp, sim: SimulatorControl) -> None:
    tail, contract = app.event_tail(), ContractTails(app)
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    sim.inbound(MOBILE, US, "STOP")
    sim.settle()
    assert store.blocked.is_blocked(*PAIR)
    assert tail.wait_for(lambda evs: any(e["detail-type"] == "Opt-Out Changed" for e in evs))
    sim.inbound(MOBILE, US, "start")
    sim.settle()
    assert not store.blocked.is_blocked(*PAIR)
    assert tail.wait_for(lambda evs: len(tail.of_type("Opt-Out Changed")) == 2)
    assert [e["detail"]["blocked"] for e in tail.of_type("Opt-Out Changed")] == [True, False]
    assert len(tail.of_type("Message Received")) == 2
    contract.check(tail.received)


def test_inbound_get_mms_keeps_every_media_file(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(inbound_notify_method="GET")
    tail = app.event_tail()
    ref = sim.inbound(MOBILE, US, "pics", "mms", ["a.png", "b.jpg", "c.gif"])
    sim.settle()
    item = app.stack.client("dynamodb").get_item(TableName=app.stack.refs["MessagesTable"],
                                                 Key={"pk": {"S": f"IN#{ref}"}, "sk": {"S": "IN"}})["Item"]
    assert [m["S"] for m in item["msg_media"]["L"]] == ["a.png", "b.jpg", "c.gif"]
    assert tail.wait_for(lambda evs: any(e["detail-type"] == "Message Received" for e in evs))
    assert tail.of_type("Message Received")[0]["detail"]["msgMedia"] == ["a.png", "b.jpg", "c.gif"]


def test_sample_events_invoke_the_handler(app_factory: Any) -> None:
    # given an app whose secrets match the samples, and the messages they name
    app = app_factory()
    sm = app.stack.client("secretsmanager")
    sm.put_secret_value(SecretId=app.stack.refs["WebhookCredentialsSecret"],
                        SecretString=json.dumps({"username": "aculab", "password": "example-webhook-password"}))
    sm.put_secret_value(SecretId=app.stack.refs["InboundTokenSecret"],
                        SecretString=json.dumps({"token": "example-inbound-token"}))
    from datetime import datetime

    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    now = datetime.now(UTC)
    for mid, ref in [("example-1", "2e891aea_0.1566641192.77832"), ("example-2", "2e891aea_0.1566641192.77840")]:
        seeding.queued(store, mid, [ref], now, to=MOBILE, from_=US)
    expected = {"webhook-post-status-sms.json": 200, "webhook-get-status-sms.json": 200,
                "webhook-post-status-mms.json": 200, "webhook-post-inbound-sms.json": 200,
                "webhook-get-inbound-mms.json": 200, "webhook-post-inbound-stop.json": 200,
                "webhook-post-unauthenticated.json": 401}
    # when each sample is invoked / then the documented status code
    for name, status in expected.items():
        event = json.loads((ROOT / "events" / name).read_text())
        assert app.invoke("webhook", event)["statusCode"] == status, name
    assert stored_message(app, "example-1")["status"] == "delivered"  # type: ignore[index]
    assert stored_message(app, "example-2")["status"] == "failed"  # type: ignore[index]
    assert store.blocked.is_blocked(*PAIR)


def test_count_each_rejection_in_a_metric(app: LocalApp) -> None:
    # given the webhook's service wired to moto, counting into memory
    from aculab_messaging.api.webhook.http import HttpRequest
    from aculab_messaging.runtime.metrics import RecordingMetrics
    from aculab_messaging.runtime.wiring import build_webhook

    metrics = RecordingMetrics()
    app.apply_environment("webhook")
    service = build_webhook(metrics=metrics)
    # when requests are rejected for different reasons
    service.handle(HttpRequest("POST", "", {}, b"{}"))
    auth = "Basic " + __import__("base64").b64encode(f"aculab:{app.webhook_password}".encode()).decode()
    service.handle(HttpRequest("POST", "", {"authorization": auth, "content-type": "application/json"}, b"nope"))
    service.handle(HttpRequest("POST", "", {"authorization": auth}, b"x" * 70_000))
    # then each is counted under its reason
    assert metrics.counts == {"Rejected_unauthorized": 1, "Rejected_bad_request": 1, "Rejected_payload_too_large": 1}
