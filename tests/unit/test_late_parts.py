"""A part of a long inbound message arriving after its group was announced
incomplete (in-memory fakes, given/when/then): the webhook announces the whole
text again, a revision that supersedes the incomplete announcement, through
the same announce partition the reconciler repairs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.events import Event
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic.domain_errors import NotPublished
from aculab_messaging.logic.ingest import IngestService
from aculab_messaging.logic.policy import ReconcilePolicy
from aculab_messaging.logic.reconcile import ReconcileService
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.inbound import InMemoryInbound
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore

MOBILE, OURS = "447700900123", "447700900001"
STALE = timedelta(minutes=15)


@dataclass
class Attempts(RecordingPublisher):
    """Keeps every event it was asked to publish, refused or not; ``before`` runs once, before the next publish."""

    attempted: list[Event] = field(default_factory=list)
    before: Callable[[], None] | None = None

    def publish(self, events: Any) -> None:
        hook, self.before = self.before, None
        if hook is not None:
            hook()
        self.attempted.extend(events)
        super().publish(events)


@dataclass
class World:
    store: InMemoryStore
    publisher: Attempts
    clock: Clock
    ingest: IngestService
    reconcile: ReconcileService

    def part(self, ref: str, pos: int, text: str, count: int = 3, uid: str = "u-late") -> list[Event]:
        return self.ingest.ingest(Notification.from_fields({
            "msg_ref": ref, "status": "received", "direction": "receive", "from": MOBILE, "to": OURS,
            "content": text, "multipart_uid": uid, "multipart_pos": pos, "multipart_count": count})).events

    def run(self) -> Any:
        return self.reconcile.run(lambda: 900.0)

    def received(self) -> list[dict[str, Any]]:
        return [dict(e.detail) for e in self.publisher.published if e.detail_type == ev.MESSAGE_RECEIVED]

    def group(self) -> dict[str, Any]:
        return next(i for (pk, sk), i in self.store.items.items() if pk.startswith("INMP#") and sk == "GROUP")


@pytest.fixture
def world() -> World:
    store, publisher, clock = InMemoryStore(), Attempts(), Clock()
    ingest = IngestService(store=store, publisher=publisher, clock=clock)  # parts wait 10 minutes
    policy = ReconcilePolicy(stale_age=STALE, give_up_age=timedelta(hours=48), batch_size=2)
    reconcile = ReconcileService(store=store, publisher=publisher, aculab=FakeAculab(), policy=policy, clock=clock,
                                 metrics=RecordingMetrics())
    return World(store, publisher, clock, ingest, reconcile)


def closed_without_part_2(world: World, texts: tuple[str, str, str]) -> dict[str, Any]:
    """Parts 1 and 3 arrive; the wait ends; the reconciler announces them incomplete."""
    world.part("r1", 1, texts[0])
    world.part("r3", 3, texts[2])
    world.clock.advance(minutes=11)
    assert world.run().closed_incomplete == 1
    [first] = world.received()
    assert (first["complete"], first["revision"], first["supersedes"]) == (False, 0, None)
    return first


def test_a_part_after_the_close_announces_the_whole_text_again(world: World) -> None:
    first = closed_without_part_2(world, ("Please call ", "me ", "tomorrow"))
    # when part 2 arrives after the close
    world.clock.advance(minutes=1)
    events = world.part("r2", 2, "me ")
    # then a second Message Received: the whole text, every ref, complete, superseding the first
    assert [e.detail_type for e in events] == [ev.MESSAGE_RECEIVED]
    second = world.received()[1]
    assert (second["content"], second["msgRefs"], second["complete"]) == ("Please call me tomorrow",
                                                                          ["r1", "r2", "r3"], True)
    assert (second["messageId"], second["revision"], second["supersedes"]) == ("r1", 1, first["eventId"])
    assert second["eventId"] != first["eventId"]
    # and the group left the announce partition: nothing for the reconciler to repeat
    assert "pending_pk" not in world.group()
    world.clock.advance(minutes=20)
    assert world.run().reannounced == 0
    # and Aculab repeating part 2 (our 200 lost) repeats the same event, not a third revision
    world.part("r2", 2, "me ")
    assert [d["eventId"] for d in world.received()][1:] == [second["eventId"]] * 2


def test_a_late_part_of_a_message_still_missing_parts_is_announced_incomplete_then_complete(world: World) -> None:
    # given four parts: 1 and 4 before the close, 3 then 2 after it
    world.part("q1", 1, "a", count=4)
    world.part("q4", 4, "d", count=4)
    world.clock.advance(minutes=11)
    world.run()
    world.part("q3", 3, "c", count=4)
    world.part("q2", 2, "b", count=4)
    got = [(d["content"], d["complete"], d["revision"]) for d in world.received()]
    assert got == [("ad", False, 0), ("acd", False, 1), ("abcd", True, 2)]
    ids = [d["eventId"] for d in world.received()]
    assert [d["supersedes"] for d in world.received()] == [None, ids[0], ids[1]] and len(set(ids)) == 3


def test_a_stop_completed_by_a_late_part_blocks(world: World) -> None:
    first = closed_without_part_2(world, ("ST", "O", "P"))
    # "STP" with a part missing was no keyword
    assert not world.store.blocked.is_blocked(first["to"], first["from"])
    # when the missing part arrives late
    world.part("r2", 2, "O")
    # then the whole text is STOP: the pair is blocked, and both facts announced
    assert world.store.blocked.is_blocked(first["to"], first["from"])
    assert world.publisher.types()[1:] == [ev.MESSAGE_RECEIVED, ev.OPT_OUT_CHANGED]
    assert world.received()[1]["content"] == "STOP"


def test_a_late_announcement_that_failed_is_reannounced_by_the_reconciler_with_the_same_event_id(
        world: World) -> None:
    closed_without_part_2(world, ("Please call ", "me ", "tomorrow"))
    # given EventBridge refuses the late part's announcement (the webhook answers 503, Aculab gives up)
    world.publisher.failing = True
    with pytest.raises(NotPublished):
        world.part("r2", 2, "me ")
    world.publisher.failing = False
    [refused] = [e.detail for e in world.publisher.attempted if e.detail.get("revision") == 1]
    assert world.group()["pending_pk"] == "ANNOUNCE"
    # when the reconciler runs after the stale age
    world.clock.advance(minutes=16)
    assert world.run().reannounced == 1
    # then the revision goes out with the eventId it was refused with, the whole text, complete
    again = world.received()[1]
    assert (again["eventId"], again["content"], again["complete"]) == (refused["eventId"],
                                                                       "Please call me tomorrow", True)
    assert world.run().reannounced == 0


def test_the_close_announced_does_not_clear_a_revision_made_while_it_published(world: World) -> None:
    # given parts 1 and 3, and the wait over
    world.part("r1", 1, "Please call ")
    world.part("r3", 3, "tomorrow")
    world.clock.advance(minutes=11)

    def late_part_refused() -> None:  # part 2 arrives while the close publishes; its own PutEvents fails
        world.publisher.failing = True
        with pytest.raises(NotPublished):
            world.part("r2", 2, "me ")
        world.publisher.failing = False

    world.publisher.before = late_part_refused
    # when the close's event goes out
    assert world.run().closed_incomplete == 1
    # then the revision still waits to be announced, and the reconciler announces it
    assert world.group()["pending_pk"] == "ANNOUNCE"
    world.clock.advance(minutes=16)
    assert world.run().reannounced == 1
    assert [(d["revision"], d["complete"]) for d in world.received()] == [(0, False), (1, True)]


class ClosingInbound(InMemoryInbound):
    """The reconciler closes the group between the last part's write and its completion."""

    def finish_inbound_group(self, pk: str, how: str, verdict: Any, now: Any) -> bool:
        if how == "completed_at":
            super().finish_inbound_group(pk, "closed_at", {"opt_out": None, "keyword": None}, now)
        return super().finish_inbound_group(pk, how, verdict, now)


class ClosingStore(InMemoryStore):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.inbound = ClosingInbound(self.table)


def test_a_last_part_racing_the_close_is_announced_complete() -> None:
    store, publisher, clock = ClosingStore(), RecordingPublisher(), Clock()
    ingest = IngestService(store=store, publisher=publisher, clock=clock)
    for ref, pos, text in [("s1", 1, "ST"), ("s2", 2, "OP")]:
        ingest.ingest(Notification.from_fields({
            "msg_ref": ref, "status": "received", "direction": "receive", "from": MOBILE, "to": OURS,
            "content": text, "multipart_uid": "u-race", "multipart_pos": pos, "multipart_count": 2}))
    # then the whole text is announced complete (a revision of the close), and its STOP blocks
    [received] = [e.detail for e in publisher.published if e.detail_type == ev.MESSAGE_RECEIVED]
    assert (received["content"], received["complete"], received["revision"]) == ("STOP", True, 1)
    assert store.blocked.is_blocked(received["to"], received["from"])
