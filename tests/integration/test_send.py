"""The send function over real SQS (moto server) and the simulator."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aculab_messaging.contracts.queue import SendRequest
from local.app import LocalApp
from local.sqs_poller import sqs_event
from local.template import ROOT
from simulator.control import SimulatorControl
from tests.faults import FaultProxy, fail_operation
from tests.integration.conftest import drain_queue, queue_send, stored_message
from tools.producer import Producer

US, MOBILE = "447700900001", "447700900123"


def receive(app: LocalApp, n: int) -> list[dict[str, Any]]:
    sqs = app.stack.client("sqs")
    got: list[dict[str, Any]] = []
    for _ in range(10):
        response = sqs.receive_message(QueueUrl=app.stack.refs["SendQueue"], MaxNumberOfMessages=10,
                                       AttributeNames=["All"], WaitTimeSeconds=0)
        got += response.get("Messages", [])
        if len(got) >= n:
            break
    assert len(got) == n
    return got


def invoke_batch(app: LocalApp, messages: list[dict[str, Any]]) -> dict[str, Any]:
    event = sqs_event(messages, app.stack.attrs[("SendQueue", "Arn")], "eu-west-1")
    result: dict[str, Any] = app.invoke("send", event)
    return result


def failures(result: dict[str, Any]) -> set[str]:
    return {f["itemIdentifier"] for f in result["batchItemFailures"]}


def test_process_mixed_batch_gives_exact_partial_response(app: LocalApp, sim: SimulatorControl) -> None:
    # given: one valid, one invalid, one blocked, one whose Aculab call fails transiently
    from aculab_messaging.dal import TableStore

    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    store.blocked.set_blocked("+" + US, "+447700900555", True, "inbound", "2026-01-01T00:00:00Z#r")  # keyed in E.164
    sim.configure(send_error_rules=[{"to_prefix": "447700900777", "status": 503}], step_seconds=3600)
    tail = app.event_tail()
    valid = queue_send(app, metadata={"n": 1})
    invalid = queue_send(app, to="not-a-number")
    blocked = queue_send(app, to="447700900555")
    transient = queue_send(app, to="447700900777")
    messages = receive(app, 4)
    by_id = {json.loads(m["Body"])["message_id"]: m["MessageId"] for m in messages}
    # when the batch is processed
    result = invoke_batch(app, messages)
    # then only the transient failure goes back to SQS
    assert failures(result) == {by_id[transient]}
    assert stored_message(app, valid)["status"] == "queued"  # type: ignore[index]
    assert stored_message(app, invalid) is None  # a rejection never takes the message_id
    assert stored_message(app, blocked)["status"] == "blocked"  # type: ignore[index]
    assert stored_message(app, transient)["status"] == "retryable"  # type: ignore[index]
    assert tail.wait_for(lambda evs: len(evs) >= 3)
    kinds = {e["detail"]["messageId"]: e["detail-type"] for e in tail.received}
    assert kinds == {valid: "Message Submitted", invalid: "Message Rejected", blocked: "Message Blocked"}
    rejected = tail.of_type("Message Rejected")[0]["detail"]
    assert "to" in rejected["reason"]
    assert sim.stats()["calls_msg_send"] == 2  # valid + transient; never the invalid or blocked one


def test_redelivered_record_is_sent_once(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)
    tail = app.event_tail()
    mid = queue_send(app)
    messages = receive(app, 1)
    # when SQS delivers the same record twice
    assert failures(invoke_batch(app, messages)) == set()
    assert failures(invoke_batch(app, messages)) == set()
    # then exactly one msg_send, one Message Submitted (the redelivery found it published: an empty outbox)
    assert sim.stats()["calls_msg_send"] == 1
    assert tail.wait_for(lambda evs: len(evs) >= 1)
    tail.drain(wait_seconds=1)
    assert [e["detail-type"] for e in tail.received] == ["Message Submitted"]
    item = stored_message(app, mid)
    assert item is not None and item["status"] == "queued" and "outbox" not in item


def expire_lease(app: LocalApp, message_id: str) -> None:
    """Time passes for one claim: its lease (the attempt's end and a margin) runs out."""
    app.stack.client("dynamodb").update_item(
        TableName=app.stack.refs["MessagesTable"], Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}},
        UpdateExpression="SET lease_until = :past", ExpressionAttributeValues={":past": {"N": "1"}})


def aged(messages: list[dict[str, Any]], seconds: float) -> list[dict[str, Any]]:
    """The records as SQS would hand them over ``seconds`` after they were first sent."""
    for message in messages:
        message["Attributes"]["SentTimestamp"] = str(int((time.time() - seconds) * 1000))
    return messages


def fail_submit(times: int) -> Any:
    """The next ``times`` writes of the ``submit`` transition (the message made queued) fail."""
    left = [times]

    def rule(op: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        target = (request.get("ExpressionAttributeValues") or {}).get(":to", {}).get("S")
        if op != "UpdateItem" or target != "queued" or left[0] <= 0:
            return None
        left[0] -= 1
        return 500, {"__type": "InternalServerError", "message": "injected failure"}

    return rule


def test_crash_after_msg_send_never_sends_again(app_factory: Any, aws: str, sim: SimulatorControl) -> None:
    # given the write after msg_send fails (as if the function died there)
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url)
    sim.configure(step_seconds=3600)  # Aculab's status updates held back until the end
    tail = app.event_tail()
    mid = queue_send(app)
    messages = receive(app, 1)
    proxy.fail(fail_submit(times=10))
    first = invoke_batch(app, messages)
    assert failures(first) == {messages[0]["MessageId"]}
    assert sim.stats()["calls_msg_send"] == 1
    proxy.clear()
    # when SQS delivers the record again while the claim's lease is alive: acknowledged, a fresh copy
    # back in the queue for later, nothing decided
    assert failures(invoke_batch(app, messages)) == set()
    assert stored_message(app, mid)["status"] == "sending"  # type: ignore[index]
    # and again once the lease ran out
    expire_lease(app, mid)
    second = invoke_batch(app, messages)
    # then no second msg_send: the message fails with "outcome unknown", announced once
    assert failures(second) == set()
    assert sim.stats()["calls_msg_send"] == 1
    assert stored_message(app, mid)["status"] == "failed"  # type: ignore[index]
    assert tail.wait_for(lambda evs: any(e["detail-type"] == "Message Failed" for e in evs))
    assert len(tail.of_type("Message Failed")) == 1
    assert "outcome unknown" in tail.of_type("Message Failed")[0]["detail"]["reason"]
    # and when Aculab's status updates come (our status page names the message), they prove it was sent
    sim.settle()
    assert tail.wait_for(lambda evs: any(e["detail"].get("status") == "delivered" for e in evs))
    assert stored_message(app, mid)["status"] == "delivered"  # type: ignore[index]
    assert sim.stats()["calls_msg_send"] == 1
    proxy.close()


def test_at_least_once_setting_sends_again_after_crash(app_factory: Any, aws: str, sim: SimulatorControl) -> None:
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url, SEND_GUARANTEE="at-least-once")
    sim.configure(step_seconds=3600)
    mid = queue_send(app)
    messages = receive(app, 1)
    proxy.fail(fail_submit(times=10))
    invoke_batch(app, messages)
    proxy.clear()
    assert failures(invoke_batch(app, messages)) == set()  # lease alive: not yet (a fresh copy waits)
    assert sim.stats()["calls_msg_send"] == 1
    expire_lease(app, mid)
    assert failures(invoke_batch(app, messages)) == set()
    assert sim.stats()["calls_msg_send"] == 2
    assert stored_message(app, mid)["status"] == "queued"  # type: ignore[index]
    proxy.close()


def dlq_depth(app: LocalApp) -> int:
    attrs = app.stack.client("sqs").get_queue_attributes(
        QueueUrl=app.stack.refs["SendDeadLetterQueue"], AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_transient_failures_end_in_dlq_with_failed_event(app_factory: Any, sim: SimulatorControl) -> None:
    # given a retry window of 2 s (from the first sight of the request), and Aculab answering 503 every time
    app = app_factory(SEND_RETRY_WINDOW_SECONDS="2")
    sim.configure(send_error_rules=[{"to_prefix": "447700900777", "status": 503}])
    tail = app.event_tail()
    mid = queue_send(app, to="447700900777")
    messages = receive(app, 1)
    # when it fails inside its retry window: back to the queue, nothing announced
    assert failures(invoke_batch(app, messages)) == {messages[0]["MessageId"]}
    assert dlq_depth(app) == 0
    # and when it fails once the window ran out (a record that looks new changes nothing: the item decides)
    time.sleep(2.1)
    result = invoke_batch(app, aged(messages, 0))
    # then the function moved it to the DLQ itself and acknowledged it, and integrations heard of it
    assert failures(result) == set()
    assert dlq_depth(app) == 1
    assert sim.stats()["calls_msg_send"] == 2
    assert tail.wait_for(lambda evs: any(e["detail-type"] == "Message Failed" for e in evs))
    failed = tail.of_type("Message Failed")
    assert len(failed) == 1 and "dead-lettered after" in failed[0]["detail"]["reason"]
    assert stored_message(app, mid)["status"] == "retryable"  # a DLQ redrive may still send it


def test_dead_lettered_send_is_announced_by_reconcile_when_its_event_fails(
    app_factory: Any, aws: str, sim: SimulatorControl
) -> None:
    # given Aculab answers 503 every time, and EventBridge fails when the last attempt publishes
    proxy = FaultProxy(aws)
    app = app_factory(AWS_ENDPOINT_URL=proxy.url, SEND_RETRY_WINDOW_SECONDS="1")
    sim.configure(send_error_rules=[{"to_prefix": "447700900777", "status": 503}])
    tail = app.event_tail()
    mid = queue_send(app, to="447700900777")
    messages = receive(app, 1)
    invoke_batch(app, messages)
    time.sleep(1.1)
    proxy.fail(fail_operation("PutEvents", times=100))
    assert failures(invoke_batch(app, messages)) == set()
    proxy.clear()
    assert dlq_depth(app) == 1
    item = stored_message(app, mid)
    assert item is not None and "pending_pk" in item and item["outbox"]  # its Message Failed waits there
    # when the reconciler runs
    app.run_reconcile()
    # then integrations hear of it once, its outbox is empty, and the reconciler looks again only after
    # the give-up age (a redrive, not the reconciler, moves a dead-lettered message)
    assert tail.wait_for(lambda evs: any(e["detail-type"] == "Message Failed" for e in evs))
    failed = tail.of_type("Message Failed")
    assert len(failed) == 1 and "dead-lettered after" in failed[0]["detail"]["reason"]
    item = stored_message(app, mid)
    assert item is not None and "outbox" not in item and item["status"] == "retryable"
    assert str(item["pending_sk"]) > (datetime.now(UTC) + timedelta(days=1)).isoformat()
    proxy.close()


def test_permanent_error_fails_without_retry(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(dlr_unsupported_prefixes=["44770090088"])
    tail = app.event_tail()
    mid = queue_send(app, to="447700900888")
    result = invoke_batch(app, receive(app, 1))
    assert failures(result) == set()
    assert stored_message(app, mid)["status"] == "failed"  # type: ignore[index]
    assert tail.wait_for(lambda evs: any(e["detail-type"] == "Message Failed" for e in evs))
    assert "Aculab refused" in tail.of_type("Message Failed")[0]["detail"]["reason"]


def test_send_batch_concurrently(app: LocalApp, sim: SimulatorControl) -> None:
    # given Aculab takes 300 ms per call
    sim.configure(latency_ms=300)
    for _ in range(10):
        queue_send(app)
    messages = receive(app, 10)
    invoke_batch(app, [messages[0]])  # warm the container (secrets, connections)
    # when a batch of 9 is processed
    result = invoke_batch(app, messages[1:])
    # then the calls overlapped: a msg_send arrived while another was still at Aculab (300 ms each),
    # which a one-at-a-time send never does however slow the machine (how fast is make bench's)
    assert failures(result) == set()
    arrivals = sorted(float(a["at"]) for a in sim.send_arrivals())[1:]
    assert len(arrivals) == 9
    assert min(b - a for a, b in itertools.pairwise(arrivals)) < 0.3, arrivals


def test_producer_sends_many_and_cli_validates(app: LocalApp, sim: SimulatorControl) -> None:
    sqs = app.stack.client("sqs")
    producer = Producer(app.stack.refs["SendQueue"], sqs)
    requests_ = [SendRequest.model_validate({"message_id": f"bulk-{i}", "to": MOBILE, "from": US,
                                             "content": f"n{i}"}) for i in range(25)]
    assert len(producer.send_many(requests_)) == 25
    producer.send_mms(to=MOBILE, from_=US, msg_media=["a.png"], message_id="mms-1")
    assert drain_queue(app) == 26
    assert sim.stats()["calls_msg_send"] == 26
    cli = [sys.executable, "-m", "tools.producer", "--queue-url", app.stack.refs["SendQueue"],
           "--endpoint-url", app.stack.endpoint_url, "--region", "eu-west-1"]
    admin = app.stack.admin_credentials
    env = {"PYTHONPATH": f"{ROOT / 'layers' / 'core'}", "AWS_ACCESS_KEY_ID": admin["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": admin["aws_secret_access_key"], "PATH": "/usr/bin:/bin"}
    bad = subprocess.run([*cli, "sms", "--to", "12", "--from", US, "--text", "x"], capture_output=True, text=True,
                         env=env, check=False)
    assert bad.returncode == 2 and "invalid message" in bad.stderr
    good = subprocess.run([*cli, "sms", "--to", MOBILE, "--from", US, "--text", "x", "--message-id", "cli-1"],
                          capture_output=True, text=True, env=env, check=False)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout) == {"queued": "cli-1"}


def test_transient_failure_backs_off_exponentially(app: LocalApp, sim: SimulatorControl) -> None:
    # given Aculab fails this destination
    sim.configure(send_error_rules=[{"to_prefix": "447700900777", "status": 503}])
    queue_send(app, to="447700900777")
    sqs = app.stack.client("sqs")
    queue_url = app.stack.refs["SendQueue"]
    # when the record fails once
    message = receive(app, 1)
    assert failures(invoke_batch(app, message)) == {message[0]["MessageId"]}
    # then it is not visible again for the first backoff step (10 s), not the 180 s visibility timeout
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages") is None


def test_backoff_grows_with_receive_count(app_factory: Any, aws: str, sim: SimulatorControl) -> None:
    proxy = FaultProxy(aws)
    seen: list[int] = []

    def spy(op: str, request: dict[str, Any]) -> None:
        if op == "ChangeMessageVisibility":
            seen.append(int(request["VisibilityTimeout"]))
        return None

    proxy.fail(spy)  # type: ignore[arg-type]
    app = app_factory(AWS_ENDPOINT_URL=proxy.url)
    sim.configure(send_error_rules=[{"to_prefix": "447700900777", "status": 503}])
    queue_send(app, to="447700900777")
    message = receive(app, 1)
    for count in (1, 2, 3):
        message[0]["Attributes"]["ApproximateReceiveCount"] = str(count)
        invoke_batch(app, message)
    # capped exponential backoff with equal jitter: half of each step fixed, half random
    assert len(seen) == 3
    assert 5 <= seen[0] <= 10 and 10 <= seen[1] <= 20 and 20 <= seen[2] <= 40
    proxy.close()


def test_submitted_tells_the_parts_and_the_encoding_aculab_saw(app: LocalApp, sim: SimulatorControl) -> None:
    # given an sms whose ☕ forces UCS-2, long enough for two parts, and one in plain GSM-7
    tail = app.event_tail()
    ucs2 = queue_send(app, content="Your coffee ☕ is ready. " * 4)
    gsm = queue_send(app, content="Your order has shipped")
    # when both are sent
    drain_queue(app)
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Submitted")) >= 2)
    by_id = {e["detail"]["messageId"]: e["detail"] for e in tail.of_type("Message Submitted")}
    # then Message Submitted says what the simulator's own segmentation made of them: one ref a part
    assert (by_id[ucs2]["parts"], by_id[ucs2]["encoding"], by_id[ucs2]["ucs2Characters"]) == (2, "UCS-2", ["☕"])
    assert len(by_id[ucs2]["msgRefs"]) == 2
    assert (by_id[gsm]["parts"], by_id[gsm]["encoding"], by_id[gsm]["ucs2Characters"]) == (1, "GSM-7", None)
