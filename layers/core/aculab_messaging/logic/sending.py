"""The send path: SQS records -> msg_send / msg_cancel, never sending twice.

Guarantee (README, "Delivery guarantee"): the message_id is claimed with a
conditional write before msg_send. A redelivered record whose message already
has refs is acknowledged without sending. A record whose earlier attempt may
have reached Aculab (claimed, no refs recorded) is not sent again by default:
it ends as ``Message Failed`` with reason "outcome unknown"
(``SEND_GUARANTEE=at-least-once`` sends it again instead).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.aculab import AculabClient, AculabError, CancelResult
from aculab_messaging.contracts.events import (
    MESSAGE_BLOCKED,
    MESSAGE_CANCEL_FAILED,
    MESSAGE_CANCELLED,
    MESSAGE_FAILED,
    MESSAGE_REJECTED,
    MESSAGE_SUBMITTED,
    Event,
)
from aculab_messaging.contracts.queue import CancelRequest, ContractError, SendRequest, parse_queue_message
from aculab_messaging.logic.tracking import (
    DEAD_LETTERED,
    StatusReport,
    apply_status,
    outcome_event,
    replay_events,
)
from aculab_messaging.metrics import MetricsSink
from aculab_messaging.publisher import EventPublisher, PublishError
from aculab_messaging.redact import mask_number
from aculab_messaging.status import Status
from aculab_messaging.store import RETRYABLE, SENDING, MessageRecord, MessageStore

log = logging.getLogger(__name__)

OUTCOME_UNKNOWN = "outcome unknown: an earlier attempt may have reached Aculab"


@dataclass
class RecordOutcome:
    """What became of one SQS record: events to publish, and whether SQS
    should deliver it again (``retry``)."""

    events: list[Event] = field(default_factory=list)
    retry: bool = False
    reason: str | None = None


def partial_batch_response(outcomes: Mapping[str, RecordOutcome]) -> dict[str, list[dict[str, str]]]:
    """SQS's partial batch response: the records it must deliver again."""
    return {"batchItemFailures": [{"itemIdentifier": sqs_id} for sqs_id, o in outcomes.items() if o.retry]}


@dataclass(frozen=True)
class SendPolicy:
    """How the send function submits: status page, guarantee, retries, concurrency."""

    webhook_url: str
    status_method: str = "POST"
    guarantee: str = "at-most-once"
    max_receive_count: int = 5
    concurrency: int = 10
    base_backoff_seconds: int = 10
    max_backoff_seconds: int = 300


@dataclass
class SendService:
    """Turns SQS send/cancel records into Aculab calls, stored state and events."""

    store: MessageStore
    publisher: EventPublisher
    aculab: AculabClient
    webhook_auth: Callable[[], tuple[str, str]]
    policy: SendPolicy
    clock: Callable[[], datetime]
    metrics: MetricsSink
    # (record, seconds): make a record SQS will deliver again visible only after a delay
    delay_retry: Callable[[Mapping[str, Any], int], None] | None = None
    _pool: ThreadPoolExecutor | None = None

    # -- batch ------------------------------------------------------------------

    def process_batch(self, records: Sequence[Mapping[str, Any]]) -> dict[str, RecordOutcome]:
        """Process records concurrently, then publish all their events together."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.policy.concurrency, thread_name_prefix="send")
        ids = [str(r["messageId"]) for r in records]
        outcomes = dict(zip(ids, self._pool.map(self._process_safely, records), strict=True))
        owner = {id(e): sqs_id for sqs_id, o in outcomes.items() for e in o.events}
        try:
            self.publisher.publish([e for o in outcomes.values() for e in o.events])
        except PublishError as exc:
            last_tries = {str(r["messageId"]) for r in records if _receive_count(r) >= self.policy.max_receive_count}
            for event in exc.failed:
                sqs_id = owner[id(event)]
                outcome = outcomes[sqs_id]
                outcome.retry, outcome.reason = True, "event not published"
                if sqs_id in last_tries:  # about to be dead-lettered: the reconciler will replay it
                    self._requeue_for_replay(str(event.detail.get("messageId")))
            self.metrics.count("EventsNotPublished", len(exc.failed))
        for outcome in outcomes.values():
            self.metrics.count("RecordRetried" if outcome.retry else "RecordDone")
        self._back_off([r for r in records if outcomes[str(r["messageId"])].retry])
        return outcomes

    def _back_off(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Exponential backoff for records going back to SQS: 10 s, 20 s, 40 s ...
        (capped), instead of the queue's fixed visibility timeout."""
        if self.delay_retry is None:
            return
        for record in records:
            seconds = min(self.policy.max_backoff_seconds,
                          self.policy.base_backoff_seconds * 2 ** (_receive_count(record) - 1))
            try:
                self.delay_retry(record, seconds)
            except Exception:  # noqa: BLE001 - the queue's visibility timeout still applies
                log.warning("could not set retry backoff", extra={"sqs_message_id": record.get("messageId")})

    def _requeue_for_replay(self, message_id: str) -> None:
        try:
            self.store.requeue(message_id, self.clock())
            self.metrics.count("EventsRequeuedForReplay")
        except Exception:
            log.exception("could not requeue for replay", extra={"message_id": message_id})

    def _process_safely(self, record: Mapping[str, Any]) -> RecordOutcome:
        try:
            return self.process_record(record)
        except Exception as exc:
            log.exception("record failed", extra={"sqs_message_id": record.get("messageId")})
            return RecordOutcome(retry=True, reason=type(exc).__name__)

    # -- one record -------------------------------------------------------------

    def process_record(self, record: Mapping[str, Any]) -> RecordOutcome:
        now = self.clock()
        receive_count = _receive_count(record)
        try:
            request = parse_queue_message(str(record.get("body", "")))
        except ContractError as exc:
            return self._reject(exc, str(record["messageId"]), now)
        if isinstance(request, CancelRequest):
            return self._cancel(request, now)
        return self._send(request, receive_count, now)

    def _reject(self, exc: ContractError, sqs_id: str, now: datetime) -> RecordOutcome:
        message_id = exc.message_id or f"sqs-{sqs_id}"
        self.store.create_final(message_id=message_id, status=Status.REJECTED, reason=exc.reason, now=now)
        self.metrics.count("MessageRejected")
        log.info("message rejected", extra={"message_id": message_id, "reason": exc.reason[:200]})
        return RecordOutcome([outcome_event(MESSAGE_REJECTED, message_id, Status.REJECTED, now, reason=exc.reason)])

    def _send(self, req: SendRequest, receive_count: int, now: datetime) -> RecordOutcome:
        if self.store.is_blocked(req.from_, req.to):
            existing = self.store.create_final(
                message_id=req.message_id, status=Status.BLOCKED, reason="recipient opted out (STOP)",
                now=now, to=req.to, from_=req.from_, metadata=req.metadata,
            )
            if existing is None or existing.status == Status.BLOCKED.value:
                self.metrics.count("MessageBlocked")
                log.info("message blocked", extra={"message_id": req.message_id, "to": mask_number(req.to)})
                return RecordOutcome([self._blocked_event(existing, req, now)])
            return self._already_known(existing, req, receive_count, now)
        existing = self.store.claim(
            message_id=req.message_id, to=req.to, from_=req.from_, type_=req.type.value,
            metadata=req.metadata, dlr=req.request_delivery_report, now=now,
        )
        if existing is not None:
            return self._already_known(existing, req, receive_count, now)
        return self._call_send(req, receive_count, now)

    def _already_known(
        self, record: MessageRecord, req: SendRequest, receive_count: int, now: datetime
    ) -> RecordOutcome:
        """A redelivery, or a producer reusing a message_id: never a second send."""
        if record.status == SENDING:
            if self.policy.guarantee == "at-least-once" and self.store.reclaim_unknown(req.message_id, now):
                return self._call_send(req, receive_count, now)
            self.metrics.count("OutcomeUnknown")
            if self.store.fail_unsent(req.message_id, OUTCOME_UNKNOWN, now):
                return RecordOutcome([outcome_event(MESSAGE_FAILED, req.message_id, Status.FAILED, now,
                                                    metadata=req.metadata, reason=OUTCOME_UNKNOWN)])
            fresh = self.store.get_message(req.message_id)
            record = fresh or record
        self.metrics.count("DuplicateRecord")
        return RecordOutcome(replay_events(record, now))

    def _call_send(self, req: SendRequest, receive_count: int, now: datetime) -> RecordOutcome:
        query = urllib.parse.urlencode({"mid": req.message_id, "dlr": "1" if req.request_delivery_report else "0"})
        params = req.to_params(
            status_page=f"{self.policy.webhook_url}?{query}",
            status_method=self.policy.status_method,
            auth=self.webhook_auth(),
        )
        try:
            refs = self.aculab.msg_send(params)
        except AculabError as exc:
            return self._send_failed(req, exc, receive_count, now)
        self.store.record_submitted(req.message_id, refs, req.request_delivery_report, now)
        self.store.remember_sender(req.from_, now)
        self.metrics.count("MessageSubmitted")
        log.info("message submitted", extra={"message_id": req.message_id, "parts": len(refs)})
        return RecordOutcome([outcome_event(MESSAGE_SUBMITTED, req.message_id, Status.QUEUED, now,
                                            metadata=req.metadata, refs=refs)])

    def _send_failed(
        self, req: SendRequest, exc: AculabError, receive_count: int, now: datetime
    ) -> RecordOutcome:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        retry_is_safe = not exc.may_have_reached_server or self.policy.guarantee == "at-least-once"
        if exc.retryable and retry_is_safe:
            last_attempt = receive_count >= self.policy.max_receive_count
            # on the last attempt the reason says so: the reconciler can announce it again
            dead = f"{DEAD_LETTERED} after {receive_count} attempts: {reason}"
            self.store.release_claim(req.message_id, dead if last_attempt else reason, now)
            self.metrics.count("SendTransientError")
            if last_attempt:
                # SQS moves the record to the DLQ; integrations hear of it now
                self.metrics.count("SendDeadLettered")
                return RecordOutcome(
                    [outcome_event(MESSAGE_FAILED, req.message_id, Status.FAILED, now, metadata=req.metadata,
                                   reason=dead)],
                    retry=True,
                    reason=dead,
                )
            return RecordOutcome(retry=True, reason=reason)
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

    # -- cancel -----------------------------------------------------------------

    def _cancel(self, req: CancelRequest, now: datetime) -> RecordOutcome:
        record = self.store.get_message(req.message_id)
        if record is None:
            existing = self.store.create_final(
                message_id=req.message_id, status=Status.CANCELLED, reason="cancelled before sending", now=now
            )
            if existing is None:
                return RecordOutcome([outcome_event(MESSAGE_CANCELLED, req.message_id, Status.CANCELLED, now,
                                                    reason="cancelled before sending")])
            record = existing
        if record.status == RETRYABLE and self.store.cancel_unsent(req.message_id, now):
            return RecordOutcome([outcome_event(MESSAGE_CANCELLED, req.message_id, Status.CANCELLED, now,
                                                metadata=record.metadata, reason="cancelled before sending")])
        if record.status in (SENDING, RETRYABLE):
            return RecordOutcome(retry=True, reason="send in progress")
        if record.is_final or not record.refs:
            if record.status == Status.CANCELLED.value:
                return RecordOutcome(replay_events(record, now))
            return RecordOutcome([self._cancel_failed(record, now, f"message is already {record.status}")])
        try:
            results = self.aculab.msg_cancel(record.refs)
        except AculabError as exc:
            if exc.retryable:
                return RecordOutcome(retry=True, reason=str(exc))
            return RecordOutcome([self._cancel_failed(record, now, f"Aculab refused the cancel: {exc}")])
        cancelled = [ref for ref, result in results.items() if result is CancelResult.SUCCESS]
        if not cancelled:
            return RecordOutcome([self._cancel_failed(record, now, "too late to cancel", results)])
        events: list[Event] = []
        for ref in cancelled:
            events += apply_status(
                self.store,
                StatusReport(
                    message_id=record.message_id, msg_ref=ref, status=Status.CANCELLED,
                    provider_status="cancelled", multipart_count=len(record.refs), delivery_report=record.dlr,
                ),
                now,
            ).events
        events.append(outcome_event(MESSAGE_CANCELLED, record.message_id, Status.CANCELLED, now,
                                    metadata=record.metadata, refs=record.refs,
                                    extra={"cancelResults": {k: v.value for k, v in results.items()}}))
        return RecordOutcome(events)

    def _cancel_failed(
        self, record: MessageRecord, now: datetime, reason: str, results: Mapping[str, CancelResult] | None = None
    ) -> Event:
        return outcome_event(
            MESSAGE_CANCEL_FAILED, record.message_id, Status(record.status), now, metadata=record.metadata,
            refs=record.refs, reason=reason,
            extra={"cancelResults": {k: v.value for k, v in (results or {}).items()}},
        )


def _receive_count(record: Mapping[str, Any]) -> int:
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
