from __future__ import annotations

import pytest

from aculab_messaging.logic.status import (
    FINAL_RANK,
    Status,
    UnknownStatusError,
    derive_message_status,
    is_final,
    parse_provider_status,
    rank,
)


def test_parse_failed_status_keeps_reason() -> None:
    # given Aculab's failed text / when parsed / then status and reason are split
    parsed = parse_provider_status("failed (invalid destination)")
    assert parsed.status is Status.FAILED
    assert parsed.reason == "invalid destination"
    assert parsed.raw == "failed (invalid destination)"


@pytest.mark.parametrize("raw", ["queued", "submitted to carrier", "sent", "delivered", "accepted", "cancelled"])
def test_parse_documented_statuses(raw: str) -> None:
    assert parse_provider_status(raw).status.value == raw


@pytest.mark.parametrize("raw", ["received", "unknown", "deliverd", ""])
def test_parse_rejects_non_transition_status(raw: str) -> None:
    with pytest.raises(UnknownStatusError):
        parse_provider_status(raw)


def test_rank_orders_statuses_forward() -> None:
    order = [Status.QUEUED, Status.SUBMITTED, Status.SENT, Status.DELIVERED]
    assert [rank(s) for s in order] == sorted(rank(s) for s in order)
    assert rank(Status.FAILED) == rank(Status.DELIVERED) == FINAL_RANK


def test_rank_makes_sent_final_without_delivery_report() -> None:
    assert is_final(Status.SENT, delivery_report=False)
    assert not is_final(Status.SENT, delivery_report=True)
    assert rank(Status.SENT, delivery_report=False) == FINAL_RANK


def test_derive_message_status_is_lowest_until_all_final() -> None:
    assert derive_message_status([Status.DELIVERED, Status.SENT, Status.SUBMITTED]) is Status.SUBMITTED
    assert derive_message_status([Status.DELIVERED, Status.DELIVERED]) is Status.DELIVERED


def test_derive_message_status_failed_if_any_part_failed() -> None:
    assert derive_message_status([Status.DELIVERED, Status.FAILED, Status.DELIVERED]) is Status.FAILED
    # not every part final yet: still the lowest
    assert derive_message_status([Status.FAILED, Status.SENT]) is Status.SENT


def test_take_batch_fills_each_msg_status_call_without_splitting_a_message() -> None:
    from aculab_messaging.logic.message_record import MessageRecord
    from aculab_messaging.logic.reconcile import take_batch

    def records(parts: list[int]) -> list[MessageRecord]:
        return [MessageRecord(message_id=f"m{i}", status="queued", rank=10,
                              refs=[f"r{i}-{p}" for p in range(n)]) for i, n in enumerate(parts)]

    # given eleven single-part messages / when a call takes ten refs / then ten go, one waits
    full, rest = take_batch(records([1] * 11), 10)
    assert (len(full), len(rest)) == (10, 1)
    # given 3-part messages / then as many whole messages as fit
    full, rest = take_batch(records([3, 3, 3, 3]), 10)
    assert (len(full), len(rest)) == (3, 1)
    # given one message larger than a call / then it still goes, alone
    full, rest = take_batch(records([12, 1]), 10)
    assert (len(full), len(rest)) == (1, 1)
