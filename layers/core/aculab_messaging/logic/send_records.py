"""The SQS side of the send path: what becomes of one record (its events,
whether SQS delivers it again, after how long, or to the dead-letter queue),
and the policy that decides retries and backoff."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.contracts.events import Event


@dataclass
class RecordOutcome:
    """What became of one SQS record: events to publish, and whether SQS
    should deliver it again (``retry``)."""

    events: list[Event] = field(default_factory=list)
    retry: bool = False
    reason: str | None = None
    # back on the queue after this many seconds instead of the backoff (a copy meeting a live claim)
    delay_seconds: int | None = None
    # the retry window ran out: to the dead-letter queue once its events are out
    dead_letter: bool = False


@dataclass(frozen=True)
class KnownBlocked:
    """The opt-outs of a batch's sends, read together before the batch fans out."""

    read: frozenset[tuple[str, str]]
    blocked: frozenset[tuple[str, str]]

    def get(self, from_: str, to: str) -> bool | None:
        """Whether the (from, to) pair is blocked; None for a pair not read."""
        return (from_, to) in self.blocked if (from_, to) in self.read else None


def partial_batch_response(outcomes: Mapping[str, RecordOutcome]) -> dict[str, list[dict[str, str]]]:
    """SQS's partial batch response: the records it must deliver again."""
    return {"batchItemFailures": [{"itemIdentifier": sqs_id} for sqs_id, o in outcomes.items() if o.retry]}


@dataclass(frozen=True)
class SendPolicy:
    """How the send function submits: status page, guarantee, retries, concurrency."""

    webhook_url: str
    status_method: str = "POST"
    guarantee: str = "at-most-once"
    max_receive_count: int = 100  # the queue's redrive backstop; the retry window decides first
    concurrency: int = 10
    base_backoff_seconds: int = 10
    max_backoff_seconds: int = 900
    retry_window_seconds: int = 6 * 3600
    # a claim lives for the invocation's time left plus this margin
    claim_margin_seconds: int = 60
    # the invocation's time when the caller does not say (the template's Timeout)
    invocation_seconds: float = 30.0
    # a copy that meets a live claim looks again after at most this long
    busy_retry_seconds: int = 15
    # read national numbers (07700 900123) in this region; None: full international only
    default_region: str | None = None
    # a record the pace cannot fit within its horizon looks again after this long
    pace_retry_seconds: int = 1

    def backoff(self, receive_count: int, rng: random.Random | None = None) -> int:
        """Capped exponential backoff with equal jitter: half the step fixed,
        half random, so a crowd of retries spreads out."""
        doublings = min(30, max(0, receive_count - 1))
        step = min(self.max_backoff_seconds, self.base_backoff_seconds << doublings)
        jitter = (rng or random).uniform(0, step / 2)  # nosec B311 - spreading retries, not secrecy
        return max(1, round(step / 2 + jitter))

    def window_ran_out(self, record: Mapping[str, Any], now: datetime) -> bool:
        """True when a record that failed now must not be retried again: its
        retry window (from when it was first sent to the queue) is over, or
        it reached the queue's receive-count backstop."""
        sent_ms = (record.get("attributes") or {}).get("SentTimestamp")
        age = now.timestamp() - int(sent_ms) / 1000 if sent_ms else 0.0
        return age >= self.retry_window_seconds or receive_count(record) >= self.max_receive_count


def message_id_of(record: Mapping[str, Any]) -> str:
    try:
        return str(json.loads(str(record.get("body", "")))["message_id"])[:128]
    except (ValueError, TypeError, KeyError):
        return ""


def receive_count(record: Mapping[str, Any]) -> int:
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
