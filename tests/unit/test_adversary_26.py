"""Adversarial tests of the composed store and of a campaign cancel's passes (each pass's progress kept on the
campaign's mark, only forward; a body on the queue names a pass, never a place to start). On the in-memory
fakes. The first two found defects (a cancel sent again that no longer swept the campaign; a mark that lapsed
before a message of it could fire, which was then sent), fixed since; the others are attacks that held."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.queue import CampaignCancelRequest, parse_queue_message
from aculab_messaging.dal import TableStore
from aculab_messaging.logic.campaigns import CampaignCanceller
from aculab_messaging.logic.cancelling import Canceller
from aculab_messaging.logic.scheduling import schedule_name
from tests.fakes.services import Clock
from tests.send_wiring import SendWorld
from tests.timing_fakes import FakeScheduler

OURS = "447700900001"
MOBILE = "+447700900123"
MARK = ("CAMPAIGN#spring", "CAMPAIGN")


class FlakyScheduler(FakeScheduler):
    """A schedule whose delete fails once (EventBridge Scheduler throttled)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_once: set[str] = set()

    def unschedule(self, name: str) -> bool:
        if name in self.fail_once:
            self.fail_once.discard(name)
            raise RuntimeError("ThrottlingException")
        return super().unschedule(name)


class World(SendWorld):
    scheduler: FlakyScheduler

    def __init__(self) -> None:
        super().__init__(scheduler=FlakyScheduler())

    def send(self, message_id: str, days: float | None = 1, **fields: Any) -> dict[str, Any]:
        """A send of campaign "spring" (due in ``days``; None: now)."""
        due = {} if days is None else {"send_at": (self.clock() + timedelta(days=days)).isoformat()}
        return {"message_id": message_id, "to": MOBILE, "from": OURS, "content": "Sale on",
                "campaign_id": "spring", **due, **fields}

    def one_pass(self, page_size: int = 100) -> list[str]:
        """One pass of the campaign's cancel, as the send function makes it (its copy, if any, queued)."""
        canceller = CampaignCanceller(self.store, Canceller(self.store, self.aculab, self.scheduler), self.queue,
                                      page_size)
        done = canceller.cancel(CampaignCancelRequest(action="cancel", campaign_id="spring"), self.clock())
        return [str(e.detail["messageId"]) for e in done.events]

    def passes(self) -> dict[str, str]:
        """The passes of the campaign's cancel still going, and how far each got."""
        return dict(self.store.items.get(MARK, {}).get("cancel_passes", {}))

    def cancelled_events(self) -> list[str]:
        return sorted(str(e.detail["messageId"]) for e in self.publisher.published
                      if e.detail_type == ev.MESSAGE_CANCELLED)


def racing_scheduled_send(w: World, message_id: str, days: float = 1) -> None:
    """A send of the campaign that read its mark (not cancelled yet) just before the campaign's cancel ran to its
    end (every pass), then stored its message scheduled: the passes never saw it (the same as a message the
    eventually consistent campaign index showed a moment too late)."""
    def the_cancel_to_its_end() -> None:
        w.one_pass()
        w.drain()

    w.store.campaigns.on_mark_read = the_cancel_to_its_end
    w.put(w.send(message_id, days=days))
    w.drain()


# -- findings ----------------------------------------------------------------------------------------------------


def test_a_cancel_sent_again_cancels_a_scheduled_message_the_first_cancels_passes_could_not_see() -> None:
    # given two scheduled messages of a campaign, and a third whose send read the mark just before the
    # campaign's cancel ran to its end
    w = World()
    w.put(w.send("m-0"))
    w.put(w.send("m-2"))
    w.drain()
    racing_scheduled_send(w, "m-1")
    assert [w.status(m) for m in ("m-0", "m-1", "m-2")] == ["cancelled", "scheduled", "cancelled"]
    assert w.passes() == {}  # the first cancel's pass ended
    # when the operator sees it scheduled (GET /campaigns) and sends the campaign's cancel again
    w.put({"action": "cancel", "campaign_id": "spring"})
    w.drain()
    # then it is cancelled, and its schedule deleted
    assert w.status("m-1") == "cancelled", "a cancel sent again left a message of the campaign scheduled"
    assert w.scheduler.schedules == {}


def test_a_scheduled_message_the_cancel_missed_is_never_sent_after_the_campaigns_mark_lapses() -> None:
    # given a campaign's message scheduled 200 days ahead whose send raced the campaign's cancel
    w = World()
    w.put(w.send("m-0", days=200))
    w.put(w.send("m-2", days=200))
    w.drain()
    racing_scheduled_send(w, "m-1", days=200)
    assert w.status("m-1") == "scheduled"  # no cancel sent again
    # when time passes and DynamoDB's TTL deletes the mark once its expires_at has passed (the in-memory table has
    # no TTL: done here as it would; the message's own TTL is its due + 1 day), and its schedule fires
    for _ in range(200):
        w.clock.advance(days=1)
        if int(w.store.items.get(MARK, {}).get("expires_at", 0)) <= int(w.clock().timestamp()):
            w.store.items.pop(MARK, None)
    w.fire()
    w.drain()
    # then a message of a cancelled campaign is not sent
    assert w.aculab.sent == [], "a message of a cancelled campaign was sent"
    assert w.status("m-1") == "cancelled"


# -- held ---------------------------------------------------------------------------------------------------------


def test_two_copies_reading_the_same_cursor_share_the_work_and_the_chain_ends() -> None:
    # given five scheduled messages and pages of two
    w = World()
    for i in range(5):
        w.put(w.send(f"m-{i}"))
    w.drain()
    w.service.campaign_page = 2
    # when two copies of the cancel interleave at every pass: the second runs a whole pass while the first holds
    # the page it read (the same cursor), then the first goes on with its now stale page
    w.put({"action": "cancel", "campaign_id": "spring"})
    w.put({"action": "cancel", "campaign_id": "spring"})
    seen: list[dict[str, str]] = []
    by_the_second: list[str] = []  # what the second's passes cancelled (their events published by their batch)
    for _ in range(10):
        records = w.queue.receive(limit=1)
        if not records:
            break
        w.store.campaigns.on_page = lambda: by_the_second.extend(w.one_pass(2))
        outcomes = w.service.process_batch(records)
        w.queue.settle(records, {sid for sid, o in outcomes.items() if o.retry})
        seen.append(w.passes())
    w.drain()
    # then every message is cancelled and said so once, the cursor only went forward, and no copy is left
    assert [w.status(f"m-{i}") for i in range(5)] == ["cancelled"] * 5
    assert sorted(w.cancelled_events() + by_the_second) == [f"m-{i}" for i in range(5)]
    for pass_id in {p for snapshot in seen for p in snapshot}:  # each pass's progress only went forward
        progress = [snapshot[pass_id] for snapshot in seen if pass_id in snapshot]
        assert progress == sorted(progress), progress
    assert w.passes() == {}
    assert w.queue.waiting == [] and w.scheduler.schedules == {}


def test_a_pass_that_fails_halfway_leaves_the_cursor_where_it_was_and_its_retry_finishes_the_page() -> None:
    # given three scheduled messages, pages of two, and m-1's schedule whose delete fails once
    w = World()
    for i in range(3):
        w.put(w.send(f"m-{i}"))
    w.drain()
    w.service.campaign_page = 2
    w.scheduler.fail_once.add(schedule_name("m-1"))
    # when the first pass stops at m-1 (m-0 already cancelled)
    w.put({"action": "cancel", "campaign_id": "spring"})
    records = w.queue.receive()
    outcomes = w.service.process_batch(records)
    w.queue.settle(records, {sid for sid, o in outcomes.items() if o.retry})
    # then the mark has not moved past what the pass did not finish, and no copy was put on
    assert [w.status(f"m-{i}") for i in range(3)] == ["cancelled", "scheduled", "scheduled"]
    assert w.passes() == {} and w.queue.later_calls == []
    # and the record's retry does the page again, and the copies the rest
    w.clock.advance(minutes=10)
    w.drain()
    assert [w.status(f"m-{i}") for i in range(3)] == ["cancelled"] * 3
    assert w.scheduler.schedules == {} and w.passes() == {}


def test_pages_that_change_between_passes_lose_no_message_beyond_the_cursor() -> None:
    # given five scheduled messages of a campaign, and pages of two
    w = World()
    for i in range(5):
        w.put(w.send(f"m-{i}"))
    w.drain()
    w.service.campaign_page = 2
    first: list[str] = []

    def first_pass_then_m3_leaves() -> None:
        first.extend(w.one_pass(2))  # its copy queued
        del w.store.items[("MSG#m-3", "MSG")]  # m-3 leaves the index (its item gone: erased, or its TTL)

    # when the cancel's first pass runs while a send of m-1a (after the cursor) has read the mark, not yet
    # cancelled, and stores it scheduled; and m-3 leaves the index before the copy runs
    w.store.campaigns.on_mark_read = first_pass_then_m3_leaves
    w.put(w.send("m-1a"))
    w.drain()
    # then the first pass did m-0 and m-1; the copies carry on from the mark: m-1a (stored scheduled after that
    # pass, with its schedule) cancelled by a pass, m-2 and m-4 too; none sent, the chain ended
    assert first == ["m-0", "m-1"]
    late = w.store.messages.get_message("m-1a")
    assert late is not None and [h["status"] for h in late.history] == ["scheduled", "cancelled"]
    assert [w.status(m) for m in ("m-1a", "m-2", "m-4")] == ["cancelled"] * 3
    assert w.aculab.sent == [] and set(w.scheduler.schedules) == {schedule_name("m-3")}  # only the vanished one's
    assert w.queue.waiting == [] and w.passes() == {}


def test_a_cancel_of_a_campaign_whose_passes_are_done_changes_nothing_and_puts_no_copy() -> None:
    w = World()
    for i in range(3):
        w.put(w.send(f"m-{i}"))
    w.drain()
    w.put({"action": "cancel", "campaign_id": "spring"})
    w.drain()
    published, copies = len(w.publisher.published), len(w.queue.later_calls)
    for _ in range(3):
        w.put({"action": "cancel", "campaign_id": "spring"})
    w.drain()
    assert len(w.publisher.published) == published and len(w.queue.later_calls) == copies
    assert w.passes() == {} and w.queue.waiting == []


@pytest.mark.parametrize("extra", [
    {"after": "m-0"}, {"after": None}, {"cancelled_through": "zzz"}, {"through": "zzz"}, {"page_size": 1},
    {"campaign_id": "spring#x"}, {"campaign_id": ["spring"]}, {"campaign_id": ""}, {"pass_id": "m-0"},
    {"pass_id": ""}, {"pass_id": "f" * 65},
])
def test_a_producers_campaign_cancel_naming_anything_but_the_campaign_is_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(ContractError):
        parse_queue_message(json.dumps({"version": "1", "action": "cancel", "campaign_id": "spring", **extra}))


def test_a_producers_cancel_naming_a_pass_the_mark_does_not_know_starts_from_the_beginning() -> None:
    # given three scheduled messages of a campaign
    w = World()
    for i in range(3):
        w.put(w.send(f"m-{i}"))
    w.drain()
    # when a producer's cancel names a pass (ours) that no cancel started, as a forged continuation would
    w.put({"action": "cancel", "campaign_id": "spring", "pass_id": "ffff0000"})
    w.drain()
    # then nothing is skipped: every message cancelled, every schedule deleted, the pass forgotten at its end
    assert [w.status(f"m-{i}") for i in range(3)] == ["cancelled"] * 3
    assert w.scheduler.schedules == {} and w.passes() == {}


def test_a_refused_campaign_cancel_body_marks_nothing_and_moves_no_cursor() -> None:
    w = World()
    w.put(w.send("m-0"))
    w.drain()
    w.put({"action": "cancel", "campaign_id": "spring", "cancelled_through": "zzz"})
    w.drain()
    assert MARK not in w.store.items and w.status("m-0") == "scheduled"


class _RecordingClient:
    """A DynamoDB client that only records what it is asked (no socket)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(f"UpdateItem {kwargs['Key']['pk']['S']}")
        return {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(f"PutItem {kwargs['Item']['pk']['S']}")
        return {}


def test_the_composed_store_keeps_one_cache_per_kind_each_per_container_write_once() -> None:
    # given one store as wiring builds it for a container
    client = _RecordingClient()
    store = TableStore.on(client, "Messages")  # type: ignore[arg-type]
    now = Clock()()
    # when a part's update learns a pool number (Parts) and the pool's list learns it again (Pools), and a sender
    # is remembered twice
    store.parts._pools.remember_pool_number("pool-a", "+447700900001", now)
    store.pools.remember_pool_number("pool-a", "+447700900001", now)
    store.senders.remember_sender("+447700900001", now)
    store.senders.remember_sender("+447700900001", now)
    # then each was written once: the parts and the pools share one cache, as the mixin did
    assert client.calls == ["UpdateItem POOLNUMBERS", "PutItem SENDERS"]
    assert store.messages._refs is store.refs
