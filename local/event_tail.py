"""Catches what is published on the bus: an EventBridge rule to an SQS queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class EventTail:
    def __init__(self, events: Any, sqs: Any, bus_name: str, source: str, name: str = "event-tail",
                 detail_types: list[str] | None = None) -> None:
        self._sqs = sqs
        self.pattern: dict[str, list[str]] = {"source": [source]}
        if detail_types:
            self.pattern["detail-type"] = detail_types
        self.queue_url = sqs.create_queue(QueueName=f"{name}-queue")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=bus_name, EventPattern=json.dumps(self.pattern), State="ENABLED")
        events.put_targets(Rule=name, EventBusName=bus_name, Targets=[{"Id": "tail", "Arn": arn}])
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def drain(self, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """Receive what has arrived (EventBridge envelopes), remember and return it."""
        with self._lock:
            return self._drain(wait_seconds)

    @contextmanager
    def following(self, every: float = 0.5) -> Iterator[None]:
        """Drain in the background while the body runs, so the queue stays short:
        moto's SQS slows down as a queue grows (a long soak ran superlinear)."""
        stop = threading.Event()

        def follow() -> None:
            while not stop.wait(every):
                self.drain()

        thread = threading.Thread(target=follow, name="event-tail", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _drain(self, wait_seconds: int) -> list[dict[str, Any]]:
        new: list[dict[str, Any]] = []
        while True:
            response = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            for m in messages:
                new.append(json.loads(m["Body"]))
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            wait_seconds = 0
        self.received.extend(new)
        return new

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            if predicate(self.received):
                return True
            time.sleep(0.05)
        self.drain()
        return predicate(self.received)

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e.get("detail-type") == detail_type]
