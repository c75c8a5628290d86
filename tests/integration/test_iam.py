"""IAM least privilege, proven on moto with enforcement on: each function
calls AWS with its own role's credentials from the translated template, a
call the role does not grant fails, and every action a role is granted is
one its function really uses."""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from local.app import FUNCTIONS, LocalApp
from local.provision import function_role
from local.template import REGION
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send
from tests.integration.test_send import aged, invoke_batch, receive

US, MOBILE = "447700900001", "447700900123"
# how IAM names an API call's permission, where it is not the operation's own name
_PERMISSION = {"DeleteMessageBatch": "DeleteMessage", "SendMessageBatch": "SendMessage"}
# granted for how AWS answers another call, never called itself: without s3:ListBucket, S3 answers a
# HEAD of a key not there yet 403 instead of 404 (moto answers 404 either way); a multipart upload
# left half-done by a crash is aborted by the lifecycle rule, by our code only when the upload fails (a file
# cut off at MaxMediaBytes: test_media_limits.py sees the media role abort one)
# Not walked here because moto does not model them (tests/unit/test_deploy_readiness.py checks them on the
# translated template): the DataCmkArn grants (their own AWS::IAM::Policy resources, only with the parameter;
# moto's services never call KMS), the status lookup's dynamodb:LeadingKeys condition, the scheduler's trust.
# iam:PassRole is what CreateSchedule needs to hand the schedule its role (moto does not check it;
# tests/unit/test_deploy_readiness.py checks the statement)
_GRANTED_FOR_ANOTHER_CALL = {"media": {"s3:ListBucket", "s3:AbortMultipartUpload"}, "send": {"iam:PassRole"}}


def granted_actions(app: LocalApp, function: str) -> set[str]:
    """The actions of the function role's own inline statements (the template's
    ``Policies``) in the translated template; not those SAM adds for the Lambda
    service itself (an OnFailure destination is written by Lambda, not our code)."""
    role = app.stack.template["Resources"][function_role(app.stack, FUNCTIONS[function])]
    actions: set[str] = set()
    for policy in role["Properties"]["Policies"]:
        if "EventInvokeConfig" in policy["PolicyName"]:
            continue
        for statement in policy["PolicyDocument"]["Statement"]:
            found = statement["Action"]
            actions.update([found] if isinstance(found, str) else found)
    return actions


def calls_by_function(app: LocalApp) -> dict[str, list[dict[str, Any]]]:
    keys = {creds["aws_access_key_id"]: name for name, logical in FUNCTIONS.items()
            for lid, creds in app.stack.function_credentials.items() if lid == logical}
    calls = requests.get(f"{app.stack.endpoint_url}/_local/calls", timeout=10).json()
    by_function: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        if call["access_key"] in keys:
            by_function[keys[call["access_key"]]].append(call)
    return by_function


def test_every_function_uses_exactly_what_its_role_grants(app_factory: Any, sim: SimulatorControl) -> None:
    # given the stack, with messages that go stale at once and the senders' blocked lists to sync
    app = app_factory(STALE_AGE_SECONDS="1", SENDING_NUMBERS=US, MAX_SENDS_PER_SECOND="50",
                      SEND_RETRY_WINDOW_SECONDS="2")
    sim.configure(step_seconds=0.2)
    # when each function walks every path: send (a batch of two sent, one retried, dead-lettered) ...
    sent = queue_send(app)
    queue_send(app, to="447700900125")
    drain_queue(app)
    sim.configure(send_error_rules=[{"to_prefix": "447700900777", "status": 503}])
    queue_send(app, to="447700900777")
    retried = receive(app, 1)
    invoke_batch(app, retried)
    time.sleep(2.1)  # its retry window (from the first sight of the request, 2 s here) runs out
    invoke_batch(app, aged(retried, 7 * 3600))  # dead-lettered by the function itself
    # ... a send due in a minute (it waits as a fresh copy of its record: SendMessage on the send queue) ...
    from datetime import UTC, datetime, timedelta

    queue_send(app, send_at=(datetime.now(UTC) + timedelta(minutes=1)).isoformat())
    drain_queue(app)
    # ... a send due in two hours (a schedule) and its cancel (the schedule deleted); every send is paced ...
    later = queue_send(app, send_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())
    drain_queue(app)
    app.stack.client("sqs").send_message(QueueUrl=app.stack.refs["SendQueue"],
                                         MessageBody=json.dumps({"action": "cancel", "message_id": later}))
    drain_queue(app)
    # ... a campaign's send (its own pace), and the campaign's cancel (its index read) ...
    queue_send(app, campaign_id="spring", campaign_max_per_second=100)
    drain_queue(app)
    app.stack.client("sqs").send_message(QueueUrl=app.stack.refs["SendQueue"],
                                         MessageBody=json.dumps({"action": "cancel", "campaign_id": "spring"}))
    drain_queue(app)
    # ... the webhook (status updates with and without our mid, an inbound STOP) ...
    sim.settle()
    ref = str(app.stack.client("dynamodb").get_item(
        TableName=app.stack.refs["MessagesTable"], Key={"pk": {"S": f"MSG#{sent}"}, "sk": {"S": "MSG"}},
    )["Item"]["refs"]["L"][0]["S"])
    auth = base64.b64encode(f"aculab:{app.webhook_password}".encode()).decode()
    answer = requests.post(app.webhook_url, data=json.dumps({"msg_ref": ref, "status": "delivered", "to": MOBILE,
                                                             "from": US, "direction": "send", "type": "sms"}),
                           headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
                           timeout=10)
    assert answer.status_code == 200
    sim.inbound(MOBILE, US, "STOP")
    sim.settle()
    # ... the media archiver (an MMS with a file to copy) ...
    sim.inbound(MOBILE, US, "", "mms", ["a.png"])
    sim.settle()
    assert app.media_poller(wait_seconds=1).poll_once() == 1
    # ... a message the carrier failed temporarily (301): the reconciler puts it back on the send queue ...
    sim.configure(fail_rules=[{"to_prefix": "447700900126", "aculab_msg_err": "301", "reason": "",
                               "at": "submitted to carrier", "times": 1}])
    queue_send(app, to="447700900126")
    drain_queue(app)
    sim.settle()
    # ... and the reconciler (a message whose notifications were lost, a cursor, the blocked-list sync)
    sim.configure(notify_drop_rate=1.0, step_seconds=0.1)
    queue_send(app, to="447700900124")
    drain_queue(app)
    sim.settle()
    time.sleep(1.1)  # stale after the (compressed) stale age
    app.run_reconcile()
    app.invoke("reconcile", {"source": "aws.scheduler"}, timeout=0.001)  # no time left: a cursor is kept
    app.run_reconcile()
    # ... and the status lookup, asked by a signed caller
    from tools.status_client import campaigns_url, get_message

    admin = boto3.session.Session(region_name=REGION, **app.stack.admin_credentials)
    assert get_message(app.messages_url, sent, session=admin)["messageId"] == sent
    assert get_message(campaigns_url(app.messages_url), "spring", session=admin)["messages"] == 1
    # ... and an operator's erasure of the mobile (its messages, refs, inbound messages, archived file, and the
    # schedule of a send to it due tomorrow)
    queue_send(app, to=MOBILE, send_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    drain_queue(app)
    erased = app.invoke("erase", {"phone": MOBILE})["counts"]
    assert erased["media_objects"] == 1 and erased["schedules"] == 1
    # then no call was refused, and each function used every action it is granted
    by_function = calls_by_function(app)
    for function in FUNCTIONS:
        calls = by_function[function]
        refused = [(c["service"], c["operation"]) for c in calls if c["status"] == 403]
        assert refused == [], f"{function}: refused {refused}"
        used = {f"{c['service']}:{_PERMISSION.get(c['operation'], c['operation'])}" for c in calls}
        unused = granted_actions(app, function) - used - _GRANTED_FOR_ANOTHER_CALL.get(function, set())
        assert unused == set(), f"{function} is granted {unused} and never uses it"


def test_a_call_outside_the_role_is_refused(app: LocalApp) -> None:
    # given the webhook's own credentials (its role may use the table, the bus, its two secrets)
    session = boto3.session.Session(region_name=REGION, **app.stack.function_credentials["WebhookFunction"])

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=app.stack.endpoint_url)

    table = {"TableName": app.stack.refs["MessagesTable"], "Key": {"pk": {"S": "x"}, "sk": {"S": "y"}}}
    client("dynamodb").get_item(**table)  # granted
    refused = [
        lambda: client("dynamodb").delete_item(**table),  # an action it is not granted
        lambda: client("secretsmanager").get_secret_value(SecretId=app.stack.refs["AculabApiSecret"]),  # other secret
        lambda: client("dynamodb").query(TableName=app.stack.refs["MessagesTable"], IndexName="pending",
                                         KeyConditionExpression="pending_pk = :p",
                                         ExpressionAttributeValues={":p": {"S": "PENDING#0"}}),  # the index
        lambda: client("sqs").send_message(QueueUrl=app.stack.refs["SendQueue"], MessageBody="{}"),
    ]
    for call in refused:
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response["Error"]
        assert "AccessDenied" in error.get("Code", "") + error.get("Message", ""), error


def test_the_media_role_writes_only_under_inbound(app: LocalApp) -> None:
    # given the media function's own credentials
    s3 = boto3.session.Session(region_name=REGION, **app.stack.function_credentials["MediaFunction"]).client(
        "s3", endpoint_url=app.stack.endpoint_url)
    bucket = app.stack.refs["MediaBucket"]
    s3.put_object(Bucket=bucket, Key="inbound/2026/11/25/r/01-a.png", Body=b"x")  # granted
    refused = [
        lambda: s3.put_object(Bucket=bucket, Key="elsewhere/a.png", Body=b"x"),  # outside its prefix
        lambda: s3.delete_object(Bucket=bucket, Key="inbound/2026/11/25/r/01-a.png"),  # never granted
    ]
    for call in refused:
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_the_send_role_schedules_only_in_the_stacks_group(app: LocalApp) -> None:
    scheduler = boto3.session.Session(region_name=REGION, **app.stack.function_credentials["SendFunction"]).client(
        "scheduler", endpoint_url=app.stack.endpoint_url)
    target = {"Arn": app.stack.attrs[("SendQueue", "Arn")], "RoleArn": app.stack.attrs[("SendSchedulerRole", "Arn")],
              "Input": "{}"}
    common = {"ScheduleExpression": "at(2030-01-01T00:00:00)", "FlexibleTimeWindow": {"Mode": "OFF"},
              "Target": target}
    scheduler.create_schedule(Name="ok", GroupName=app.stack.refs["SendSchedules"], **common)  # granted
    with pytest.raises(ClientError) as caught:
        scheduler.create_schedule(Name="elsewhere", GroupName="default", **common)
    assert "AccessDenied" in str(caught.value)
