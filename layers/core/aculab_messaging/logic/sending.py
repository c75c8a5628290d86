"""The send path: SQS records -> msg_send / msg_cancel, never sending twice.

Guarantee (README, "Delivery guarantee"): everything that can fail before
the request leaves (secrets, parameters) happens first; then the message_id
is claimed with a conditional write carrying a lease (the invocation's time
left and a margin). A copy that meets a live claim goes back to the queue
with a delay. A redelivered record whose message already has refs is
acknowledged without sending. Only a claim whose lease ran out without refs
may have reached Aculab unrecorded: by default it ends as ``Message Failed``
with reason "outcome unknown" (``SEND_GUARANTEE=at-least-once`` sends it again
instead). Transient errors are retried with capped exponential backoff and
jitter for a retry window (6 hours by default); then the record goes to the
dead-letter queue with ``Message Failed``.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from aculab_messaging.aculab import AculabError, AculabThrottledError, MessageType
from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.events import (
    MESSAGE_BLOCKED,
    MESSAGE_FAILED,
    MESSAGE_REJECTED,
    MESSAGE_SUBMITTED,
    Event,
    message_event,
)
from aculab_messaging.contracts.queue import (
    CancelRequest,
    DueRequest,
    QueueRequest,
    SendRequest,
    parse_queue_message,
)
from aculab_messaging.errors import CredentialsNotSet
from aculab_messaging.ids import is_message_id
from aculab_messaging.logic.cancelling import BEFORE_SENDING, Canceller
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.ports import Aculab, EventPublisher, PublishError, Store
from aculab_messaging.logic.scheduling import Scheduler, Timing, enqueued_at
from aculab_messaging.logic.send_records import (
    KnownBlocked,
    RecordOutcome,
    SendPolicy,
    message_id_of,
    receive_count,
)
from aculab_messaging.logic.tracking import DEAD_LETTERED, outcome_event, replay_events
from aculab_messaging.logic.waiting import WaitingRoom
from aculab_messaging.metrics import MetricsSink
from aculab_messaging.records import MessageRecord
from aculab_messaging.redact import mask_number
from aculab_messaging.segmentation import estimate
from aculab_messaging.status import OUTCOME_UNKNOWN, SENDING, Status

log = logging.getLogger(__name__)



def _parts_and_encoding(req: SendRequest, refs: Sequence[str]) -> dict[str, Any]:
    """What Message Submitted tells of the parts: one per ref, and for an sms its encoding
    and, when UCS-2 was forced, the characters that forced it."""
    if req.type is not MessageType.SMS:
        return {"parts": len(refs)}
    found = estimate(req.content or "")
    return {"parts": len(refs), "encoding": found.encoding, "ucs2Characters": list(found.ucs2_characters) or None}


@dataclass
class SendService:
    """Turns SQS send/cancel records into Aculab calls, stored state and events."""

    store: Store
    publisher: EventPublisher
    aculab: Aculab
    webhook_auth: Callable[[], tuple[str, str]]
    policy: SendPolicy
    clock: Callable[[], datetime]
    metrics: MetricsSink
    # (record, seconds): make a record SQS will deliver again visible only after a delay
    delay_retry: Callable[[Mapping[str, Any], int], None] | None = None
    # (record): put the record on the dead-letter queue (the caller then acknowledges it)
    dead_letter: Callable[[Mapping[str, Any]], None] | None = None
    # the Aculab credentials and webhook auth, read before a message is claimed
    check_credentials: Callable[[], None] = lambda: None
    # one-time schedules for sends due beyond SQS's 15-minute delay
    scheduler: Scheduler | None = None
    # the shared pace of sends (None: as fast as they come)
    pacer: Pacer | None = None
    # waits for a reserved pace slot (tests: a controllable clock's)
    sleep: Callable[[float], None] = time.sleep
    _pool: ThreadPoolExecutor | None = None

    # -- batch ------------------------------------------------------------------

    def process_batch(
        self, records: Sequence[Mapping[str, Any]], seconds_left: Callable[[], float] | None = None
    ) -> dict[str, RecordOutcome]:
        """Process records concurrently, then publish all their events together.
        ``seconds_left``: the invocation's remaining time (the claims' lease)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.policy.concurrency, thread_name_prefix="send")
        lease_until = self._lease_until(seconds_left() if seconds_left else self.policy.invocation_seconds)
        parsed = [self._parse(r) for r in records]
        known = self._known_blocked(parsed)
        ids = [str(r["messageId"]) for r in records]
        outcomes = dict(zip(ids, self._pool.map(lambda r, p: self._process_safely(r, lease_until, p, known),
                                                records, parsed), strict=True))
        owner = {id(e): sqs_id for sqs_id, o in outcomes.items() for e in o.events}
        try:
            self.publisher.publish([e for o in outcomes.values() for e in o.events])
        except PublishError as exc:
            now = self.clock()
            last_tries = {str(r["messageId"]) for r in records if self.policy.window_ran_out(r, now)}
            for event in exc.failed:
                sqs_id = owner[id(event)]
                outcome = outcomes[sqs_id]
                if sqs_id in last_tries or outcome.dead_letter:  # the reconciler will replay it
                    self._requeue_for_replay(str(event.detail.get("messageId")))
                if not outcome.dead_letter:
                    outcome.retry, outcome.reason = True, "event not published"
            self.metrics.count("EventsNotPublished", len(exc.failed))
        for record in records:
            self._finish(record, outcomes[str(record["messageId"])])
        return outcomes

    def _lease_until(self, seconds_left: float) -> datetime:
        """A claim made now outlives the invocation by the margin."""
        return self.clock() + timedelta(seconds=seconds_left + self.policy.claim_margin_seconds)

    def _finish(self, record: Mapping[str, Any], outcome: RecordOutcome) -> None:
        """Back to the queue after its delay, or to the dead-letter queue."""
        if outcome.dead_letter:
            try:
                if self.dead_letter is None:
                    raise RuntimeError("no dead-letter queue configured")
                self.dead_letter(record)
                self.metrics.count("SendDeadLettered")
            except Exception:  # SQS's own redrive still has it
                log.exception("could not dead-letter", extra={"sqs_message_id": record.get("messageId")})
                outcome.retry = True
        self.metrics.count("RecordRetried" if outcome.retry else "RecordDone")
        if not outcome.retry or self.delay_retry is None:
            return
        seconds = outcome.delay_seconds or self.policy.backoff(receive_count(record))
        try:
            self.delay_retry(record, seconds)
        except Exception:  # noqa: BLE001 - the queue's visibility timeout still applies
            log.warning("could not set retry backoff", extra={"sqs_message_id": record.get("messageId")})

    def _requeue_for_replay(self, message_id: str) -> None:
        if not message_id:
            return
        try:
            self.store.requeue(message_id, self.clock())
            self.metrics.count("EventsRequeuedForReplay")
        except Exception:
            log.exception("could not requeue for replay", extra={"message_id": message_id})

    def _parse(self, record: Mapping[str, Any]) -> QueueRequest | Exception:
        """The record's request, or why it is not one: a ContractError rejects
        the record, anything else retries it (never the whole batch)."""
        try:
            return parse_queue_message(str(record.get("body", "")), default_region=self.policy.default_region,
                                       now=self.clock())
        except Exception as exc:  # noqa: BLE001 - handled with its own record
            return exc

    def _known_blocked(self, parsed: Sequence[QueueRequest | Exception]) -> KnownBlocked | None:
        """One read of the opt-outs of a batch's sends instead of one each. If
        it fails, or the batch holds one send, each send reads its own."""
        sends = [p.request if isinstance(p, DueRequest) else p for p in parsed
                 if isinstance(p, SendRequest | DueRequest)]
        if len(sends) < 2:
            return None
        pairs = frozenset((req.from_, req.to) for req in sends)
        try:
            return KnownBlocked(pairs, frozenset(self.store.blocked_among(pairs)))
        except Exception as exc:  # noqa: BLE001 - throttled, unreachable ...: each record reads (and retries) alone
            log.warning("could not read the batch's opt-outs", extra={"error": type(exc).__name__})
            return None

    def _process_safely(self, record: Mapping[str, Any], lease_until: datetime,
                        parsed: QueueRequest | Exception, known: KnownBlocked | None) -> RecordOutcome:
        try:
            return self.process_record(record, lease_until, parsed, known)
        except Exception as exc:
            log.exception("record failed", extra={"sqs_message_id": record.get("messageId")})
            if self.policy.window_ran_out(record, self.clock()):
                # its last try before SQS dead-letters it: whatever it stored, the reconciler announces
                self._requeue_for_replay(message_id_of(record))
            return RecordOutcome(retry=True, reason=type(exc).__name__)

    # -- one record -------------------------------------------------------------

    def process_record(self, record: Mapping[str, Any], lease_until: datetime | None = None,
                       parsed: QueueRequest | Exception | None = None,
                       known: KnownBlocked | None = None) -> RecordOutcome:
        """One record (``parsed``: its body as ``_parse`` gave it; ``known``: its batch's opt-outs)."""
        now = self.clock()
        request = self._parse(record) if parsed is None else parsed
        if isinstance(request, ContractError):
            return self._reject(request, str(record["messageId"]), now)
        if isinstance(request, Exception):
            raise request
        if isinstance(request, CancelRequest):
            done = Canceller(self.store, self.aculab, self.scheduler).cancel(request, now)
            return RecordOutcome(done.events, retry=done.retry, reason=done.reason)
        due_now = isinstance(request, DueRequest)  # put back by its schedule: its send_at has come
        req = request.request if isinstance(request, DueRequest) else request
        timing = Timing.of(req, enqueued_at(record), due_now=due_now)
        attempt = _Attempt(record, lease_until or self._lease_until(self.policy.invocation_seconds), timing, known)
        return self._send(req, attempt, now)

    def _reject(self, exc: ContractError, sqs_id: str, now: datetime) -> RecordOutcome:
        """Acknowledged with ``Message Rejected``; nothing is stored, so the
        message_id stays free for a valid request. Reported under the
        producer's message_id when it can be a key and no message has it,
        else under ``sqs-<SQS message id>``."""
        message_id = exc.message_id if is_message_id(exc.message_id) else None
        reason = exc.reason
        if message_id and self.store.get_message(message_id) is not None:
            reason = f"{reason} (message_id {message_id!r} belongs to an accepted message, which is unchanged)"
            message_id = None
        message_id = message_id or f"sqs-{sqs_id}"
        self.metrics.count("MessageRejected")
        log.info("message rejected", extra={"message_id": message_id, "reason": reason[:200]})
        event = message_event(MESSAGE_REJECTED, message_id=message_id, status=Status.REJECTED.value, is_final=True,
                              reason=reason, now=now, identity=sqs_id)
        return RecordOutcome([event])

    def _send(self, req: SendRequest, attempt: _Attempt, now: datetime) -> RecordOutcome:
        if attempt.timing.expired(now):
            return self._known_or(self._room.expire(req, attempt.timing, attempt.lease_until, now), req, attempt, now)
        wait = attempt.timing.wait_seconds(now)
        if wait > 0:
            return self._known_or(self._room.wait(req, attempt.timing, wait, now), req, attempt, now)
        if self._is_blocked(req, attempt.known_blocked):
            existing = self.store.create_final(
                message_id=req.message_id, status=Status.BLOCKED, reason="recipient opted out (STOP)",
                now=now, to=req.to, from_=req.from_, metadata=req.metadata,
            )
            if existing is None or existing.status == Status.BLOCKED.value:
                self.metrics.count("MessageBlocked")
                log.info("message blocked", extra={"message_id": req.message_id, "to": mask_number(req.to)})
                return RecordOutcome([self._blocked_event(existing, req, now)])
            return self._already_known(existing, req, attempt, now)
        unready = self._not_ready_to_send()
        if unready is not None:
            return unready
        existing = self.store.claim(
            message_id=req.message_id, to=req.to, from_=req.from_, type_=req.type.value,
            metadata=req.metadata, dlr=req.request_delivery_report, now=now, lease_until=attempt.lease_until,
        )
        if existing is not None:
            return self._already_known(existing, req, attempt, now)
        # the slot last, so that nothing but the request itself stands between the slot and Aculab
        slot, paced = self._room.reserve_slot(req)
        if paced is not None:
            self.store.release_claim(req.message_id, f"waiting: {paced.reason}", now)
            return paced
        if slot is not None:
            self.sleep(max(0.0, (slot - self.clock()).total_seconds()))  # the slot this send reserved
            now = self.clock()
            if attempt.timing.expired(now):  # its validity ran out while it waited for its slot
                expired = self._room.expire(req, attempt.timing, attempt.lease_until, now)
                return self._known_or(expired, req, attempt, now)
        return self._call_send(req, attempt, now)

    def _is_blocked(self, req: SendRequest, known: KnownBlocked | None) -> bool:
        found = known.get(req.from_, req.to) if known else None
        return self.store.is_blocked(req.from_, req.to) if found is None else found

    @cached_property
    def _room(self) -> WaitingRoom:
        return WaitingRoom(self.store, self.metrics, self.clock, self.scheduler, self.pacer,
                           self.policy.pace_retry_seconds)

    def _known_or(self, done: RecordOutcome | MessageRecord, req: SendRequest, attempt: _Attempt,
                  now: datetime) -> RecordOutcome:
        """The waiting room's outcome, or (a message that had moved on) what a duplicate gets."""
        return done if isinstance(done, RecordOutcome) else self._already_known(done, req, attempt, now)

    def _not_ready_to_send(self) -> RecordOutcome | None:
        """Secrets first: a record that cannot be sent yet goes back to the
        queue unclaimed, and is sent once the dependency recovers."""
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

    def _already_known(
        self, record: MessageRecord, req: SendRequest, attempt: _Attempt, now: datetime
    ) -> RecordOutcome:
        """A redelivery, a concurrent copy, or a producer reusing a message_id:
        never a second send (but at-least-once, after an expired lease)."""
        if record.status == SENDING:
            lease_left = (record.lease_until or 0) - now.timestamp()
            if lease_left > 0:  # another attempt is sending it right now: look again once it is done
                self.metrics.count("ClaimBusy")
                delay = max(1, min(self.policy.busy_retry_seconds, round(lease_left)))
                return RecordOutcome(retry=True, reason="another attempt is sending it", delay_seconds=delay)
            if self.policy.guarantee == "at-least-once" and self.store.reclaim_expired(
                req.message_id, now, attempt.lease_until
            ):
                return self._call_send(req, attempt, now)
            if self.store.fail_expired_claim(req.message_id, OUTCOME_UNKNOWN, now):
                self.metrics.count("OutcomeUnknown")
                log.error("outcome unknown: an attempt's lease ran out without refs",
                          extra={"message_id": req.message_id})
                return RecordOutcome([outcome_event(MESSAGE_FAILED, req.message_id, Status.FAILED, now,
                                                    metadata=req.metadata, reason=OUTCOME_UNKNOWN)])
            fresh = self.store.get_message(req.message_id)
            if fresh is not None and fresh.status == SENDING:  # reclaimed by another copy meanwhile
                return self._already_known(fresh, req, attempt, now)
            record = fresh or record
        self.metrics.count("DuplicateRecord")
        if record.status == Status.CANCELLED.value and record.reason == BEFORE_SENDING:
            return RecordOutcome([])  # cancelled while it waited: the cancel said so, once
        return RecordOutcome(replay_events(record, now))

    def _call_send(self, req: SendRequest, attempt: _Attempt, now: datetime) -> RecordOutcome:
        try:
            query = urllib.parse.urlencode({"mid": req.message_id, "dlr": "1" if req.request_delivery_report else "0"})
            params = req.to_params(
                status_page=f"{self.policy.webhook_url}?{query}",
                status_method=self.policy.status_method,
                auth=self.webhook_auth(),
            )
            refs = self.aculab.msg_send(params)
        except AculabError as exc:
            return self._send_failed(req, exc, attempt, now)
        except Exception as exc:  # noqa: BLE001 - the client wraps every failure after the request left
            self.store.release_claim(req.message_id, f"not sent: {type(exc).__name__}", now)
            log.warning("not sent, claim released", extra={"message_id": req.message_id,
                                                            "error": type(exc).__name__})
            return RecordOutcome(retry=True, reason=f"not sent: {type(exc).__name__}")
        if not self.store.record_submitted(req.message_id, refs, req.request_delivery_report, now):
            self.metrics.count("RefsKeptForChangedMessage")
            log.warning("refs stored for a message that had changed", extra={"message_id": req.message_id})
        try:
            self.store.remember_sender(req.from_, now)
        except Exception:  # noqa: BLE001 - the sync also finds senders in SendingNumbers; the event must go out
            log.warning("could not record the sending number", extra={"message_id": req.message_id})
        self.metrics.count("MessageSubmitted")
        log.info("message submitted", extra={"message_id": req.message_id, "parts": len(refs)})
        return RecordOutcome([outcome_event(MESSAGE_SUBMITTED, req.message_id, Status.QUEUED, now,
                                            metadata=req.metadata, refs=refs, extra=_parts_and_encoding(req, refs))])

    def _send_failed(self, req: SendRequest, exc: AculabError, attempt: _Attempt, now: datetime) -> RecordOutcome:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        retry_is_safe = not exc.may_have_reached_server or self.policy.guarantee == "at-least-once"
        if isinstance(exc, AculabThrottledError) and self.pacer is not None:
            rate = self.pacer.throttled(req.from_, now)
            log.warning("Aculab throttled a number: its pace is lowered",
                        extra={"from": mask_number(req.from_), "rate": round(rate, 2)})
        if exc.retryable and retry_is_safe:
            self.metrics.count("SendTransientError")
            if not self.policy.window_ran_out(attempt.record, now):
                self.store.release_claim(req.message_id, reason, now)
                return RecordOutcome(retry=True, reason=reason)
            # the retry window ran out: to the DLQ, and integrations hear of it now; the stored
            # reason says so, for the reconciler to announce it again if this event is lost
            dead = f"{DEAD_LETTERED} after {receive_count(attempt.record)} attempts: {reason}"[:500]
            self.store.release_claim(req.message_id, dead, now)
            return RecordOutcome([outcome_event(MESSAGE_FAILED, req.message_id, Status.FAILED, now,
                                                metadata=req.metadata, reason=dead)],
                                 reason=dead, dead_letter=True)
        final_reason = OUTCOME_UNKNOWN if exc.retryable else f"Aculab refused the message: {exc}"[:500]
        code = getattr(exc, "code", None)
        self.store.fail_unsent(req.message_id, final_reason, now, aculab_code=code)
        self.metrics.count("SendPermanentError" if not exc.retryable else "OutcomeUnknown")
        return RecordOutcome([outcome_event(MESSAGE_FAILED, req.message_id, Status.FAILED, now, metadata=req.metadata,
                                            reason=final_reason)])

    def _blocked_event(self, existing: MessageRecord | None, req: SendRequest, now: datetime) -> Event:
        reason = existing.reason if existing else "recipient opted out (STOP)"
        return outcome_event(MESSAGE_BLOCKED, req.message_id, Status.BLOCKED, now, metadata=req.metadata,
                             reason=reason)

@dataclass(frozen=True)
class _Attempt:
    """The SQS record being handled, the lease its claim carries, and when it may go."""

    record: Mapping[str, Any]
    lease_until: datetime
    timing: Timing = field(default_factory=lambda: Timing(None, None))
    known_blocked: KnownBlocked | None = None
