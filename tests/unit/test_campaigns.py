"""Campaigns (issue #27): a cancel of a whole campaign (every message of it not yet at Aculab, those still on
the queue included), its progress counted by status, and a pace of its own. On in-memory fakes, the
in-memory queue and a controllable clock: given/when/then."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabServerError
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.queue import CampaignCancelRequest, CancelRequest, parse_queue_message
from aculab_messaging.logic.campaign_progress import progress
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy
from tests.fakes.services import Clock
from tests.send_wiring import SendWorld
from tests.timing_fakes import InMemoryPace

OURS = "447700900001"


class World(SendWorld):
    drain_rounds = 20

    @staticmethod
    def send(message_id: str, campaign: str | None = "spring", **fields: Any) -> dict[str, Any]:
        return {"message_id": message_id, "to": "447700900123", "from": OURS, "content": "Sale on",
                **({"campaign_id": campaign} if campaign else {}), **fields}

    def events_of(self, message_id: str) -> list[str]:
        return [e.detail_type for e in self.publisher.published if e.detail.get("messageId") == message_id]


@pytest.fixture
def w() -> World:
    return World()


def test_a_campaign_cancel_stops_every_message_not_yet_at_aculab(w: World) -> None:
    # given a campaign's messages at every stage: one at Aculab, one scheduled for tomorrow, one waiting for
    # a retry after a 503, one still on the queue unseen; and a message of no campaign, scheduled too
    w.put(w.send("at-aculab"))
    w.put(w.send("tomorrow", send_at=w.clock().replace(day=26).isoformat()))
    w.put(w.send("other", campaign=None, send_at=w.clock().replace(day=26).isoformat()))
    w.drain()
    w.aculab.error = AculabServerError(503, "Service Unavailable")
    w.put(w.send("retrying"))
    w.drain()
    w.aculab.error = None
    assert [w.status(m) for m in ("at-aculab", "tomorrow", "retrying")] == ["queued", "scheduled", "retryable"]
    # when the campaign is cancelled, and then the unseen one is taken off the queue
    w.put({"action": "cancel", "campaign_id": "spring"})
    w.drain()
    w.put(w.send("unseen"))
    w.clock.advance(minutes=5)  # the retrying one's backoff is over: it comes back too
    w.drain()
    # then the scheduled, the waiting and the unseen one are cancelled, each said so once, none sent;
    # the one at Aculab is left to go (no msg_cancel), and the message of no campaign is untouched
    assert [w.status(m) for m in ("tomorrow", "retrying", "unseen")] == ["cancelled"] * 3
    assert all(w.events_of(m).count(ev.MESSAGE_CANCELLED) == 1 for m in ("tomorrow", "retrying", "unseen"))
    assert len(w.aculab.sent) == 1 and w.aculab.cancelled == []
    assert w.status("at-aculab") == "queued" and w.status("other") == "scheduled"
    assert len(w.scheduler.schedules) == 1  # only "other"'s is left
    unseen = [e for e in w.publisher.published if e.detail.get("messageId") == "unseen"]
    assert unseen[-1].detail["reason"] == "campaign cancelled" and w.metrics.counts["MessageWithdrawn"] == 1


def test_a_scheduled_message_of_a_campaign_cancelled_later_is_withdrawn_when_it_fires(w: World) -> None:
    # given a message scheduled for tomorrow whose campaign is marked cancelled behind the sweep's back
    # (the sweep read the campaign index before the message was in it: the index is eventually consistent)
    w.put(w.send("late", send_at=w.clock().replace(day=26).isoformat()))
    w.drain()
    w.store.campaigns.cancel_campaign("spring", w.clock(), "a1")
    # when its schedule fires
    w.clock.advance(days=1)
    for body in w.scheduler.fire_due(w.clock()):
        w.queue.put(body)
    w.drain()
    # then its send reads the campaign first: withdrawn, never sent
    assert w.status("late") == "cancelled" and w.aculab.sent == []


def test_a_large_campaign_is_cancelled_a_page_at_a_time(w: World) -> None:
    # given five scheduled messages of a campaign, and pages of two
    for i in range(5):
        w.put(w.send(f"m-{i}", send_at=w.clock().replace(day=26).isoformat()))
    w.drain()
    w.service.campaign_page = 2
    # when the campaign is cancelled
    w.put({"action": "cancel", "campaign_id": "spring"})
    first = w.queue.receive()
    w.service.process_batch(first)
    w.queue.settle(first, set())
    # then the first pass cancels two, the mark says how far that pass got, and a copy of the cancel naming the
    # pass is put to carry on
    assert [w.status(f"m-{i}") for i in range(5)].count("cancelled") == 2
    (following,) = [json.loads(r.body) for r in w.queue.waiting]
    assert set(following) == {"version", "action", "campaign_id", "pass_id"}
    assert w.store.campaigns.cancel_campaign("spring", w.clock(), following["pass_id"]) == "m-1"
    w.drain()
    # and the copies finish the rest: every one cancelled once, every schedule gone
    assert [w.status(f"m-{i}") for i in range(5)] == ["cancelled"] * 5
    assert w.scheduler.schedules == {}
    assert sum(e.detail_type == ev.MESSAGE_CANCELLED for e in w.publisher.published) == 5


def test_a_campaigns_progress_counts_its_messages_by_status(w: World) -> None:
    assert progress(w.store.campaigns, "spring") is None  # nothing seen, never cancelled
    for i in range(3):
        w.put(w.send(f"now-{i}"))
    w.put(w.send("later", send_at=w.clock().replace(day=26).isoformat()))
    w.put(w.send("elsewhere", campaign="autumn"))
    w.drain()
    found = progress(w.store.campaigns, "spring")
    assert found is not None and found.by_status == {"queued": 3, "scheduled": 1}
    assert (found.messages, found.final, found.cancelled_at) == (4, 0, None)
    w.put({"action": "cancel", "campaign_id": "spring"})
    w.drain()
    found = progress(w.store.campaigns, "spring")
    assert found is not None and found.by_status == {"cancelled": 1, "queued": 3} and found.final == 1
    assert found.cancelled_at is not None and found.cancelled_at.startswith("2026-11-25T09:00")


def test_a_campaign_keeps_its_own_pace_under_the_stacks() -> None:
    # given a stack of 10 a second, and a campaign that asks for 2 a second
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(max_per_second=10, margin=0, lead_seconds=0))
    spring = [pacer.reserve(OURS, clock, campaign=("spring", 2.0)) for _ in range(3)]
    # then its sends go half a second apart, and a send of no campaign still gets the stack's next slot
    assert [(s - clock()).total_seconds() for s in spring if s] == [0.0, 0.5, 1.0]
    other = pacer.reserve("447700900002", clock)
    assert other is not None and (other - clock()).total_seconds() == pytest.approx(1.1)
    # and another container (another pacer) that has not seen the campaign learns its slot from the item
    second = Pacer(pace, PacePolicy(max_per_second=10, margin=0, lead_seconds=0))
    fourth = second.reserve(OURS, clock, campaign=("spring", 2.0))
    assert fourth is not None and (fourth - clock()).total_seconds() == pytest.approx(1.5)


def test_a_campaign_pace_alone_paces_on_a_stack_without_limits() -> None:
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(margin=0, lead_seconds=0))
    slots = [pacer.reserve(OURS, clock, campaign=("spring", 4.0)) for _ in range(3)]
    assert {round((b - a).total_seconds(), 6) for a, b in itertools.pairwise(s for s in slots if s)} == {0.25}
    assert pacer.reserve(OURS, clock) == clock()  # a send of no campaign: nothing limits it


def test_the_contract_of_a_campaign() -> None:
    body = {"message_id": "m-1", "to": "447700900123", "from": OURS, "content": "hi"}
    cancel = parse_queue_message(json.dumps({"action": "cancel", "campaign_id": "spring"}))
    assert isinstance(cancel, CampaignCancelRequest) and cancel.campaign_id == "spring"
    assert isinstance(parse_queue_message(json.dumps({"action": "cancel", "message_id": "m-1"})), CancelRequest)
    with pytest.raises(ContractError, match="campaign_max_per_second needs a campaign_id"):
        parse_queue_message(json.dumps(body | {"campaign_max_per_second": 2}))
    with pytest.raises(ContractError, match="campaign_id"):
        parse_queue_message(json.dumps(body | {"campaign_id": "no spaces"}))
    with pytest.raises(ContractError):  # one cancel, one thing: a message or a campaign
        parse_queue_message(json.dumps({"action": "cancel", "message_id": "m-1", "campaign_id": "spring"}))
