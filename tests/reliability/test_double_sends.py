"""Forced SQS redelivery and the send function dying at random points:
the simulator receives each message at most once, and every message ends
submitted, failed with an event, or dead-lettered with an event."""

from __future__ import annotations

import random
import time
import urllib.parse
from collections import Counter
from typing import Any

from local.app import LocalApp
from local.sqs_poller import sqs_event
from simulator.control import SimulatorControl
from tests.faults import FaultProxy, random_failures
from tests.integration.conftest import queue_send
from tests.reliability.conftest import Counts, report


def test_never_sends_twice(app_factory: Any, aws: str, sim: SimulatorControl, counts: Counts) -> None:
    proxy = FaultProxy(aws)
    # claims' leases compressed: an invocation "lasts" 0.5 s and its claim 1 s more, so a claim
    # left by a function that died runs out within the loop below, as it would after 90 s in AWS
    app: LocalApp = app_factory(AWS_ENDPOINT_URL=proxy.url, POWERTOOLS_LOG_LEVEL="CRITICAL",
                                SEND_CLAIM_MARGIN_SECONDS="1")
    tail = app.event_tail()
    sim.configure(step_seconds=3600, error_rate_5xx=0.05, seed=3)
    n = counts.double_send_messages
    mids = [queue_send(app) for _ in range(n)]
    # the function "dies" at random points: any of its AWS calls may fail for good
    proxy.fail(random_failures({"GetItem", "PutItem", "UpdateItem", "BatchWriteItem", "PutEvents"}, 0.08, seed=9))
    sqs = app.stack.client("sqs")
    queue_url, arn = app.stack.refs["SendQueue"], app.stack.attrs[("SendQueue", "Arn")]
    rng = random.Random(4)
    for _ in range(n * 30):
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                  VisibilityTimeout=0, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            # a copy that met a live claim went back as a fresh message delayed until the claim's lease
            # (compressed here to about a second) runs out: wait for it, as the event source mapping would
            delayed = int(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
                "ApproximateNumberOfMessagesDelayed"])["Attributes"]["ApproximateNumberOfMessagesDelayed"])
            if not delayed:
                break
            time.sleep(0.5)
            continue
        event = sqs_event(got, arn, "eu-west-1")
        result = app.invoke("send", event, timeout=0.5)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        if rng.random() < 0.3:
            app.invoke("send", event, timeout=0.5)  # forced redelivery of the same batch
        for m in got:  # time passes: the function's backoff is over at once
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
        done = [m for m in got if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
    proxy.clear()
    # the reconciler replays what could not be announced before a record was dead-lettered
    app.run_reconcile()
    # what the simulator received, by our message_id (carried in status_page)
    sent = Counter(urllib.parse.parse_qs(urllib.parse.urlsplit(m["status_page"]).query)["mid"][0]
                   for m in sim.messages() if m.get("status_page"))
    twice = [mid for mid, k in sent.items() if k > 1]
    dlq = app.stack.refs["SendDeadLetterQueue"]
    dead = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])
    tail.wait_for(lambda evs: False, timeout=2)
    failed_events = {e["detail"]["messageId"] for e in tail.of_type("Message Failed")}
    submitted_events = {e["detail"]["messageId"] for e in tail.of_type("Message Submitted")}
    from aculab_messaging.dal import TableStore

    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    outcome: Counter[str] = Counter()
    unaccounted = []
    for mid in mids:
        record = store.messages.get_message(mid)
        if record is not None and record.refs and mid in submitted_events:
            outcome["submitted with event"] += 1
        elif record is not None and record.status == "failed" and mid in failed_events:
            outcome["failed with event"] += 1
        elif mid in failed_events:
            outcome["dead-lettered with event"] += 1
        else:
            unaccounted.append((mid, record.status if record else None, bool(record and record.refs)))
    report("messages sent twice", len(twice), "0")
    report("outcomes", dict(outcome), f"all {n} accounted for")
    report("in the DLQ", dead, "-")
    assert not twice
    assert not unaccounted, unaccounted[:5]
    proxy.close()
