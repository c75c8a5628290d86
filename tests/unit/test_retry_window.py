"""The send path's retry schedule on a controllable clock: long Aculab outages
are ridden out inside the retry window, and only a window that ran out
dead-letters (no sockets: the policy is plain arithmetic)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aculab_messaging.logic.policy import SendPolicy
from local.template import load_sam

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def attempts_through(outage: timedelta, policy: SendPolicy, seed: int = 7) -> tuple[str, int, timedelta]:
    """Deliver one record the way SQS does, failing while Aculab is out, the message first seen at START
    (its item keeps that): (what became of it, attempts, when it was sent after the outage ended)."""
    rng = random.Random(seed)
    now, receives = START, 1
    while True:
        if now >= START + outage:
            return "sent", receives, now - (START + outage)
        if policy.gave_up(START, receives, now):
            return "dead-lettered", receives, timedelta(0)
        now += timedelta(seconds=policy.backoff(receives, rng))
        receives += 1


def max_receive_count() -> int:
    return int(load_sam()["Resources"]["SendQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])


@pytest.mark.parametrize("hours", [1, 3, 5.9])
def test_an_outage_inside_the_window_is_ridden_out(hours: float) -> None:
    # given the deployed policy (6 h window, 10 s doubling to 15 min, jitter)
    policy = SendPolicy(webhook_url="https://example.invalid")
    # when Aculab is out for hours
    outcome, attempts, late = attempts_through(timedelta(hours=hours), policy)
    # then the record is sent within one backoff step of recovery, before SQS's redrive backstop
    assert outcome == "sent"
    assert late <= timedelta(seconds=policy.max_backoff_seconds)
    assert attempts < max_receive_count()


def test_only_a_window_that_ran_out_dead_letters() -> None:
    policy = SendPolicy(webhook_url="https://example.invalid")
    outcome, attempts, _ = attempts_through(timedelta(hours=7), policy)
    assert outcome == "dead-lettered"
    assert attempts < max_receive_count()  # the window, not the redrive count, decided


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    policy = SendPolicy(webhook_url="https://example.invalid")
    rng = random.Random(1)
    steps = [[policy.backoff(n, rng) for _ in range(200)] for n in (1, 2, 3, 8, 40)]
    for values, full in zip(steps, (10, 20, 40, 900, 900), strict=True):
        assert min(values) >= full / 2 and max(values) <= full
        assert len(set(values)) > 1  # spread, not a thundering herd
