"""An in-memory SQS send queue (logic/ports.py ``SendQueue``) with SQS's own rules
that matter to the send path: a record handed back keeps its receive count and
goes to the dead-letter queue at ``max_receive_count``; a fresh copy starts at 0."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass
class QueuedRecord:
    body: str
    visible_at: datetime
    receives: int = 0
    sent_at: datetime | None = None
    sqs_id: str = ""


@dataclass
class InMemorySendQueue:
    clock: Callable[[], datetime]
    max_receive_count: int = 100
    waiting: list[QueuedRecord] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)  # bodies: the function's own dead-lettering
    redriven_by_sqs: list[str] = field(default_factory=list)  # bodies SQS moved after max_receive_count
    later_calls: list[int] = field(default_factory=list)  # delays asked for fresh copies
    retry_calls: list[int] = field(default_factory=list)  # backoffs asked for records handed back
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _in_flight: dict[str, QueuedRecord] = field(default_factory=dict)

    # -- the port -------------------------------------------------------------------

    def later(self, body: str, delay_seconds: int) -> None:
        assert 0 <= delay_seconds <= 900, delay_seconds
        self.later_calls.append(delay_seconds)
        self.put(body, delay_seconds)

    def retry_after(self, record: Mapping[str, Any], seconds: int) -> None:
        self.retry_calls.append(seconds)
        held = self._in_flight.get(str(record["messageId"]))
        if held is not None:
            held.visible_at = self.clock() + timedelta(seconds=seconds)

    def dead_letter(self, record: Mapping[str, Any]) -> None:
        self.dead.append(str(record["body"]))

    # -- SQS's side -----------------------------------------------------------------

    def put(self, body: str, delay_seconds: int = 0) -> None:
        now = self.clock()
        self.waiting.append(QueuedRecord(body, now + timedelta(seconds=delay_seconds), sent_at=now,
                                         sqs_id=f"sqs-{next(self._ids)}"))

    def receive(self, limit: int = 10) -> list[dict[str, Any]]:
        """Up to ``limit`` visible records, as the event source mapping hands them over."""
        now = self.clock()
        batch: list[dict[str, Any]] = []
        for held in sorted(self.waiting, key=lambda q: q.visible_at):
            if len(batch) == limit or held.visible_at > now:
                break
            if held.receives >= self.max_receive_count:  # the queue's own redrive
                self.waiting.remove(held)
                self.redriven_by_sqs.append(held.body)
                continue
            held.receives += 1
            held.visible_at = now + timedelta(seconds=30)  # the visibility timeout
            self._in_flight[held.sqs_id] = held
            batch.append({"messageId": held.sqs_id, "receiptHandle": f"rh-{held.sqs_id}", "body": held.body,
                          "attributes": {"ApproximateReceiveCount": str(held.receives),
                                         "SentTimestamp": str(int((held.sent_at or now).timestamp() * 1000))}})
        return batch

    def settle(self, records: list[dict[str, Any]], failures: set[str]) -> None:
        """The partial batch response: the records not named are deleted."""
        for record in records:
            sqs_id = str(record["messageId"])
            held = self._in_flight.pop(sqs_id, None)
            if held is not None and sqs_id not in failures:
                self.waiting.remove(held)

    def next_visible(self) -> datetime | None:
        return min((q.visible_at for q in self.waiting), default=None)
