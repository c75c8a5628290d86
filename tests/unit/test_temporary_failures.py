"""Issue 24 item 3: a message whose every part failed with aculab_msg_err 301 ("temporary
failure, try again shortly") is sent again: a new attempt with new refs, the old refs kept
in its timeline, at most TemporaryFailureRetries times and within its validity. A message
with a part delivered is never sent again (that part would be delivered twice)."""

from __future__ import annotations

from datetime import timedelta

from aculab_messaging.aculab.params import PartStatus
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.resending import RESENDING
from aculab_messaging.logic.status import RETRYABLE, Status
from tests.unit.test_one_lifecycle import World

RETRIES = 2


def _world() -> World:
    w = World()
    w.reconciler.queue = w.queue
    w.reconciler.policy = w.reconciler.policy.model_copy(update={"temporary_failure_retries": RETRIES})
    return w


def _update(w: World, ref: str, status: str, *, err: str = "000", count: int | None = None) -> None:
    fields = {"msg_ref": ref, "status": status, "aculab_msg_err": err, "direction": "send"}
    if count:
        fields["multipart_count"] = str(count)
    IngestService(store=w.store, publisher=w.publisher, clock=w.clock, temporary_failure_retries=RETRIES).ingest(
        Notification.from_fields(fields), Route("m-1", True))


def _sent_once(w: World, **fields: object) -> list[str]:
    w.put(w.send(**fields))
    w.drain(until=timedelta(seconds=5))
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.status == Status.QUEUED.value
    return list(record.refs)


def _resend_round(w: World) -> None:
    """The reconciler's next run puts it back on the queue; the send function sends it."""
    w.reconcile()
    w.drain(until=timedelta(minutes=1))


def test_a_temporary_failure_is_sent_again_with_new_refs_and_the_old_kept_in_the_timeline() -> None:
    w = _world()
    (first,) = _sent_once(w)
    # when Aculab says the carrier could not take it, for now
    _update(w, first, "failed", err="301")
    # then the message waits to be sent again; the part's event is not final and says why
    assert w.status() == RETRYABLE
    changed = w.publisher.published[-1]
    assert changed.detail_type == ev.MESSAGE_STATUS_CHANGED and changed.detail["isFinal"] is False
    assert changed.detail["reason"].startswith("temporary failure (aculab_msg_err 301): sent again (1 of")
    # and the reconciler's next run sends it again: a new attempt, new refs
    _resend_round(w)
    record = w.store.messages.get_message("m-1")
    assert record is not None and record.status == Status.QUEUED.value and len(w.aculab.sent) == 2
    (second,) = record.refs
    assert second != first and record.earlier_refs == [first] and record.resends == 1
    submitted = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_SUBMITTED]
    assert [e.detail["msgRefs"] for e in submitted] == [[first], [second]]
    assert len({e.detail["eventId"] for e in submitted}) == 2
    timeline = [(h["status"], h.get("msgRef") or h.get("msgRefs")) for h in record.history]
    assert (Status.FAILED.value, first) in timeline and (RESENDING, [first]) in timeline
    # and the new attempt goes on to its end as any other
    _update(w, second, "delivered")
    assert w.status() == Status.DELIVERED.value


def test_a_late_update_of_an_earlier_attempt_changes_nothing() -> None:
    w = _world()
    (first,) = _sent_once(w)
    _update(w, first, "failed", err="301")
    _resend_round(w)
    events = len(w.publisher.published)
    # when Aculab repeats the old attempt's update
    _update(w, first, "failed", err="301")
    # then it is acknowledged and nothing changes
    assert w.status() == Status.QUEUED.value and len(w.publisher.published) == events


def test_it_is_sent_again_at_most_temporary_failure_retries_times() -> None:
    w = _world()
    refs = _sent_once(w)
    for _ in range(RETRIES):
        _update(w, refs[-1], "failed", err="301")
        _resend_round(w)
        record = w.store.messages.get_message("m-1")
        assert record is not None
        refs = list(record.refs)
    # when the last allowed attempt fails temporarily too
    _update(w, refs[-1], "failed", err="301")
    _resend_round(w)
    # then it ends failed, and its event says final
    assert w.status() == Status.FAILED.value and len(w.aculab.sent) == 1 + RETRIES
    assert w.publisher.published[-1].detail["isFinal"] is True


def test_a_multipart_message_with_a_part_delivered_is_never_sent_again() -> None:
    w = _world()
    w.aculab.parts = 2
    first, second = _sent_once(w)
    # when one part is delivered and the other fails temporarily
    _update(w, first, "delivered", count=2)
    _update(w, second, "failed", err="301", count=2)
    _resend_round(w)
    # then it ends failed as its parts say, sent once: the delivered part is never delivered twice
    assert w.status() == Status.FAILED.value and len(w.aculab.sent) == 1


def test_a_temporary_failure_after_its_validity_is_final() -> None:
    w = _world()
    (first,) = _sent_once(w, valid_for_seconds=60)
    w.clock.advance(minutes=2)
    # when the temporary failure comes after the message's validity ran out
    _update(w, first, "failed", err="301")
    _resend_round(w)
    # then it is not sent again
    assert w.status() == Status.FAILED.value and len(w.aculab.sent) == 1


def test_a_temporary_failure_the_reconciler_learns_from_msg_status_is_sent_again_too() -> None:
    w = _world()
    (first,) = _sent_once(w)
    # given Aculab's status update never came, and msg_status says failed, 301
    w.aculab.statuses[first] = PartStatus(msg_ref=first, status="failed", aculab_msg_err="301")
    # when the reconciler runs twice (it learns the failure, then queues it)
    w.reconcile()
    _resend_round(w)
    # then the message was sent again
    assert len(w.aculab.sent) == 2 and w.status() == Status.QUEUED.value
