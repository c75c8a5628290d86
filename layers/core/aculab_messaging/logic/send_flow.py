"""One send request through the lifecycle (logic/lifecycle.py).

The item, once it exists, decides: the request is tried as the transition its
state allows; a transition refused by the store hands back the item as it is,
and the request is decided again on that (a few times at most). Nothing is
read before the first try: a new message costs one conditional write.

- no item: expired -> ``expire``; due later -> ``schedule``; opted out -> ``block``; else ``claim``, send;
- scheduled: expired -> ``expire``; not due -> wait (its schedule, or the queue); opted out -> ``block``;
  else ``claim``, send;
- waiting: expired -> ``expire``; opted out -> ``block``; else ``claim``, send;
- sending under a live lease: look again later; an expired lease: ``give_up`` (at-most-once) or
  ``reclaim`` (at-least-once);
- msg_send answered ambiguously (500/502/504, reset, read timeout): ``doubt`` (at-most-once: never sent
  again; a status update naming it adopts its refs) or ``release`` and retry (at-least-once);
- anything else: a duplicate, whose only duty is its outbox (events not yet known published).

A request whose hash is not the item's (another request under a known message_id) is refused with
``Message Rejected`` and changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.aculab.errors import AculabAuthError, AculabError, AculabThrottledError
from aculab_messaging.aculab.params import MessageType
from aculab_messaging.contracts.events import Event, stamp, utc_now_iso
from aculab_messaging.contracts.events.outcomes import (
    BlockedDetail,
    ExpiredDetail,
    RejectedDetail,
    ScheduledDetail,
    SubmittedDetail,
)
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.domain_errors import CredentialsNotSet
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.pacing import PaceContended, Pacer
from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.ports import Aculab, MetricsSink, SendQueue, SendStore
from aculab_messaging.logic.record_outcome import KnownBlocked, RecordOutcome, receive_count
from aculab_messaging.logic.redact import mask_number
from aculab_messaging.logic.scheduling import SQS_MAX_DELAY_SECONDS, Scheduler, Timing, enqueued_at, schedule_name
from aculab_messaging.logic.segmentation import estimate
from aculab_messaging.logic.status import OUTCOME_UNKNOWN, SENDING, Status
from aculab_messaging.logic.tracking import DEAD_LETTERED, failed_event

log = logging.getLogger(__name__)
REUSED_ID = "message_id already used for another request"
_TRIES = 4


@dataclass(frozen=True)
class Attempt:
    """The SQS record being handled, the lease a claim made now carries, and the batch's opt-outs."""

    record: Mapping[str, Any]
    lease_until: datetime
    known_blocked: KnownBlocked | None = None
    fired: bool = False  # put back by its EventBridge schedule (a DueRequest): its send_at has come
    # this attempt's own: a claim it makes is its own (OWN_LEASE) however close another attempt's lease ends
    lease_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def lease(self) -> dict[str, Any]:
        """What a Change needs to make or check this attempt's claim."""
        return {"lease_until": self.lease_until, "lease_id": self.lease_id}

    @property
    def body(self) -> str:
        return str(self.record.get("body", ""))


@dataclass
class SendFlow:
    store: SendStore
    aculab: Aculab
    queue: SendQueue
    webhook_auth: Callable[[], tuple[str, str]]
    policy: SendPolicy
    clock: Callable[[], datetime]
    metrics: MetricsSink
    check_credentials: Callable[[], None]
    scheduler: Scheduler | None
    pacer: Pacer | None
    sleep: Callable[[float], None]

    def send(self, req: SendRequest, attempt: Attempt, now: datetime) -> RecordOutcome:
        fingerprint = lc.request_hash(req.to_json())
        timing = Timing.of(req, enqueued_at(attempt.record))
        record: MessageRecord | None = None
        for _ in range(_TRIES):
            step = self._step(req, fingerprint, timing, record, attempt, now)
            if isinstance(step, RecordOutcome):
                return step
            record = step
        return RecordOutcome(retry=True, reason="the message kept changing")

    # -- deciding -----------------------------------------------------------------

    def _step(self, req: SendRequest, fingerprint: str, timing: Timing, record: MessageRecord | None,
              attempt: Attempt, now: datetime) -> RecordOutcome | MessageRecord:
        if record is None:
            if timing.expired(now):
                return self._finish_unsent(lc.EXPIRE, req, fingerprint, timing, None, attempt, now)
            if timing.wait_seconds(now) > 0:
                return self._schedule(req, fingerprint, timing, attempt, now)
            if self._is_blocked(req, attempt):
                return self._finish_unsent(lc.BLOCK, req, fingerprint, timing, None, attempt, now)
            return self._claim(req, fingerprint, timing, None, attempt, now)
        if record.request_hash and record.request_hash != fingerprint:
            return self._reused(req, attempt, now)
        held = Timing(_moment(record.due_at), _moment(record.valid_until))  # fixed at first sight
        if record.status in (lc.SCHEDULED, lc.WAITING):
            if held.expired(now):
                return self._finish_unsent(lc.EXPIRE, req, fingerprint, held, record, attempt, now)
            if record.status == lc.SCHEDULED and held.wait_seconds(now) > 0 and not attempt.fired:
                return self._wait(req, record, held, attempt, now)
            if self._is_blocked(req, attempt):
                return self._finish_unsent(lc.BLOCK, req, fingerprint, held, record, attempt, now)
            return self._claim(req, fingerprint, held, record, attempt, now)
        if record.status == SENDING:
            return self._claimed_elsewhere(req, fingerprint, held, record, attempt, now)
        self.metrics.count("DuplicateRecord")
        return RecordOutcome.stored(record.message_id, list(record.outbox.values()))

    def _is_blocked(self, req: SendRequest, attempt: Attempt) -> bool:
        found = attempt.known_blocked.get(req.from_, req.to) if attempt.known_blocked else None
        return self.store.is_blocked(req.from_, req.to) if found is None else found

    def _reused(self, req: SendRequest, attempt: Attempt, now: datetime) -> RecordOutcome:
        sqs_id = str(attempt.record.get("messageId"))
        self.metrics.count("MessageRejected")
        log.info("message_id reused for another request", extra={"message_id": req.message_id})
        reason = f"{REUSED_ID}: message_id {req.message_id!r} belongs to an accepted message, which is unchanged"
        return RecordOutcome([rejected_event(f"sqs-{sqs_id}", reason, now, sqs_id)])

    def _claimed_elsewhere(self, req: SendRequest, fingerprint: str, held: Timing, record: MessageRecord,
                           attempt: Attempt, now: datetime) -> RecordOutcome | MessageRecord:
        lease_left = (record.lease_until or 0) - now.timestamp()
        if lease_left > 0:  # another attempt is sending it right now: look again once it is done
            self.metrics.count("ClaimBusy")
            return self._later(attempt, max(1, min(self.policy.busy_retry_seconds, round(lease_left))),
                               "another attempt is sending it")
        if self.policy.guarantee == "at-least-once":
            moved = self.store.transition(lc.Change(lc.RECLAIM, req.message_id, now, request_hash=fingerprint,
                                                    **attempt.lease))
            return self._send_claimed(req, fingerprint, moved.record, attempt, now) if moved.done else _refused(moved)
        event = failed_event(req.message_id, req.metadata, OUTCOME_UNKNOWN, now, f"outcome unknown {record.resends}")
        moved = self.store.transition(lc.Change(
            lc.GIVE_UP, req.message_id, now, fields={"reason": OUTCOME_UNKNOWN}, events=[event],
            history=history_entry(lc.stamp(now), Status.FAILED.value, reason=OUTCOME_UNKNOWN)))
        if not moved.done:
            return _refused(moved)
        self.metrics.count("OutcomeUnknown")
        log.error("outcome unknown: an attempt's lease ran out without refs", extra={"message_id": req.message_id})
        return RecordOutcome.stored(req.message_id, [event])

    # -- waiting --------------------------------------------------------------------

    def _schedule(self, req: SendRequest, fingerprint: str, timing: Timing, attempt: Attempt,
                  now: datetime) -> RecordOutcome | MessageRecord:
        due = timing.due_at
        assert due is not None  # noqa: S101 - wait_seconds > 0 means a due time
        far = timing.wait_seconds(now) > SQS_MAX_DELAY_SECONDS
        if far and self.scheduler is None:
            raise RuntimeError("a send due beyond 15 minutes needs the scheduler")
        name = schedule_name(req.message_id) if far else None
        event = Event.of(ScheduledDetail(
            **stamp(ScheduledDetail, req.message_id, Status.SCHEDULED, "", now=now), message_id=req.message_id,
            metadata=req.metadata, msg_refs=[], status=Status.SCHEDULED, is_final=False, due_at=utc_now_iso(due),
            valid_until=iso(timing.valid_until)))
        moved = self.store.transition(lc.Change(
            lc.SCHEDULE, req.message_id, now, keep={**_first_sight(req, fingerprint, timing), "schedule_name": name},
            events=[event], request_hash=fingerprint, pending_at=due,
            history=history_entry(lc.stamp(now), Status.SCHEDULED.value, dueAt=lc.stamp(due))))
        if not moved.done:
            return _refused(moved)
        self.metrics.count("MessageScheduled")
        log.info("message scheduled", extra={"message_id": req.message_id, "due_at": iso(due)})
        waited = self._wait(req, moved.record, timing, attempt, now)
        return RecordOutcome.stored(req.message_id, [event], retry=waited.retry, reason=waited.reason,
                                    requeued=waited.requeued)

    def _wait(self, req: SendRequest, record: MessageRecord | None, held: Timing, attempt: Attempt,
              now: datetime) -> RecordOutcome:
        """Not due yet: its EventBridge schedule brings it back (made again if a crash lost it),
        or, within SQS's 15 minutes, a fresh copy on the queue that costs no receive."""
        wait = held.wait_seconds(now)
        name = record.schedule_name if record else None
        if name and wait > SQS_MAX_DELAY_SECONDS and self.scheduler is not None and held.due_at is not None:
            self.scheduler.schedule(name, held.due_at, Timing.due_body(req))
            return RecordOutcome()
        return self._later(attempt, math.ceil(min(wait, SQS_MAX_DELAY_SECONDS)), "waiting for its send_at")

    def _later(self, attempt: Attempt, seconds: int, reason: str) -> RecordOutcome:
        """This record again after ``seconds``, as a fresh queue message: a wait never uses up
        SQS's receive count. Should that fail, the record itself comes back (one receive)."""
        try:
            self.queue.later(attempt.body, seconds)
        except Exception as exc:  # noqa: BLE001 - the record's own visibility still brings it back
            log.warning("could not queue the record again", extra={"error": type(exc).__name__})
            return RecordOutcome(retry=True, reason=reason, delay_seconds=seconds)
        return RecordOutcome(reason=reason, requeued=True)

    # -- never sent -------------------------------------------------------------------

    def _finish_unsent(self, transition: lc.Transition, req: SendRequest, fingerprint: str, timing: Timing,
                       record: MessageRecord | None, attempt: Attempt, now: datetime) -> RecordOutcome | MessageRecord:
        if transition is lc.EXPIRE:
            reason = f"not sent before its valid_until ({iso(timing.valid_until)})"
            event = Event.of(ExpiredDetail(
                **stamp(ExpiredDetail, req.message_id, Status.EXPIRED, "", now=now), message_id=req.message_id,
                metadata=req.metadata, msg_refs=[], status=Status.EXPIRED, is_final=True, reason=reason,
                valid_until=iso(timing.valid_until)))
        else:
            reason = "recipient opted out (STOP)"
            event = Event.of(BlockedDetail(
                **stamp(BlockedDetail, req.message_id, Status.BLOCKED, "", now=now), message_id=req.message_id,
                metadata=req.metadata, msg_refs=[], status=Status.BLOCKED, is_final=True, reason=reason))
        moved = self.store.transition(lc.Change(
            transition, req.message_id, now, fields={"reason": reason, "schedule_name": None},
            keep=_first_sight(req, fingerprint, timing), events=[event], request_hash=fingerprint,
            **attempt.lease, history=history_entry(lc.stamp(now), transition.target, reason=reason)))
        if not moved.done:
            return _refused(moved)
        if record is not None and record.schedule_name and self.scheduler is not None:
            self.scheduler.unschedule(record.schedule_name)
        self.metrics.count("MessageExpired" if transition is lc.EXPIRE else "MessageBlocked")
        log.info(f"message {transition.target}", extra={"message_id": req.message_id, "to": mask_number(req.to)})
        return RecordOutcome.stored(req.message_id, [event])

    # -- sending ------------------------------------------------------------------------

    def _claim(self, req: SendRequest, fingerprint: str, timing: Timing, record: MessageRecord | None,
               attempt: Attempt, now: datetime) -> RecordOutcome | MessageRecord:
        unready = self._not_ready_to_send()
        if unready is not None:
            return unready
        moved = self.store.transition(lc.Change(
            lc.CLAIM, req.message_id, now, fields={"reason": None, "schedule_name": None, "resend": None},
            keep=_first_sight(req, fingerprint, timing), request_hash=fingerprint, **attempt.lease,
            fired=attempt.fired))
        if not moved.done:
            return _refused(moved)
        return self._send_claimed(req, fingerprint, moved.record, attempt, now)

    def _not_ready_to_send(self) -> RecordOutcome | None:
        """Secrets first: a record that cannot be sent yet goes back to the queue unclaimed."""
        try:
            self.check_credentials()
        except CredentialsNotSet as exc:
            self.metrics.count("AculabCredentialsNotSet")
            log.error("Aculab credentials not set: the record waits in the queue", extra={"detail": str(exc)})
            return RecordOutcome(retry=True, reason="Aculab credentials not set")
        except Exception as exc:  # noqa: BLE001 - Secrets Manager unreachable, throttled, denied ...
            self.metrics.count("SecretUnavailable")
            log.warning("secret unavailable: the record waits in the queue", extra={"error": type(exc).__name__})
            return RecordOutcome(retry=True, reason=f"secret unavailable: {type(exc).__name__}")
        return None

    def _send_claimed(self, req: SendRequest, fingerprint: str, record: MessageRecord | None, attempt: Attempt,
                      now: datetime) -> RecordOutcome | MessageRecord:
        # the slot last, so that nothing but the request itself stands between the slot and Aculab
        slot = self._reserve_slot(req)
        if isinstance(slot, RecordOutcome):
            self._move(lc.RELEASE, req, attempt, now, reason=f"waiting: {slot.reason}")
            return self._later(attempt, slot.delay_seconds or 1, str(slot.reason))
        wait = (slot - self.clock()).total_seconds() if slot is not None else 0.0
        if wait > 0:  # it waited for its slot: what was read before may have changed meanwhile
            self.sleep(wait)
            now = self.clock()
            valid_until = _moment(record.valid_until) if record else None
            if valid_until is not None and now >= valid_until:  # its validity ran out while it waited
                return self._finish_unsent(lc.EXPIRE, req, fingerprint, Timing(None, valid_until), record, attempt,
                                           now)
            if self.store.is_blocked(req.from_, req.to):  # a STOP came while it waited for its slot
                return self._finish_unsent(lc.BLOCK, req, fingerprint, Timing(None, valid_until), record, attempt,
                                           now)
        if attempt.known_blocked is not None:
            attempt.known_blocked.sending()
        return self._call_send(req, record, attempt, now)

    def _reserve_slot(self, req: SendRequest) -> datetime | RecordOutcome | None:
        if self.pacer is None:
            return None
        try:
            slot = self.pacer.reserve(req.from_, self.clock)
        except PaceContended:
            self.metrics.count("PaceContended")
            return RecordOutcome(reason="pace contended", delay_seconds=1)
        if slot is None:
            self.metrics.count("SendPaced")
            return RecordOutcome(reason="paced", delay_seconds=self.policy.pace_retry_seconds)
        return slot

    def _call_send(self, req: SendRequest, record: MessageRecord | None, attempt: Attempt,
                   now: datetime) -> RecordOutcome:
        try:
            query = urllib.parse.urlencode({"mid": req.message_id, "dlr": "1" if req.request_delivery_report else "0"})
            params = req.to_params(status_page=f"{self.policy.webhook_url}?{query}",
                                   status_method=self.policy.status_method, auth=self.webhook_auth())
            refs = self.aculab.msg_send(params)
        except AculabError as exc:
            return self._send_failed(req, exc, record, attempt, now)
        except Exception as exc:  # noqa: BLE001 - the client wraps every failure after the request left
            self._move(lc.RELEASE, req, attempt, now, reason=f"not sent: {type(exc).__name__}")
            log.warning("not sent, claim released", extra={"message_id": req.message_id, "error": type(exc).__name__})
            return RecordOutcome(retry=True, reason=f"not sent: {type(exc).__name__}")
        resends = record.resends if record else 0  # each attempt after a temporary failure is its own fact
        event = _submitted(req, refs, now, f"resend {resends}" if resends else "")
        change = lc.Change(lc.SUBMIT, req.message_id, now, events=[event], **attempt.lease,
                           count_attempt=True,
                           history=history_entry(lc.stamp(now), Status.QUEUED.value, msgRefs=list(refs)))
        moved = self.store.record_submitted(change, refs, req.request_delivery_report)
        try:
            self.store.remember_sender(req.from_, now)
        except Exception:  # noqa: BLE001 - the sync also finds senders in SendingNumbers; the event must go out
            log.warning("could not record the sending number", extra={"message_id": req.message_id})
        if not moved.done:  # its refs are kept, its status is another attempt's to tell
            self.metrics.count("RefsKeptForChangedMessage")
            log.warning("refs stored for a message that had changed", extra={"message_id": req.message_id})
            return RecordOutcome()
        self.metrics.count("MessageSubmitted")
        log.info("message submitted", extra={"message_id": req.message_id, "parts": len(refs)})
        return RecordOutcome.stored(req.message_id, [event])

    def _send_failed(self, req: SendRequest, exc: AculabError, record: MessageRecord | None, attempt: Attempt,
                     now: datetime) -> RecordOutcome:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, AculabAuthError):  # the operator must fix the secret; the message waits, never fails
            self.metrics.count("AculabCredentialsRejected")
            log.error("Aculab rejected our credentials: sends wait until the secret is fixed",
                      extra={"message_id": req.message_id, "status": exc.status_code})
        if isinstance(exc, AculabThrottledError) and self.pacer is not None:
            rate = self.pacer.throttled(req.from_, now)
            log.warning("Aculab throttled a number: its pace is lowered",
                        extra={"from": mask_number(req.from_), "rate": round(rate, 2)})
        retry_is_safe = not exc.may_have_reached_server or self.policy.guarantee == "at-least-once"
        if exc.retryable and retry_is_safe:
            self.metrics.count("SendTransientError")
            first_seen = _moment(record.created_at) if record else None
            attempts = (record.attempts if record else 0) + 1
            if not self.policy.gave_up(first_seen, receive_count(attempt.record), now):
                self._move(lc.RELEASE, req, attempt, now, reason=reason, count_attempt=True)
                return RecordOutcome(retry=True, reason=reason)
            # the retry window ran out: to the DLQ, and integrations hear of it now
            dead = f"{DEAD_LETTERED} after {attempts} attempts: {reason}"[:500]
            event = failed_event(req.message_id, req.metadata, dead, now, f"dead-lettered after {attempts}")
            self._move(lc.DEAD_LETTER, req, attempt, now, reason=dead, count_attempt=True, events=[event])
            return RecordOutcome.stored(req.message_id, [event], reason=dead, dead_letter=True)
        if exc.retryable:  # ambiguous (it may have reached Aculab) under at-most-once
            return self._doubt(req, reason, attempt, now)
        final_reason = f"Aculab refused the message: {exc}"[:500]
        code = getattr(exc, "code", None)
        event = failed_event(req.message_id, req.metadata, final_reason, now)
        fields: dict[str, Any] = {"aculab_error_code": code} if code else {}
        self._move(lc.REFUSE, req, attempt, now, reason=final_reason, count_attempt=True, events=[event],
                   history=history_entry(lc.stamp(now), Status.FAILED.value, reason=final_reason), **fields)
        self.metrics.count("SendPermanentError")
        return RecordOutcome.stored(req.message_id, [event])

    def _doubt(self, req: SendRequest, reason: str, attempt: Attempt, now: datetime) -> RecordOutcome:
        """An answer that does not say whether Aculab took the message (a 500/502/504, a reset or a
        read timeout after the request left): never sent again under at-most-once. It waits,
        unconfirmed, for proof: a status update naming it (our status page URL carries its id)
        brings the refs and it goes on as sent (``adopt``); without one by the give-up age the
        reconciler ends it "outcome unknown" (``give_up``)."""
        unconfirmed = f"unconfirmed: {reason}"[:500]
        if self._move(lc.DOUBT, req, attempt, now, reason=unconfirmed, count_attempt=True,
                      history=history_entry(lc.stamp(now), lc.UNCONFIRMED, reason=unconfirmed)):
            self.metrics.count("SendUnconfirmed")
            log.warning("msg_send's answer was ambiguous: not sent again, waiting for its status updates",
                        extra={"message_id": req.message_id, "error": reason[:120]})
        return RecordOutcome()

    def _move(self, transition: lc.Transition, req: SendRequest, attempt: Attempt, now: datetime, *,
              count_attempt: bool = False, events: list[Event] | None = None,
              history: Mapping[str, Any] | None = None, **fields: Any) -> bool:
        """A transition from this attempt's own claim (False: the claim is no longer ours)."""
        moved = self.store.transition(lc.Change(transition, req.message_id, now, fields=fields, events=events or (),
                                                **attempt.lease, count_attempt=count_attempt,
                                                history=history))
        if not moved.done:
            log.warning("the claim was no longer this attempt's", extra={"message_id": req.message_id,
                                                                         "transition": transition.name})
        return moved.done


def _refused(moved: lc.Moved) -> MessageRecord:
    if moved.record is None:  # pragma: no cover - only transitions from an existing item can be refused
        raise RuntimeError("a transition was refused, and no item is there")
    return moved.record


def _first_sight(req: SendRequest, fingerprint: str, timing: Timing) -> dict[str, Any]:
    """What the first sight of a request fixes on its item, never changed after."""
    return {"to": req.to, "from": req.from_, "type": req.type.value, "dlr": req.request_delivery_report,
            "metadata": dict(req.metadata), "request_hash": fingerprint, "request": json.dumps(req.to_json()),
            "due_at": lc.stamp(timing.due_at) if timing.due_at else None,
            "valid_until": lc.stamp(timing.valid_until) if timing.valid_until else None}


def rejected_event(message_id: str, reason: str, now: datetime, sqs_id: str) -> Event:
    """A queue message refused before anything was stored: one fact per SQS message."""
    return Event.of(RejectedDetail(**stamp(RejectedDetail, message_id, Status.REJECTED, sqs_id, now=now),
                                   message_id=message_id, metadata={}, msg_refs=[], status=Status.REJECTED,
                                   is_final=True, reason=reason))


def _submitted(req: SendRequest, refs: list[str], now: datetime, identity: str) -> Event:
    """Message Submitted tells of the parts: one per ref, and for an sms its encoding
    and, when UCS-2 was forced, the characters that forced it."""
    found = estimate(req.content or "") if req.type is MessageType.SMS else None
    return Event.of(SubmittedDetail(
        **stamp(SubmittedDetail, req.message_id, Status.QUEUED, identity, now=now), message_id=req.message_id,
        metadata=req.metadata, msg_refs=refs, status=Status.QUEUED, is_final=False, parts=len(refs),
        encoding=found.encoding if found else None,
        ucs2_characters=(list(found.ucs2_characters) or None) if found else None))


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def iso(moment: datetime | None) -> str | None:
    """An event's time, as every event says its timestamp."""
    return utc_now_iso(moment) if moment else None

