"""Drives an SQS-triggered handler the way Lambda's event source mapping does:
receive up to BatchSize records, invoke with a real SQS event, delete the
records not named in batchItemFailures, leave the others to become visible
again (and be redriven to the DLQ by SQS after maxReceiveCount)."""

from __future__ import annotations

import hashlib
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

Invoke = Callable[[dict[str, Any]], Any]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class SqsPoller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        region: str = "eu-west-1",
        retry_visibility_seconds: int | None = None,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._arn = queue_arn
        self._invoke = invoke
        self._batch = batch_size
        self._region = region
        self._retry_visibility = retry_visibility_seconds
        self._wait = wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.errors = 0
        # as Lambda does when it creates the event source mapping: the queue must be readable by the role
        self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])

    def poll_once(self) -> int:
        """One receive + invoke + delete cycle; returns how many records it handled."""
        response = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self._arn, self._region)
        failed: set[str] = set()
        try:
            result = self._invoke(event) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - a failed invocation fails the whole batch, as in Lambda
            failed = {m["MessageId"] for m in messages}
            self.errors += 1
            # as Lambda logs a failed invocation (its init's too): its error and stack trace, never silent
            print(f"invocation failed ({len(messages)} records from {self._url.rsplit('/', 1)[-1]} go back "
                  f"to the queue):\n{traceback.format_exc()}", file=sys.stderr, flush=True)
        self.batches += 1
        done = [m for m in messages if m["MessageId"] not in failed]
        # one DeleteMessage each: IAM authorises DeleteMessageBatch as sqs:DeleteMessage, which is
        # what the function's role (AWSLambdaSQSQueueExecutionRole) grants; moto wants the batch action
        for m in done:
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"])
        if self._retry_visibility is not None:
            for m in messages:
                if m["MessageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=self._retry_visibility,
                    )
        return len(messages)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqs-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - keep polling, as the event source mapping does
                self.errors += 1
                print(f"polling {self._url.rsplit('/', 1)[-1]} failed: {type(exc).__name__}: {exc}", file=sys.stderr,
                      flush=True)
                self._stop.wait(1)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def run_together(pollers: list[SqsPoller], done: Callable[[], bool], limit_seconds: float = 120.0) -> None:
    """Poll with every poller at once (concurrent invocations, each its own
    container) until ``done()`` or the limit."""
    import time

    stop = threading.Event()

    def work(poller: SqsPoller) -> None:
        while not stop.is_set():
            poller.poll_once()

    threads = [threading.Thread(target=work, args=(p,), name="sqs-poller", daemon=True) for p in pollers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + limit_seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
