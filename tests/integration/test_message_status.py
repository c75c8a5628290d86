"""GET /messages/{message_id}: the messages function behind the local
gateway, whose AWS_IAM authorizer moto server's IAM decides (SigV4 and
execute-api:Invoke), as API Gateway asks IAM."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import boto3
import pytest
import requests

from local.app import LocalApp
from local.template import REGION, ROOT
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send
from tools.status_client import StatusLookupError, get_message


def admin(app: LocalApp) -> boto3.session.Session:
    return boto3.session.Session(region_name=REGION, **app.stack.admin_credentials)


def user(app: LocalApp, name: str, statements: list[dict[str, Any]]) -> boto3.session.Session:
    """An IAM user of the account with only these statements."""
    iam = app.stack.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.session.Session(region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                                 aws_secret_access_key=key["SecretAccessKey"])


def test_a_delivered_multipart_message_shows_its_timeline(app: LocalApp, sim: SimulatorControl) -> None:
    # given a 3-part message sent through the stack and delivered, every update through the webhook: the
    # simulator holds each step (no timer moves it) and settle() plays them in order, each step's three
    # updates answered before the next step's go, so the store sees them in the order Aculab made them
    sim.configure(step_seconds=3600)
    mid = queue_send(app, content="x" * 400, metadata={"order": 7})
    drain_queue(app)
    assert sim.settle()["idle"] == 1
    # when its owner asks, signed with its own credentials
    view = get_message(app.messages_url, mid, session=admin(app))
    # then the message, each part and every status change, oldest first
    assert view["messageId"] == mid and view["status"] == "delivered" and view["isFinal"] is True
    assert view["metadata"] == {"order": 7} and view["to"] == "+4477*****123"
    assert [p["position"] for p in view["parts"]] == [1, 2, 3]
    assert {p["status"] for p in view["parts"]} == {"delivered"} and len(set(view["msgRefs"])) == 3
    timeline = view["timeline"]
    assert timeline[0]["status"] == "queued" and timeline[0]["msgRefs"] == view["msgRefs"]
    assert [t["at"] for t in timeline] == sorted(t["at"] for t in timeline)
    for ref in view["msgRefs"]:
        assert [t["status"] for t in timeline if t.get("msgRef") == ref] == [
            "submitted to carrier", "sent", "delivered"]
    whole = [t["status"] for t in timeline if t["msgRef"] is None and t["msgRefs"] is None]
    assert whole == ["submitted to carrier", "sent", "delivered"]  # the message as a whole, as its parts moved


def test_unknown_message_is_404(app: LocalApp) -> None:
    with pytest.raises(StatusLookupError) as caught:
        get_message(app.messages_url, "never-sent", session=admin(app))
    assert caught.value.status == 404


def test_without_iam_credentials_the_function_is_never_invoked(app: LocalApp) -> None:
    mid = queue_send(app)
    drain_queue(app)
    url = f"{app.messages_url}/{mid}"
    # no signature at all
    unsigned = requests.get(url, timeout=10)
    assert unsigned.status_code == 403 and unsigned.json() == {"message": "Forbidden"}
    # a signature made with the wrong secret
    forged = boto3.session.Session(region_name=REGION, aws_access_key_id=app.stack.admin_credentials[
        "aws_access_key_id"], aws_secret_access_key="not-the-secret")
    with pytest.raises(StatusLookupError) as caught:
        get_message(app.messages_url, mid, session=forged)
    assert caught.value.status == 403
    # a real principal not allowed execute-api:Invoke
    with pytest.raises(StatusLookupError) as caught:
        get_message(app.messages_url, mid, session=user(app, "reader-without-invoke", [
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]))
    assert caught.value.status == 403 and "execute-api:Invoke" in str(caught.value)
    # a signature for another service
    creds = admin(app).get_credentials().get_frozen_credentials()
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="GET", url=url)
    SigV4Auth(creds, "lambda", REGION).add_auth(request)
    assert requests.get(url, headers=dict(request.headers.items()), timeout=10).status_code == 403
    # and the Aculab-facing routes are not IAM's: they still answer with their own basic auth
    assert requests.post(app.webhook_url, data="{}", timeout=10).status_code == 401


def test_a_principal_allowed_the_route_reads_it(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)  # held at Aculab: still queued when it is read, however busy the machine
    mid = queue_send(app)
    drain_queue(app)
    route = f"arn:aws:execute-api:{REGION}:*:*/$default/GET/messages/*"
    session = user(app, "ops-reader", [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": route}])
    assert get_message(app.messages_url, mid, session=session)["status"] == "queued"


def test_make_status_cli_prints_the_view(app: LocalApp) -> None:
    mid = queue_send(app)
    drain_queue(app)
    env = {**app.environment(), "PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "tools.status_client", "--api-url", app.messages_url,
                           mid], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["messageId"] == mid
    missing = subprocess.run([sys.executable, "-m", "tools.status_client", "--api-url", app.messages_url,
                              "no-such-id"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 1 and "404" in missing.stderr
