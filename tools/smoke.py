"""``make smoke``: a deployed stack checked end to end, from its CloudFormation
outputs (or the local stack's ``.local-stack/`` with ``--local``):

1. ``GET /messages/<an unknown id>`` signed with SigV4 by your credentials: 404
   (the HTTP API, its IAM authorisation, the messages function, the table).
2. A test status notification to the webhook with the stack's credentials (from
   its WebhookCredentialsSecret): 404 ``unknown_message`` (basic auth passed, the
   webhook function looked the msg_ref up); and with a wrong password: 401.
3. With ``--to`` (``make smoke SMOKE_TO=... SMOKE_FROM=...``): a real message,
   its events caught on a temporary EventBridge rule and SQS queue, removed
   afterwards, until it is final (or ``--wait`` seconds).

    python -m tools.smoke --stack aculab-messaging [--region eu-west-1] [--to 447700900123 --from 447700900001]

Each check prints one line: ``ok`` or ``FAILED`` with what it got; the exit
status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE = ROOT / ".local-stack"
# events after which a message changes no more, but a Message Status Changed with isFinal
ENDS = {"Message Rejected", "Message Blocked", "Message Failed", "Message Cancelled", "Message Expired"}


@dataclass(frozen=True)
class Endpoints:
    messages_api_url: str
    webhook_url: str
    webhook_secret_arn: str
    send_queue_url: str
    event_bus_name: str
    session: Any  # boto3.Session: the caller's credentials and region
    endpoint_url: str | None = None  # the local stack's AWS endpoint

    def client(self, service: str) -> Any:
        return self.session.client(service, **({"endpoint_url": self.endpoint_url} if self.endpoint_url else {}))


def from_stack(stack: str, region: str | None = None, profile: str | None = None) -> Endpoints:
    """The endpoints a deployed stack's outputs name (template.yaml ``Outputs``)."""
    import boto3

    session = boto3.Session(region_name=region, profile_name=profile)
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return Endpoints(outputs["MessagesApiUrl"], outputs["WebhookUrl"], outputs["WebhookCredentialsSecretArn"],
                     outputs["SendQueueUrl"], outputs["EventBusName"], session)


def from_local(state: Path | None = None) -> Endpoints:
    """The endpoints the running local stack (``make run``) wrote to ``.local-stack/``; FileNotFoundError
    when there is none, ConnectionRefusedError when what is there was left by a stack that stopped."""
    import boto3

    state = state or LOCAL_STATE

    def read(name: str) -> str:
        return (state / name).read_text().strip()

    endpoint = urllib.parse.urlsplit(read("endpoint_url"))
    with socket.create_connection((endpoint.hostname or "127.0.0.1", endpoint.port or 80), timeout=5):
        pass  # the local AWS answers: the stack is running

    session = boto3.Session(aws_access_key_id=read("aws_access_key_id"),
                            aws_secret_access_key=read("aws_secret_access_key"), region_name="eu-west-1")
    return Endpoints(read("messages_url"), read("webhook_url"), read("webhook_secret_arn"), read("queue_url"),
                     read("event_bus_name"), session, endpoint_url=read("endpoint_url"))


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok    ' if self.ok else 'FAILED'} {self.name}: {self.detail}"


def check_messages_api(ends: Endpoints) -> Check:
    from tools.status_client import StatusLookupError, get_message

    unknown = f"smoke-{uuid.uuid4().hex[:12]}"
    try:
        found = get_message(ends.messages_api_url, unknown, session=ends.session)
    except StatusLookupError as exc:
        return Check("GET /messages/{id} (SigV4)", exc.status == 404, f"an unknown id answered {exc}")
    except requests.RequestException as exc:
        return Check("GET /messages/{id} (SigV4)", False, f"no answer: {type(exc).__name__}")
    return Check("GET /messages/{id} (SigV4)", False, f"an unknown id was found: {found}")


def check_webhook(ends: Endpoints) -> Check:
    secret = json.loads(ends.client("secretsmanager").get_secret_value(SecretId=ends.webhook_secret_arn)[
        "SecretString"])
    ref = f"smoke-{uuid.uuid4().hex[:12]}"
    note = {"msg_ref": ref, "status": "delivered", "to": "447700900123", "from": "447700900001",
            "direction": "send", "type": "sms"}
    try:
        answer = requests.post(ends.webhook_url, json=note, auth=(secret["username"], secret["password"]), timeout=30)
        refused = requests.post(ends.webhook_url, json=note, auth=(secret["username"], "not-the-password"),
                                timeout=30)
    except requests.RequestException as exc:
        return Check("webhook test notification", False, f"no answer: {type(exc).__name__}")
    ok = answer.status_code == 404 and refused.status_code == 401
    return Check("webhook test notification", ok, f"the stack's credentials: {answer.status_code} "
                 f"{answer.text[:80].strip()} (404 unknown_message expected); a wrong password: "
                 f"{refused.status_code} (401 expected)")


@contextmanager
def catching_events(ends: Endpoints, message_id: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A temporary rule on the bus for this message's events, to a temporary queue: removed afterwards."""
    events, sqs = ends.client("events"), ends.client("sqs")
    name = f"smoke-{message_id}"[:64]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    rule_arn = None
    try:
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        rule_arn = events.put_rule(Name=name, EventBusName=ends.event_bus_name, State="ENABLED",
                                   EventPattern=json.dumps({"detail": {"messageId": [message_id]}}))["RuleArn"]
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
        events.put_targets(Rule=name, EventBusName=ends.event_bus_name, Targets=[{"Id": "smoke", "Arn": queue_arn}])

        def received() -> list[dict[str, Any]]:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", [])
            for m in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            return [json.loads(m["Body"]) for m in messages]

        yield received
    finally:
        if rule_arn is not None:
            events.remove_targets(Rule=name, EventBusName=ends.event_bus_name, Ids=["smoke"])
            events.delete_rule(Name=name, EventBusName=ends.event_bus_name)
        sqs.delete_queue(QueueUrl=queue_url)


def check_real_message(ends: Endpoints, to: str, from_: str, wait_seconds: float) -> Check:
    from aculab_messaging.contracts.queue import SendRequest
    from tools.producer import Producer

    message_id = f"smoke-{uuid.uuid4().hex[:12]}"
    seen: list[str] = []
    final: str | None = None
    with catching_events(ends, message_id) as received:
        Producer(ends.send_queue_url, ends.client("sqs")).send(SendRequest.model_validate({
            "message_id": message_id, "to": to, "from": from_, "type": "sms",
            "content": "make smoke: a test message", "request_delivery_report": True}))
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and final is None:
            for event in received():
                kind, detail = event["detail-type"], event.get("detail", {})
                seen.append(f"{kind} ({detail['status']})" if detail.get("status") else kind)
                if kind in ENDS or detail.get("isFinal"):
                    final = seen[-1]
    ok = "Message Submitted" in " ".join(seen) and (final is None or final.endswith("(delivered)"))
    return Check(f"a real message {message_id}", ok, (" -> ".join(seen) or "no event")
                 + ("" if final else f" (not final after {wait_seconds:g}s)"))


def run(ends: Endpoints, to: str | None = None, from_: str | None = None, wait_seconds: float = 120.0,
        say: Callable[[str], None] = print) -> list[Check]:
    checks: list[Check] = []
    for check in (check_messages_api, check_webhook):
        checks.append(check(ends))
        say(checks[-1].line())
    if to:
        checks.append(check_real_message(ends, to, from_ or "", wait_seconds))
        say(checks[-1].line())
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make smoke", description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed stack's name")
    where.add_argument("--local", action="store_true", help="the running local stack (make run)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--to", default=None, help="send a real message to this number")
    parser.add_argument("--from", dest="from_", default=None, help="our number it is sent from (with --to)")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the message to be final")
    args = parser.parse_args(argv)
    if args.to and not args.from_:
        parser.error("--to needs --from (SMOKE_FROM=...): one of your Aculab numbers")
    try:
        ends = from_local() if args.local else from_stack(args.stack, args.region, args.profile)
    except (FileNotFoundError, ConnectionRefusedError):  # no .local-stack/, or one a stopped stack left
        print("the local stack is not running: start it with make run", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line a user can act on, not a traceback
        print(f"cannot read the stack's outputs: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    checks = run(ends, args.to, args.from_, args.wait)
    failed = [c for c in checks if not c.ok]
    print(f"smoke: {len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
