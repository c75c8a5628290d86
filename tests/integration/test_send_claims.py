"""The send path under SQS's at-least-once delivery, with AWS's rules enforced:
concurrent copies of one request, secrets that cannot be read, and bad
records beside good ones (moto server and the simulator, the deployed handler)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.faults import FaultProxy, fail_operation
from tests.integration.conftest import queue_send, stored_message
from tests.integration.test_send import failures, invoke_batch, receive

US, MOBILE = "447700900001", "447700900123"
BODY = {"to": MOBILE, "from": US, "content": "hello", "request_delivery_report": True}


def put_copies(app: LocalApp, message_id: str, copies: int = 2) -> None:
    sqs = app.stack.client("sqs")
    for _ in range(copies):
        sqs.send_message(QueueUrl=app.stack.refs["SendQueue"], MessageBody=json.dumps({"message_id": message_id,
                                                                                      **BODY}))


def queue_depth(app: LocalApp) -> int:
    attrs = app.stack.client("sqs").get_queue_attributes(
        QueueUrl=app.stack.refs["SendQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesDelayed"])


def invoke_and_ack(app: LocalApp, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """One invocation as the event source mapping makes it: acknowledged records are deleted."""
    result = invoke_batch(app, messages)
    sqs = app.stack.client("sqs")
    for message in messages:
        if message["MessageId"] not in failures(result):
            sqs.delete_message(QueueUrl=app.stack.refs["SendQueue"], ReceiptHandle=message["ReceiptHandle"])
    return result


def run_until_settled(app: LocalApp, sim: SimulatorControl, message_id: str) -> None:
    """The event source mapping keeps polling until the copies are done and the carrier delivered."""
    poller = app.send_poller(wait_seconds=1)
    poller.start()
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end:
            item = stored_message(app, message_id)
            visible = app.stack.client("sqs").get_queue_attributes(
                QueueUrl=app.stack.refs["SendQueue"],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            queued = int(visible["ApproximateNumberOfMessages"]) + int(visible["ApproximateNumberOfMessagesNotVisible"])
            if item and item.get("status") == "delivered" and queued == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"not settled: {stored_message(app, message_id)}")
    finally:
        poller.stop()


@pytest.mark.parametrize("guarantee", ["at-most-once", "at-least-once"])
@pytest.mark.parametrize("how", ["one batch", "two overlapping invocations"])
def test_concurrent_copies_send_once_and_end_delivered(
    app_factory: Any, sim: SimulatorControl, guarantee: str, how: str
) -> None:
    # given msg_send takes 1.5 s at Aculab, and two copies of one request are on the queue
    app = app_factory(SEND_GUARANTEE=guarantee, SEND_BUSY_RETRY_SECONDS="1")
    sim.configure(latency_ms=1500, step_seconds=0.1)
    tail = app.event_tail()
    mid = f"copies-{guarantee}-{how.split()[0]}"
    put_copies(app, mid)
    # when both are handled at the same time
    if how == "one batch":
        result = invoke_and_ack(app, receive(app, 2))
        # the copy that met the live claim was acknowledged and went back to the queue as a fresh copy
        # (a wait costs no receive): SendMessage with the function's own role
        assert len(failures(result)) == 0 and queue_depth(app) == 1
    else:
        sqs = app.stack.client("sqs")
        first, second = ([sqs.receive_message(QueueUrl=app.stack.refs["SendQueue"], MaxNumberOfMessages=1,
                                               AttributeNames=["All"])["Messages"][0]] for _ in range(2))
        results: list[dict[str, Any]] = []
        threads = [threading.Thread(target=lambda m=m: results.append(invoke_and_ack(app, m))) for m in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(len(failures(r)) for r in results) == [0, 0] and queue_depth(app) == 1
    # and the copy sent back is handled once the first attempt ended
    run_until_settled(app, sim, mid)
    # then one msg_send, one Message Submitted (repeats share its eventId), no Message Failed, delivered
    assert sim.stats()["calls_msg_send"] == 1
    assert tail.wait_for(lambda evs: any(e["detail"].get("status") == "delivered" for e in evs))
    assert len({e["detail"]["eventId"] for e in tail.of_type("Message Submitted")}) == 1
    assert tail.of_type("Message Failed") == []
    assert stored_message(app, mid)["status"] == "delivered"  # type: ignore[index]


def test_refs_are_kept_when_the_claim_changed_under_the_send(app: LocalApp, sim: SimulatorControl) -> None:
    # given a claim that another copy marked "outcome unknown" while this attempt's msg_send was in flight
    from datetime import UTC, datetime, timedelta

    from aculab_messaging.dal import TableStore
    from aculab_messaging.logic import lifecycle as lc
    from aculab_messaging.logic.status import OUTCOME_UNKNOWN
    from tests import seeding

    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    now = datetime.now(UTC)
    lease = seeding.claimed(store, "late", now, lease=-timedelta(seconds=1), to=MOBILE, from_=US)
    assert store.messages.transition(lc.Change(lc.GIVE_UP, "late", now, fields={"reason": OUTCOME_UNKNOWN})).done
    # when the refs Aculab returned arrive
    submit = lc.Change(lc.SUBMIT, "late", now, lease_until=lease)
    assert store.messages.record_submitted(submit, ["ref-late_1", "ref-late_2"], True).done is True
    # then they are stored, the message is queued again, and each ref routes to it
    item = store.messages.get_message("late")
    assert item is not None and item.status == "queued" and item.refs == ["ref-late_1", "ref-late_2"]
    assert set(item.parts) == {"ref-late_1", "ref-late_2"}
    assert store.refs.find_by_ref("ref-late_2") == ("late", True)


def test_unset_aculab_secret_waits_in_the_queue_then_sends(app: LocalApp, sim: SimulatorControl,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    # given a deployment whose Aculab secret still holds its placeholder
    sim.configure(step_seconds=3600)  # held at Aculab: still queued when it is read, however busy the machine
    sm = app.stack.client("secretsmanager")
    secret = app.stack.refs["AculabApiSecret"]
    real = sm.get_secret_value(SecretId=secret)["SecretString"]
    sm.put_secret_value(SecretId=secret, SecretString=json.dumps({"cloud_id": "", "username": "", "api_key": "x"}))
    mid = queue_send(app)
    messages = receive(app, 1)
    # when the record is handled
    result = invoke_batch(app, messages)
    # then it goes back to the queue unclaimed, loudly, and nothing was sent or failed
    assert failures(result) == {messages[0]["MessageId"]}
    assert stored_message(app, mid) is None
    assert sim.stats().get("calls_msg_send", 0) == 0
    assert "Aculab credentials not set" in capfd.readouterr().out
    # and once the secret is set, the same record is sent
    sm.put_secret_value(SecretId=secret, SecretString=real)
    assert failures(invoke_batch(app, messages)) == set()
    assert stored_message(app, mid)["status"] == "queued"  # type: ignore[index]


def test_unreadable_secret_never_fails_a_message(app_factory: Any, aws: str, sim: SimulatorControl) -> None:
    # given Secrets Manager fails for the send function's first reads
    proxy = FaultProxy(aws)
    proxy.fail(fail_operation("GetSecretValue", times=6, status=500, code="InternalServiceError"))
    app = app_factory(AWS_ENDPOINT_URL=proxy.url)
    sim.configure(step_seconds=3600)  # held at Aculab: still queued when it is read, however busy the machine
    mid = queue_send(app)
    messages = receive(app, 1)
    # when the record is handled while they fail, then it waits in the queue, unclaimed
    assert failures(invoke_batch(app, messages)) == {messages[0]["MessageId"]}
    assert stored_message(app, mid) is None
    # and is sent once Secrets Manager answers
    proxy.clear()
    assert failures(invoke_batch(app, messages)) == set()
    assert stored_message(app, mid)["status"] == "queued"  # type: ignore[index]
    assert sim.stats()["calls_msg_send"] == 1
    proxy.close()


def test_bad_records_never_touch_a_valid_message(app: LocalApp, sim: SimulatorControl) -> None:
    # given a valid message that was sent
    sim.configure(step_seconds=3600)
    tail = app.event_tail()
    good = queue_send(app)
    assert failures(invoke_batch(app, receive(app, 1))) == set()
    sqs, queue = app.stack.client("sqs"), app.stack.refs["SendQueue"]
    # when bad records arrive: a cancel with an unknown field for it, an id over the limit, a body not JSON
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"action": "cancel", "message_id": good, "why": 1}))
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"message_id": "x" * 300, **BODY}))
    sqs.send_message(QueueUrl=queue, MessageBody="{not json")
    result = invoke_batch(app, receive(app, 3))
    # then every one is acknowledged (none left for the DLQ) with a Message Rejected naming its problem
    assert failures(result) == set()
    assert tail.wait_for(lambda evs: len([e for e in evs if e["detail-type"] == "Message Rejected"]) == 3)
    rejected = [e["detail"] for e in tail.of_type("Message Rejected")]
    assert all(r["messageId"].startswith("sqs-") for r in rejected)  # the valid message's id is not used
    reasons = " | ".join(r["reason"] for r in rejected)
    assert "why" in reasons and "message_id" in reasons and "not JSON" in reasons
    # and the valid message is exactly as it was, and was never cancelled
    assert stored_message(app, good)["status"] == "queued"  # type: ignore[index]
    assert sim.stats().get("calls_msg_cancel", 0) == 0


def test_a_rejection_does_not_take_the_message_id(app: LocalApp, sim: SimulatorControl) -> None:
    # given a rejected request (its to is no number) with a message_id
    sim.configure(step_seconds=3600)  # held at Aculab: still queued when it is read, however busy the machine
    tail = app.event_tail()
    sqs, queue = app.stack.client("sqs"), app.stack.refs["SendQueue"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"message_id": "reused", **BODY, "to": "n/a"}))
    assert failures(invoke_batch(app, receive(app, 1))) == set()
    assert tail.wait_for(lambda evs: any(e["detail"]["messageId"] == "reused" for e in evs))
    # when a valid request with the same message_id follows
    queue_send(app, message_id="reused")
    assert failures(invoke_batch(app, receive(app, 1))) == set()
    # then it is sent
    assert stored_message(app, "reused")["status"] == "queued"  # type: ignore[index]
    assert sim.stats()["calls_msg_send"] == 1


def test_a_rejected_api_key_holds_the_line_until_the_secret_is_fixed(app: LocalApp, sim: SimulatorControl) -> None:
    # given the account's API key rotated at Aculab, and the stack's secret still holding the old one
    sm = app.stack.client("secretsmanager")
    secret = app.stack.refs["AculabApiSecret"]
    old = json.loads(sm.get_secret_value(SecretId=secret)["SecretString"])
    sim.set_api_key("rotated-key")
    mid = queue_send(app)
    messages = receive(app, 1)
    # when the message is tried: 401, and it waits for a retry, not failed
    assert failures(invoke_batch(app, messages)) == {messages[0]["MessageId"]}
    assert stored_message(app, mid)["status"] == "retryable"  # type: ignore[index]
    assert sim.stats()["auth_failures"] >= 1 and sim.send_arrivals() == []
    # and once the operator puts the new key in the secret, the retry reads it (the cache was dropped on 401)
    sm.put_secret_value(SecretId=secret, SecretString=json.dumps({**old, "api_key": "rotated-key"}))
    assert failures(invoke_batch(app, messages)) == set()
    # then it went once
    assert len(sim.send_arrivals()) == 1 and stored_message(app, mid)["status"] in ("queued", "delivered", "sent",
                                                                                     "submitted to carrier")
