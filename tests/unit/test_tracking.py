"""Tracking on the in-memory store, given/when/then: parts move forward only,
and a multipart message takes the status its parts add up to."""

from __future__ import annotations

from aculab_messaging.contracts import events as ev
from aculab_messaging.logic.status import Status
from aculab_messaging.logic.tracking import StatusReport, apply_status
from tests import seeding
from tests.fakes.services import Clock
from tests.fakes.store import InMemoryStore


def multipart(store: InMemoryStore, clock: Clock) -> None:
    seeding.queued(store, "m-1", ["r1", "r2"], clock())


def report(ref: str, status: Status) -> StatusReport:
    return StatusReport(message_id="m-1", msg_ref=ref, status=status, multipart_count=2)


def test_a_multipart_message_is_final_only_when_every_part_is() -> None:
    store, clock = InMemoryStore(), Clock()
    multipart(store, clock)
    # when one part is delivered
    first = apply_status(store, report("r1", Status.DELIVERED), clock())
    # then the message is not final, and its event says so
    assert first.advanced and not first.events[0].detail["isFinal"]
    assert not store.messages.get_message("m-1").is_final  # type: ignore[union-attr]
    # when the other part fails / then the message fails (a failed part outranks a delivered one)
    second = apply_status(store, report("r2", Status.FAILED), clock())
    assert second.events[0].detail_type == ev.MESSAGE_STATUS_CHANGED
    assert (second.events[0].detail["status"], second.events[0].detail["isFinal"]) == ("failed", True)
    assert store.messages.get_message("m-1").status == Status.FAILED.value  # type: ignore[union-attr]


def test_a_part_never_moves_back() -> None:
    store, clock = InMemoryStore(), Clock()
    multipart(store, clock)
    apply_status(store, report("r1", Status.DELIVERED), clock())
    late = apply_status(store, report("r1", Status.SENT), clock())
    assert (late.advanced, late.events) == (False, [])
    assert store.messages.get_message("m-1").parts["r1"]["status"] == "delivered"  # type: ignore[union-attr]
