"""The send path as the unit tests build it on their fakes, as runtime/wiring.py builds it on AWS: the webhook's
credentials and the credentials' check stand-ins, a webhook URL; everything else the test's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.ports import Aculab, EventPublisher, MetricsSink, SendQueue
from aculab_messaging.logic.sending import SendService
from aculab_messaging.logic.store_ports import SendStore
from aculab_messaging.runtime.metrics import RecordingMetrics

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
