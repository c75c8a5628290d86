"""Ingest on in-memory fakes, given/when/then: an authenticated, parsed
notification in; what is stored and what is published out."""

from __future__ import annotations

from typing import Any

import pytest

from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.notification import BadNotification, Notification
from aculab_messaging.logic.domain_errors import NotPublished, UnknownMessage
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.status import Status
from tests import seeding
from tests.fakes.services import Clock, RecordingPublisher
from tests.fakes.store import InMemoryStore

MOBILE, OURS = "+447700900123", "+447700900001"  # as we key and announce them: E.164 with '+'
ACULAB_MOBILE, ACULAB_OURS = MOBILE[1:], OURS[1:]  # as Aculab posts them: no '+'


@pytest.fixture
def world() -> tuple[IngestService, InMemoryStore, RecordingPublisher, Clock]:
    store, publisher, clock = InMemoryStore(), RecordingPublisher(), Clock()
    return IngestService(store=store, publisher=publisher, clock=clock), store, publisher, clock


def submitted(store: InMemoryStore, clock: Clock, message_id: str = "m-1", refs: tuple[str, ...] = ("r1",)) -> None:
    seeding.queued(store, message_id, refs, clock(), to=MOBILE, from_=OURS, metadata={"k": "v"})


def status(ref: str, text: str, **fields: Any) -> Notification:
    return Notification.from_fields({"msg_ref": ref, "status": text, "to": ACULAB_MOBILE, "from": ACULAB_OURS,
                                     **fields})


def test_a_status_update_moves_the_message_on_and_is_announced(world: Any) -> None:
    service, store, publisher, clock = world
    # given a submitted single-part message
    submitted(store, clock)
    # when Aculab says it was delivered
    service.ingest(status("r1", "delivered", aculab_msg_err="000"), Route("m-1"))
    # then the message is final, out of the pending index, and one Message Status Changed says so
    message = store.messages.get_message("m-1")
    assert message is not None and message.status == Status.DELIVERED.value and message.is_final
    assert "pending_pk" not in store.items[("MSG#m-1", "MSG")]
    assert publisher.types() == [ev.MESSAGE_STATUS_CHANGED]
    detail = publisher.published[0].detail
    assert (detail["status"], detail["isFinal"], detail["metadata"]) == ("delivered", True, {"k": "v"})
    assert detail["aculabMsgErr"]["code"] == "000"


def test_an_older_update_changes_nothing_and_announces_nothing(world: Any) -> None:
    service, store, publisher, clock = world
    submitted(store, clock)
    service.ingest(status("r1", "delivered"), Route("m-1"))
    # when a late "sent" arrives after "delivered"
    result = service.ingest(status("r1", "sent"), Route("m-1"))
    # then the message stays delivered and nothing more is published
    assert result.events == []
    message = store.messages.get_message("m-1")
    assert message is not None and message.status == Status.DELIVERED.value
    assert publisher.types() == [ev.MESSAGE_STATUS_CHANGED]


def test_a_repeat_publishes_the_same_fact_again(world: Any) -> None:
    service, store, publisher, clock = world
    submitted(store, clock)
    service.ingest(status("r1", "sent"), Route("m-1"))
    service.ingest(status("r1", "sent"), Route("m-1"))  # Aculab retried: our 200 was lost
    assert next(e.detail["eventId"] for e in publisher.published) == publisher.published[1].detail["eventId"]


def test_without_our_route_the_message_is_found_by_its_ref(world: Any) -> None:
    service, store, _publisher, clock = world
    submitted(store, clock, refs=("r1", "r2"))
    service.ingest(status("r2", "sent", multipart_count=2), Route())
    assert store.messages.get_message("m-1").parts["r2"]["status"] == "sent"  # type: ignore[union-attr]
    with pytest.raises(UnknownMessage):
        service.ingest(status("r-unknown", "sent"), Route())


def test_an_event_not_published_is_not_acknowledged_and_is_queued_for_replay(world: Any) -> None:
    service, store, publisher, clock = world
    submitted(store, clock)
    publisher.failing = True
    # when the update is stored but EventBridge refuses its event
    with pytest.raises(NotPublished):
        service.ingest(status("r1", "delivered"), Route("m-1"))
    # then the message waits in the pending index for the reconciler, due at once
    assert store.items[("MSG#m-1", "MSG")]["replay"] is True


def test_a_stop_blocks_the_pair_and_announces_the_opt_out(world: Any) -> None:
    service, store, publisher, _clock = world
    # when the mobile texts STOP to our number
    inbound = Notification.from_fields({"msg_ref": "in-1", "status": "received", "direction": "receive",
                                        "from": ACULAB_MOBILE, "to": ACULAB_OURS, "content": " stop "})
    service.ingest(inbound)
    # then our number may no longer send to it, and both facts are announced
    assert store.blocked.is_blocked(OURS, MOBILE)
    assert publisher.types() == [ev.MESSAGE_RECEIVED, ev.OPT_OUT_CHANGED]
    assert publisher.published[1].detail["keyword"] == "STOP"
    # in E.164 with '+' wherever they go: the stored message, Message Received, Opt-Out Changed
    assert (store.items[("IN#in-1", "IN")]["from"], store.items[("IN#in-1", "IN")]["to"]) == (MOBILE, OURS)
    assert [(e.detail["from"], e.detail["to"]) for e in publisher.published] == [(MOBILE, OURS), (OURS, MOBILE)]
    # and the stored message left the announce partition once its events were out
    assert "pending_pk" not in store.items[("IN#in-1", "IN")]


def test_an_unknown_status_is_acknowledged_counted_and_changes_nothing(world: Any) -> None:
    service, store, publisher, clock = world
    submitted(store, clock)
    before = dict(store.items[("MSG#m-1", "MSG")])
    # when Aculab reports a spelling the reference does not list (issue 24 item 6)
    result = service.ingest(status("r1", "teleported"), Route("m-1"))
    # then it is taken (no error: the webhook answers 200, so it is not retried), counted, and nothing moves
    assert result.events == [] and result.counts == ("UnknownAculabStatus",)
    assert store.items[("MSG#m-1", "MSG")] == before
    assert publisher.published == []


def part(ref: str, pos: int, text: str, count: int = 3, uid: str = "u-1") -> Notification:
    return Notification.from_fields({"msg_ref": ref, "status": "received", "direction": "receive",
                                     "from": ACULAB_MOBILE, "to": ACULAB_OURS, "content": text, "multipart_uid": uid,
                                     "multipart_pos": pos, "multipart_count": count})


def test_a_long_message_in_shuffled_repeated_parts_is_announced_once_whole(world: Any) -> None:
    service, _, publisher, _ = world
    # given the three parts of a long message arrive out of order, one of them twice
    for ref, pos, text in [("r3", 3, "day!"), ("r1", 1, "Thank you "), ("r3", 3, "day!"), ("r2", 2, "and good ")]:
        service.ingest(part(ref, pos, text))
    # then one Message Received carries the whole text in order, every part's ref, complete
    received = [e.detail for e in publisher.published if e.detail_type == ev.MESSAGE_RECEIVED]
    assert len(received) == 1
    assert (received[0]["content"], received[0]["msgRefs"], received[0]["complete"]) == (
        "Thank you and good day!", ["r1", "r2", "r3"], True)
    assert received[0]["messageId"] == "r1" and received[0]["multipart"]["count"] == 3


def test_a_keyword_is_judged_on_the_whole_text(world: Any) -> None:
    service, store, publisher, _ = world
    # given STOP arrives split over two parts
    service.ingest(part("s2", 2, "OP", count=2, uid="u-stop"))
    assert not store.blocked.is_blocked(OURS, MOBILE) and publisher.published == []
    service.ingest(part("s1", 1, "ST", count=2, uid="u-stop"))
    # then the whole text is the keyword: the pair is blocked, and the opt-out announced
    assert store.blocked.is_blocked(OURS, MOBILE)
    assert publisher.types() == [ev.MESSAGE_RECEIVED, ev.OPT_OUT_CHANGED]


def test_a_part_repeated_after_the_whole_went_out_repeats_the_same_event(world: Any) -> None:
    service, _, publisher, _ = world
    for ref, pos in [("r1", 1), ("r2", 2)]:
        service.ingest(part(ref, pos, f"part {pos} ", count=2))
    service.ingest(part("r2", 2, "part 2 ", count=2))  # Aculab retried: our 200 was lost
    ids = [e.detail["eventId"] for e in publisher.published]
    assert len(ids) == 2 and ids[0] == ids[1]


@pytest.mark.parametrize("sender", ["80012", "BANK", "Shop 42"])
def test_a_message_from_a_short_code_or_a_sender_name_is_kept_as_given_and_opts_out_nothing(
    world: Any, sender: str
) -> None:
    service, store, publisher, _ = world
    # when a short code or an alphanumeric sender texts STOP, then START, to our number (issue 24 item 5)
    for ref, text in [("in-stop", "STOP"), ("in-start", "START")]:
        service.ingest(Notification.from_fields({"msg_ref": ref, "status": "received", "direction": "receive",
                                                 "from": sender, "to": ACULAB_OURS, "content": text}))
    # then both are stored and announced, the sender as given (not read as a phone number)
    assert store.items[("IN#in-stop", "IN")]["from"] == sender
    assert publisher.types() == [ev.MESSAGE_RECEIVED, ev.MESSAGE_RECEIVED]
    assert [(e.detail["from"], e.detail["to"], e.detail["content"]) for e in publisher.published] == [
        (sender, OURS, "STOP"), (sender, OURS, "START")]
    # and no pair was blocked or unblocked: there is no number to block
    assert not any(pk.startswith("BLOCK#") for pk, _sk in store.items)
    assert not store.blocked.is_blocked(OURS, sender)


@pytest.mark.parametrize(
    ("sender", "reason"),
    [("", "an inbound message needs it"), ("  ", "an inbound message needs it"),
     ("BANK\x07", "printable"), ("+4477", "not a possible phone number"), ("x" * 33, "at most 32")],
)
def test_only_a_malformed_sender_makes_a_bad_notification(sender: str, reason: str) -> None:
    with pytest.raises(BadNotification, match=reason):
        Notification.from_fields({"msg_ref": "in-1", "status": "received", "direction": "receive",
                                  "from": sender, "to": ACULAB_OURS, "content": "hi"})
