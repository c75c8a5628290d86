"""The send path as the unit tests build it on their fakes, as runtime/wiring.py builds it on AWS: the webhook's
credentials and the credentials' check stand-ins, a webhook URL; everything else the test's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.ports import Aculab, EventPublisher, MetricsSink, SendQueue
from aculab_messaging.logic.sending import SendService
from aculab_messaging.logic.store_ports import SendStore
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.timing_fakes import FakeScheduler

WEBHOOK_URL = "https://hooks.example/aculab/notify"


def send_policy(**fields: Any) -> SendPolicy:
    return SendPolicy(webhook_url=WEBHOOK_URL, **fields)


def send_service(store: SendStore, publisher: EventPublisher, aculab: Aculab, queue: SendQueue,
                 clock: Callable[[], datetime], *, policy: SendPolicy | None = None,
                 metrics: MetricsSink | None = None, **more: Any) -> SendService:
    """``more``: the service's other collaborators (scheduler, pacer, sleep, check_credentials)."""
    more.setdefault("check_credentials", lambda: None)
    return SendService(store=store, publisher=publisher, aculab=aculab, queue=queue,
                       webhook_auth=lambda: ("aculab", "pw"), policy=policy or send_policy(), clock=clock,
                       metrics=metrics or RecordingMetrics(), **more)


class SendWorld:
    """The send path on the fakes, and what a test does with it: put a body on the queue, drain the queue through
    the service as the SQS trigger would, put back what the schedules due put on it, read a message's status."""

    drain_rounds = 50

    def __init__(self, *, store: InMemoryStore | None = None, scheduler: FakeScheduler | None = None,
                 policy: SendPolicy | None = None, **more: Any) -> None:
        self.store = store or InMemoryStore()
        self.publisher, self.aculab, self.clock = RecordingPublisher(), FakeAculab(), Clock()
        self.scheduler = scheduler or FakeScheduler()
        self.queue = InMemorySendQueue(self.clock)
        self.metrics = RecordingMetrics()
        self.service = send_service(self.store, self.publisher, self.aculab, self.queue, self.clock, policy=policy,
                                    metrics=self.metrics, scheduler=self.scheduler, **more)

    def put(self, body: dict[str, Any]) -> None:
        self.queue.put(json.dumps(body))

    def drain(self) -> None:
        """Every record now visible, through the service, as the SQS trigger would (a few rounds)."""
        for _ in range(self.drain_rounds):
            records = self.queue.receive()
            if not records:
                return
            outcomes = self.service.process_batch(records)
            self.queue.settle(records, {sid for sid, o in outcomes.items() if o.retry})

    def fire(self) -> None:
        for body in self.scheduler.fire_due(self.clock()):
            self.queue.put(body)

    def status(self, message_id: str) -> str | None:
        found = self.store.messages.get_message(message_id)
        return found.status if found else None
