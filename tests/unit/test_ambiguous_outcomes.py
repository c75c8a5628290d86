"""Issue 24 item 1: an answer that does not say whether Aculab took the message.

Only answers that prove Aculab did not act (429, 503, a connection never made) are
retried under at-most-once. A 500/502/504 or a read timeout after the request left
leaves the message ``unconfirmed``: never sent again; a status update naming it
brings its refs; without one by the give-up age it ends "outcome unknown"."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from aculab_messaging.aculab.errors import (
    AculabConnectionError,
    AculabError,
    AculabServerError,
    AculabThrottledError,
    AculabTimeoutError,
)
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic.cancelling import NO_REFS_YET
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.status import OUTCOME_UNKNOWN, RETRYABLE, UNCONFIRMED, Status
from aculab_messaging.logic.tracking import CONFIRMED
from tests.unit.test_one_lifecycle import World

AMBIGUOUS = {
    "500": lambda: AculabServerError(500, "Internal Server Error"),
    "502": lambda: AculabServerError(502, "Bad Gateway"),
    "504": lambda: AculabServerError(504, "Gateway Timeout"),
    "read timeout": lambda: AculabTimeoutError("msg_send: ReadTimeout, outcome unknown"),
    "reset": lambda: AculabTimeoutError("msg_send: connection lost, outcome unknown"),
}
NOT_ACTED_ON = {
    "503": lambda: AculabServerError(503, "Service Unavailable"),
    "429": lambda: AculabThrottledError(429, "Too Many Requests"),
    "refused": lambda: AculabConnectionError("connection refused"),
}


def _queued_then(w: World, error: AculabError) -> None:
    """Aculab queues the message, then the answer is lost to ``error``."""
    w.aculab.error, w.aculab.error_after_queueing = error, True


def _update(w: World, ref: str, status: str, *, count: int | None = None, message_id: str = "m-1") -> None:
    fields = {"msg_ref": ref, "status": status, "direction": "send", "to": "447700900123", "from": "447700900001"}
    if count:
        fields.update(multipart_count=str(count), multipart_pos="1")
    IngestService(store=w.store, publisher=w.publisher, clock=w.clock).ingest(
        Notification.from_fields(fields), Route(message_id, True))


@pytest.mark.parametrize("answer", sorted(AMBIGUOUS))
def test_an_ambiguous_answer_is_never_sent_again_under_at_most_once(answer: str) -> None:
    w = World()
    # given Aculab queues the message and the answer is ambiguous
    _queued_then(w, AMBIGUOUS[answer]())
    w.put(w.send())
    # when the send function handles it, and SQS delivers the same record again later
    w.drain(until=timedelta(seconds=5))
    w.aculab.error = None
    w.put(w.send())
    w.drain(until=timedelta(minutes=30))
    # then it was sent once, waits unconfirmed, and nothing was announced yet
    assert len(w.aculab.sent) == 1
    assert w.status() == UNCONFIRMED
    assert w.publisher.types() == []
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.reason and record.reason.startswith("unconfirmed: ")


@pytest.mark.parametrize("answer", sorted(NOT_ACTED_ON))
def test_an_answer_proving_aculab_did_not_act_is_retried(answer: str) -> None:
    w = World()
    # given Aculab refuses the first try in a way that proves it did not act
    w.aculab.error = NOT_ACTED_ON[answer]()
    w.put(w.send())
    w.drain(until=timedelta(seconds=1))
    assert w.status() == RETRYABLE and w.aculab.sent == []
    # when it is back
    w.aculab.error = None
    w.drain(until=timedelta(minutes=10))
    # then the retry sends it, once
    assert w.status() == Status.QUEUED.value and len(w.aculab.sent) == 1


def test_a_status_update_naming_an_unconfirmed_message_confirms_it() -> None:
    w = World()
    # given a message left unconfirmed by a 502 after Aculab queued it
    _queued_then(w, AculabServerError(502, "Bad Gateway"))
    w.put(w.send())
    w.drain(until=timedelta(seconds=5))
    (ref,) = w.aculab.queued_refs
    # when Aculab posts its status update to our status page (which names the message)
    _update(w, ref, "submitted to carrier")
    _update(w, ref, "delivered")
    # then the ref joins it, it goes on as sent, and Message Submitted says how it was learnt
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.refs == [ref] and record.status == Status.DELIVERED.value
    assert w.publisher.types() == [ev.MESSAGE_SUBMITTED, ev.MESSAGE_STATUS_CHANGED, ev.MESSAGE_STATUS_CHANGED]
    submitted = w.publisher.published[0].detail
    assert submitted["msgRefs"] == [ref] and submitted["reason"] == CONFIRMED
    # and an update for it found by its ref alone routes now (the ref item was written)
    assert w.store.refs.find_by_ref(ref) is not None


def test_the_parts_of_an_unconfirmed_message_join_it_as_they_come() -> None:
    w = World()
    # given a two-part message left unconfirmed
    w.aculab.parts = 2
    _queued_then(w, AculabTimeoutError("read timed out"))
    w.put(w.send())
    w.drain(until=timedelta(seconds=5))
    first, second = w.aculab.queued_refs
    # when the second part's final update comes first
    _update(w, second, "delivered", count=2)
    # then the message is not final while a part it has not heard of may still fail
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.refs == [second] and not record.is_final
    # and when the first part's comes, both are its parts and it is delivered
    _update(w, first, "delivered", count=2)
    record = w.store.messages.get_message("m-1")
    assert record is not None and sorted(record.refs) == [first, second]
    assert record.status == Status.DELIVERED.value and record.is_final


def test_without_proof_by_the_give_up_age_it_ends_outcome_unknown_and_a_late_proof_still_counts() -> None:
    w = World()
    # given an unconfirmed message whose status updates never come
    _queued_then(w, AculabServerError(504, "Gateway Timeout"))
    w.put(w.send())
    w.drain(until=timedelta(seconds=5))
    # when the reconciler runs within the give-up age, nothing changes
    w.reconcile()
    assert w.status() == UNCONFIRMED and w.publisher.types() == []
    # and past it, it ends failed, "outcome unknown", with its event, still never sent again
    w.clock.advance(days=2)
    w.reconcile()
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.status == Status.FAILED.value and record.reason == OUTCOME_UNKNOWN
    assert w.publisher.types() == [ev.MESSAGE_FAILED] and len(w.aculab.sent) == 1
    # and a status update that comes even later still confirms it
    (ref,) = w.aculab.queued_refs
    _update(w, ref, "delivered")
    assert w.status() == Status.DELIVERED.value


def test_under_at_least_once_an_ambiguous_answer_is_retried() -> None:
    w = World()
    w.service.policy = w.service.policy.model_copy(update={"guarantee": "at-least-once"})
    # given a 502 after Aculab queued it
    _queued_then(w, AculabServerError(502, "Bad Gateway"))
    w.put(w.send())
    w.drain(until=timedelta(seconds=1))
    w.aculab.error = None
    w.drain(until=timedelta(minutes=10))
    # then it is sent again (the recipient may get it twice: the guarantee chosen)
    assert len(w.aculab.sent) == 2 and w.status() == Status.QUEUED.value


def test_a_cancel_of_an_unconfirmed_message_says_why_it_cannot() -> None:
    w = World()
    _queued_then(w, AculabServerError(502, "Bad Gateway"))
    w.put(w.send())
    w.drain(until=timedelta(seconds=5))
    # when its producer cancels it
    w.put(json.dumps({"action": "cancel", "message_id": "m-1"}))
    w.drain(until=timedelta(seconds=5))
    # then the cancel fails with the reason, and the message still waits for its proof
    (failed,) = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_CANCEL_FAILED]
    assert failed.detail["reason"] == NO_REFS_YET and w.status() == UNCONFIRMED
