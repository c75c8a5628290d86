"""The webhook as AWS runs it when a dependency fails (Secrets Manager,
DynamoDB, EventBridge): 503 with Retry-After so Aculab retries, never a
Lambda error, a metric and a log line; and the webhook password rotated
while messages sent under the old one are still being notified."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.faults import FaultProxy, fail_operation
from tests.integration.conftest import drain_queue, queue_send, stored_message

US, MOBILE = "447700900001", "447700900123"


def status_body(ref: str, status: str = "delivered") -> dict[str, Any]:
    return {"msg_ref": ref, "status": status, "to": MOBILE, "from": US, "direction": "send", "type": "sms"}


@pytest.mark.parametrize(("operation", "code"), [
    ("GetSecretValue", "InternalServiceError"),
    ("UpdateItem", "ProvisionedThroughputExceededException"),
    ("PutEvents", "InternalException"),
])
def test_a_failing_dependency_answers_503_with_retry_after(
    app_factory: Any, aws: str, sim: SimulatorControl, operation: str, code: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # given a message sent, and then one of the webhook's dependencies failing for good
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url)
    sim.configure(step_seconds=3600)
    mid = queue_send(app)
    drain_queue(app)
    ref = stored_message(app, mid)["refs"][0]  # type: ignore[index]
    proxy.fail(fail_operation(operation, times=1000, status=400 if "Throughput" in code else 500, code=code))
    app.apply_environment()
    # when Aculab posts a status update
    answer = requests.post(f"{app.webhook_url}?mid={mid}&dlr=1", json=status_body(ref), timeout=30,
                           auth=("aculab", app.webhook_password))
    # then 503 with Retry-After (Aculab retries), the reason logged; no 500
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    logged = capfd.readouterr().out
    assert '"reason":"dependency_unavailable"' in logged.replace(" ", "") or "not_published" in logged
    # and once the dependency is back, the retry is accepted and stored
    proxy.clear()
    retry = requests.post(f"{app.webhook_url}?mid={mid}&dlr=1", json=status_body(ref), timeout=30,
                          auth=("aculab", app.webhook_password))
    assert retry.status_code == 200
    assert stored_message(app, mid)["status"] == "delivered"  # type: ignore[index]
    proxy.close()


def test_a_broken_token_secret_never_breaks_status_updates(app: LocalApp, sim: SimulatorControl) -> None:
    # given the inbound token secret is not JSON any more
    sim.configure(step_seconds=3600)
    mid = queue_send(app)
    drain_queue(app)
    ref = stored_message(app, mid)["refs"][0]  # type: ignore[index]
    app.stack.client("secretsmanager").put_secret_value(SecretId=app.stack.refs["InboundTokenSecret"],
                                                        SecretString="not json")
    # then status updates go on, and inbound messages are 503 (retried), not 500
    ok = requests.post(f"{app.webhook_url}?mid={mid}&dlr=1", json=status_body(ref), timeout=30,
                       auth=("aculab", app.webhook_password))
    assert ok.status_code == 200
    inbound = requests.post(app.inbound_url, json={"msg_ref": "in-1", "status": "received", "to": US,
                                                   "from": MOBILE, "direction": "receive", "type": "sms",
                                                   "content": "hi"}, timeout=30)
    assert inbound.status_code == 503


def rotate(app: LocalApp) -> str:
    from tools.rotate_webhook_password import rotate as rotate_secret

    return rotate_secret(app.stack.client("secretsmanager"), app.stack.refs["WebhookCredentialsSecret"])


def test_rotation_loses_no_status_update(app_factory: Any, sim: SimulatorControl) -> None:
    # given a message sent with the current password (Aculab keeps it for that message's notifications)
    app = app_factory(GIVE_UP_AGE_SECONDS="3")  # the give-up age, compressed: 48 h -> 3 s
    sim.configure(step_seconds=3600)
    old_password = app.webhook_password
    before = queue_send(app)
    drain_queue(app)
    old_ref = stored_message(app, before)["refs"][0]  # type: ignore[index]
    # when the password is rotated, and a message is sent after it
    new_password = rotate(app)
    assert new_password != old_password
    after = queue_send(app)
    drain_queue(app)
    new_ref = stored_message(app, after)["refs"][0]  # type: ignore[index]
    # then updates for both messages are accepted: the old password for the old message, the new for the new
    url = app.webhook_url
    assert requests.post(f"{url}?mid={before}&dlr=1", json=status_body(old_ref, "sent"), timeout=30,
                         auth=("aculab", old_password)).status_code == 200
    assert requests.post(f"{url}?mid={after}&dlr=1", json=status_body(new_ref, "sent"), timeout=30,
                         auth=("aculab", new_password)).status_code == 200
    sent_with = {m["status_page"].split("mid=")[1].split("&")[0]: m.get("status_authentication_password")
                 for m in sim.messages() if m.get("status_page")}
    assert sent_with.get(after) in (None, new_password)  # the send function gave Aculab the new one
    # and once every message sent under the old password is past the give-up age, it is refused
    time.sleep(3.2)
    refused = requests.post(f"{url}?mid={before}&dlr=1", json=status_body(old_ref), timeout=30,
                            auth=("aculab", old_password))
    assert refused.status_code == 401
    assert requests.post(f"{url}?mid={after}&dlr=1", json=status_body(new_ref), timeout=30,
                         auth=("aculab", new_password)).status_code == 200


def test_rotate_webhook_password_tool_keeps_the_username(app: LocalApp) -> None:
    sm = app.stack.client("secretsmanager")
    secret = app.stack.refs["WebhookCredentialsSecret"]
    rotate(app)
    current = json.loads(sm.get_secret_value(SecretId=secret)["SecretString"])
    previous = json.loads(sm.get_secret_value(SecretId=secret, VersionStage="AWSPREVIOUS")["SecretString"])
    assert current["username"] == previous["username"] == "aculab"
    assert previous["password"] == app.webhook_password and len(current["password"]) >= 40
