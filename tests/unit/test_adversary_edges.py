"""Adversarial edges of the lifecycle added in af918a0: unconfirmed sends, adoption by a status
update naming the message, give-up of unconfirmed messages, resend after a temporary failure (301).

Each test here is a defect found by attacking those edges (an adversarial review), on the
in-memory fakes; each failed before its fix and guards it now."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabError, AculabServerError, AculabTimeoutError
from aculab_messaging.aculab.params import PartStatus
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.domain_errors import NotPublished, UnknownMessage
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.status import OUTCOME_UNKNOWN, RETRYABLE, UNCONFIRMED, Status
from tests.unit.test_one_lifecycle import World
from tests.unit.test_temporary_failures import RETRIES, _resend_round, _world


def _update(w: World, ref: str, status: str, *, message_id: str = "m-1", err: str = "000",
            count: int | None = None, pos: int | None = None) -> list[ev.Event]:
    """Aculab posts a status update to the status page that names ``message_id``."""
    fields = {"msg_ref": ref, "status": status, "aculab_msg_err": err, "direction": "send",
              "to": "447700900123", "from": "447700900001"}
    if count:
        fields.update(multipart_count=str(count), multipart_pos=str(pos or 1))
    service = IngestService(store=w.store, publisher=w.publisher, clock=w.clock,
                            temporary_failure_retries=RETRIES)
    return service.ingest(Notification.from_fields(fields), Route(message_id, True)).events


def _ambiguous(w: World, error: AculabError, message_id: str = "m-1") -> list[str]:
    """Aculab queues the message and msg_send's answer is lost to ``error``: unconfirmed."""
    before = len(w.aculab.queued_refs)
    w.aculab.error, w.aculab.error_after_queueing = error, True
    w.put(w.send(message_id))
    w.drain(until=timedelta(seconds=5))
    w.aculab.error, w.aculab.error_after_queueing = None, False
    assert w.status(message_id) == UNCONFIRMED
    return w.aculab.queued_refs[before:]


def _sent(w: World, message_id: str = "m-1", **fields: Any) -> list[str]:
    w.put(w.send(message_id, **fields))
    w.drain(until=timedelta(seconds=5))
    record = w.store.messages.get_message(message_id)
    assert record is not None and record.status == Status.QUEUED.value
    return list(record.refs)


# -- 1. a ref attached to the wrong message ----------------------------------------------------------


def test_an_update_for_another_messages_ref_never_steals_it_into_an_unconfirmed_message() -> None:
    """Fixed defect: an update for message A's ref that names unconfirmed message B (a reused or
    misrouted status page URL, or a forged mid on an authenticated webhook) is adopted by B:
    the REF item of A's ref is overwritten to point at B, B goes queued -> delivered on A's
    evidence (Message Submitted + a final event for a message Aculab may never have had), and
    every later update of A found by its ref alone (and the reconciler) now moves B."""
    w = World()
    (a_ref,) = _sent(w, "m-a")
    _ambiguous(w, AculabServerError(502, "Bad Gateway"), "m-b")
    # when A's delivery report arrives at B's status page
    with contextlib.suppress(UnknownMessage):  # refused (4xx) or acknowledged: either way, not adopted
        _update(w, a_ref, "delivered", message_id="m-b")
    # then the ref is still A's alone, and B still waits for its own proof
    assert w.store.refs.find_by_ref(a_ref) == ("m-a", False)
    assert w.status("m-b") == UNCONFIRMED


def test_an_update_claiming_more_parts_never_steals_a_ref_into_a_message_sent_normally() -> None:
    """Fixed defect: a message B submitted normally (one part, refs from msg_send) adopts an update
    naming it for a ref it never had, as soon as the update says multipart_count 2: A's ref is
    re-pointed to B and B's parts grow by a stranger's part (B's status then derives from it)."""
    w = World()
    (a_ref,) = _sent(w, "m-a")
    _sent(w, "m-b")
    with contextlib.suppress(UnknownMessage):
        _update(w, a_ref, "failed", message_id="m-b", count=2, pos=2)
    b = w.store.messages.get_message("m-b")
    assert b is not None and a_ref not in b.parts
    assert w.store.refs.find_by_ref(a_ref) == ("m-a", False)


# -- 2. multipart messages whose parts arrive as unknown refs ------------------------------------------


def _two_part_unconfirmed_with_part_two_adopted(w: World) -> tuple[str, str]:
    w.aculab.parts = 2
    first, second = _ambiguous(w, AculabTimeoutError("msg_send: ReadTimeout, outcome unknown"))
    _update(w, second, "submitted to carrier", count=2, pos=2)  # part 2's update comes; part 1's never does
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.refs == [second] and not record.is_final
    return first, second


def test_a_multipart_message_with_a_part_never_heard_of_is_not_sent_again_on_its_known_parts_301() -> None:
    """Fixed defect (sent twice under at-most-once, a part delivered twice): an unconfirmed 2-part message
    adopts part 2 only. The reconciler asks msg_status for the one ref it knows; Aculab answers
    failed/301 with multipart_count 2, but ``_report`` says multipart_count=len(record.refs)=1, so
    the write is single-part: the message goes failed, every *known* part is 301, and it is
    resent -- while part 1 (unknown to us) may be delivered. The recipient gets part 1 twice."""
    w = _world()
    first, second = _two_part_unconfirmed_with_part_two_adopted(w)
    w.aculab.statuses[second] = PartStatus(msg_ref=second, status="failed", aculab_msg_err="301",
                                           multipart_count=2, multipart_pos=2)
    w.aculab.statuses[first] = PartStatus(msg_ref=first, status="delivered", multipart_count=2, multipart_pos=1)
    w.reconcile()
    _resend_round(w)
    assert len(w.aculab.sent) == 1


# -- 3. two facts under one eventId across adoptions and give-ups of several attempts -------------------


def test_two_attempts_confirmed_by_status_updates_are_two_message_submitted_facts() -> None:
    """Fixed defect (two facts under one eventId): attempt 1 is ambiguous and confirmed by an update
    (Message Submitted, identity "confirmed"), fails 301 and is resent; attempt 2 is ambiguous too
    and confirmed: its Message Submitted has the same eventId with other msgRefs, so a consumer
    deduplicating by eventId drops attempt 2's submission. (The send path's own submits use
    identity "resend N"; the adopt should too.)"""
    w = _world()
    (first,) = _ambiguous(w, AculabServerError(502, "Bad Gateway"))
    _update(w, first, "failed", err="301")
    assert w.status() == RETRYABLE
    w.aculab.error, w.aculab.error_after_queueing = AculabServerError(502, "Bad Gateway"), True
    _resend_round(w)
    w.aculab.error, w.aculab.error_after_queueing = None, False
    assert w.status() == UNCONFIRMED and len(w.aculab.sent) == 2
    second = w.aculab.queued_refs[-1]
    _update(w, second, "delivered")
    # (the webhook leaves an adoption's event in the outbox: the reconciler publishes it again, same eventId)
    ids = {tuple(e.detail["msgRefs"]): e.detail["eventId"] for e in w.publisher.published
           if e.detail_type == ev.MESSAGE_SUBMITTED}
    assert set(ids) == {(first,), (second,)}
    assert ids[(first,)] != ids[(second,)]


def test_two_attempts_given_up_are_two_message_failed_facts() -> None:
    """Fixed defect (two facts under one eventId): attempt 1 is unconfirmed and given up at the give-up
    age (Message Failed, outcome unknown); a late update adopts it, failed 301, and it is resent;
    attempt 2 is unconfirmed too and given up: the second Message Failed has the first's eventId."""
    w = _world()
    (first,) = _ambiguous(w, AculabServerError(504, "Gateway Timeout"))
    w.clock.advance(days=2)
    w.reconcile()
    assert w.store.messages.get_message("m-1").reason == OUTCOME_UNKNOWN  # type: ignore[union-attr]
    _update(w, first, "failed", err="301")  # the late proof, a temporary failure
    assert w.status() == RETRYABLE
    w.aculab.error, w.aculab.error_after_queueing = AculabServerError(504, "Gateway Timeout"), True
    _resend_round(w)
    w.aculab.error, w.aculab.error_after_queueing = None, False
    assert w.status() == UNCONFIRMED
    w.clock.advance(days=2)
    w.reconcile()
    failed = [e.detail for e in w.publisher.published if e.detail_type == ev.MESSAGE_FAILED]
    assert len(failed) == 2 and failed[0]["eventId"] != failed[1]["eventId"]


# -- 4. the resend is lost when its transition does not follow the part's write ---------------------------


class _Boom(Exception):
    pass


def test_a_resend_interrupted_after_the_parts_write_happens_when_aculab_posts_the_update_again() -> None:
    """Fixed defect (a 301 failure never sent again, announced final): the webhook writes the part
    failed/301 (the message goes failed, final, out of the pending index), then the RESEND
    UpdateItem fails (throttled, the Lambda timed out); the webhook answers 5xx and Aculab posts
    the same update again. The repeat finds the part stale and returns the part's event with
    isFinal true: the message ends failed for good, never resent, and nothing looks at it again."""
    w = _world()
    (first,) = _sent(w)
    real = w.store.messages.transition
    left = [1]

    def failing_once(change: lc.Change) -> lc.Moved:
        if change.transition is lc.RESEND and left[0]:
            left[0] -= 1
            raise _Boom("ProvisionedThroughputExceededException")
        return real(change)

    w.store.messages.transition = failing_once  # type: ignore[method-assign]
    with pytest.raises(_Boom):
        _update(w, first, "failed", err="301")
    # Aculab posts it again
    events = _update(w, first, "failed", err="301")
    assert w.status() == RETRYABLE
    assert all(e.detail["isFinal"] is False for e in events)
    _resend_round(w)
    assert len(w.aculab.sent) == 2


def test_a_duplicate_update_racing_the_resend_publishes_the_same_event_id_as_the_same_fact() -> None:
    """Fixed defect (two facts under one eventId): two copies of a failed/301 update handled at once.
    Copy 1 writes the part and is about to make the resend; copy 2 finds the part stale and
    publishes the part's event (same eventId, identity ref:failed) with isFinal true and no
    "sent again" reason, while copy 1 publishes it isFinal false, "sent again". Consumers keep
    whichever came first: half the time the message looks finally failed though it is resent."""
    w = _world()
    (first,) = _sent(w)
    real = w.store.messages.transition
    racing: list[list[ev.Event]] = []
    started: list[bool] = []

    def duplicate_first(change: lc.Change) -> lc.Moved:
        if change.transition is lc.RESEND and not started:
            started.append(True)
            racing.append(_update(w, first, "failed", err="301"))  # the other copy, meanwhile
        return real(change)

    w.store.messages.transition = duplicate_first  # type: ignore[method-assign]
    mine = _update(w, first, "failed", err="301")
    (theirs,) = racing[0]
    (own,) = mine
    assert theirs.detail["eventId"] == own.detail["eventId"]
    assert theirs.detail["isFinal"] == own.detail["isFinal"] and theirs.detail["reason"] == own.detail["reason"]


# -- 5. the give-up age counts from the first sight, not from the attempt ---------------------------------


def test_a_fresh_resent_attempt_is_not_expired_by_the_first_attempts_give_up_age() -> None:
    """Fixed defect (wrong final outcome): a message whose first attempt sat 'submitted to carrier' for
    most of the give-up age, then failed 301, is resent; 16 minutes later the reconciler finds the
    new attempt still queued at Aculab, takes the message's created_at as the age, and expires the
    new attempt at once. Its delivery report then comes and is ignored: 'expired', yet delivered."""
    w = _world()
    (first,) = _sent(w)
    _update(w, first, "submitted to carrier")
    w.clock.advance(days=1, hours=23, minutes=30)
    _update(w, first, "failed", err="301")
    _resend_round(w)
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.status == Status.QUEUED.value
    (second,) = record.refs
    w.aculab.statuses[second] = PartStatus(msg_ref=second, status="queued")
    w.reconcile()  # 16 minutes after the resend: past 2 days from created_at
    _update(w, second, "delivered")
    assert w.status() == Status.DELIVERED.value


# -- 6. an event lost when the resend's part event is not published ----------------------------------------


def test_the_failed_part_event_of_a_resent_message_is_published_even_if_eventbridge_failed_at_first() -> None:
    """Fixed defect (an event lost): a failed/301 update resends the message (parts and refs cleared,
    the ref into earlier_refs), then PutEvents fails: the webhook answers 5xx and marks the message
    for replay. Aculab's retry finds the ref in earlier_refs and returns no event (200); the
    reconciler sees a waiting message and only queues the resend (``_unsent`` drops ``replay``).
    The part's Message Status Changed (failed, 301, "sent again") is never published. (A part's
    status event is not kept in the outbox; its replay rebuilds it from the part, which RESEND
    removed.) Fix: put the part's event into the outbox in the RESEND write."""
    w = _world()
    (first,) = _sent(w)
    w.publisher.failing = True
    with contextlib.suppress(NotPublished):
        _update(w, first, "failed", err="301")
    w.publisher.failing = False
    assert w.status() == RETRYABLE
    _update(w, first, "failed", err="301")  # Aculab posts it again
    _resend_round(w)
    w.reconcile()
    changed = [e.detail for e in w.publisher.published if e.detail_type == ev.MESSAGE_STATUS_CHANGED]
    assert any(d["part"]["msgRef"] == first and d["status"] == Status.FAILED.value for d in changed)
