"""The send path: SQS records -> msg_send / msg_cancel, never sending twice.

Guarantee (README, "Delivery guarantee"): everything that can fail before
the request leaves (secrets, parameters) happens first; then the message is
claimed by the lifecycle's ``claim`` transition, with a lease (the
invocation's time left and a margin). Each request goes through
``SendFlow`` (logic/send_flow.py), each cancel through ``Canceller``: every
move of a message is a transition of logic/lifecycle.py that stores its
events in the message's outbox in the same write. This module handles the
batch: it publishes the events of every record together, then clears them
from the outboxes; events that could not be published stay there for a
redelivery or the reconciler to publish (same eventId). A record that waits
(its send_at, the pace, a busy claim) goes back as a fresh queue message,
using up no receive; a failure is retried with capped exponential backoff
within the retry window (from the first sight of the request), then
dead-lettered with ``Message Failed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.queue import (
    CampaignCancelRequest,
    CancelRequest,
    DueRequest,
    QueueRequest,
    SendRequest,
    parse_queue_message,
)
from aculab_messaging.logic.campaigns import PAGE, CampaignCanceller
from aculab_messaging.logic.cancelling import Canceller
from aculab_messaging.logic.ids import is_message_id
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.ports import Aculab, EventPublisher, MetricsSink, PublishError, SendQueue
from aculab_messaging.logic.record_outcome import KnownBlocked, RecordOutcome, receive_count
from aculab_messaging.logic.scheduling import Scheduler
from aculab_messaging.logic.send_attempt import Attempt, rejected_event
from aculab_messaging.logic.send_flow import SendFlow
from aculab_messaging.logic.store_ports import SendStore

log = logging.getLogger(__name__)


@dataclass
class SendService:
    """Turns SQS send/cancel records into Aculab calls, stored state and events."""

    store: SendStore
    publisher: EventPublisher
    aculab: Aculab
    queue: SendQueue
    webhook_auth: Callable[[], tuple[str, str]]
    policy: SendPolicy
    clock: Callable[[], datetime]
    metrics: MetricsSink
    # the Aculab credentials and webhook auth, read before a message is claimed
    check_credentials: Callable[[], None]
    # one-time schedules for sends due beyond SQS's 15-minute delay
    scheduler: Scheduler | None = None
    # the shared pace of sends (None: as fast as they come)
    pacer: Pacer | None = None
    # waits for a reserved pace slot (tests: a controllable clock's)
    sleep: Callable[[float], None] = time.sleep
    # a campaign cancel cancels this many stored messages a record, then carries on in a fresh copy
    campaign_page: int = PAGE
    _pool: ThreadPoolExecutor | None = None

    # -- batch ------------------------------------------------------------------

    def process_batch(
        self, records: Sequence[Mapping[str, Any]], seconds_left: Callable[[], float] | None = None
    ) -> dict[str, RecordOutcome]:
        """Process records concurrently, then publish all their events together.
        ``seconds_left``: the invocation's remaining time (the claims' lease)."""
        lease_until = self._lease_until(seconds_left() if seconds_left else self.policy.invocation_seconds)
        parsed = [self._parse(r) for r in records]
        known = self._known_blocked(parsed)
        ids = [str(r["messageId"]) for r in records]
        outcomes = dict(zip(ids, self._workers().map(lambda r, p: self._process_safely(r, lease_until, p, known),
                                                     records, parsed), strict=True))
        self._publish(outcomes)
        for record in records:
            self._finish(record, outcomes[str(record["messageId"])])
        return outcomes

    def _publish(self, outcomes: Mapping[str, RecordOutcome]) -> None:
        """Every record's events in one go; then out of their outboxes. Those not published
        stay in their outbox (a redelivery or the reconciler publishes them, same eventId);
        a record whose events were stored nowhere (a rejection) is tried again."""
        events = [e for o in outcomes.values() for e in o.events]
        failed: set[str] = set()
        try:
            self.publisher.publish(events)
        except PublishError as exc:
            failed = {str(e.detail.get("eventId")) for e in exc.failed}
            self.metrics.count("EventsNotPublished", len(exc.failed))
        # one clear a message (two records of the batch may name one: a send and its cancel), all at once
        list(self._workers().map(lambda clear: self._clear(clear, failed), _outbox_clears(outcomes.values())))
        for outcome in outcomes.values():
            if outcome.requeued or outcome.dead_letter:
                continue  # a fresh copy comes back anyway (or none should): the outbox waits for it
            if any(str(e.detail.get("eventId")) in failed for e in outcome.events):
                outcome.retry, outcome.reason = True, "event not published"

    def _clear(self, clear: OutboxClear, failed: set[str]) -> None:
        message_id, event_ids = clear.message_id, clear.event_ids
        out = [eid for eid in event_ids if eid not in failed]
        try:
            self.store.messages.clear_events(message_id, out, final=clear.final)
        except Exception:  # noqa: BLE001 - the outbox keeps them: the reconciler publishes them, same eventId
            log.warning("could not clear published events", extra={"message_id": message_id})
        if len(out) < len(event_ids):  # the reconciler's next run publishes the rest
            try:
                self.store.pending.requeue(message_id, self.clock())
            except Exception:  # noqa: BLE001 - still in its outbox: the reconciler finds it at its stale age
                log.warning("could not requeue unpublished events", extra={"message_id": message_id})

    def _workers(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.policy.concurrency, thread_name_prefix="send")
        return self._pool

    def _lease_until(self, seconds_left: float) -> datetime:
        """A claim made now outlives the invocation by the margin."""
        return self.clock() + timedelta(seconds=seconds_left + self.policy.claim_margin_seconds)

    def _finish(self, record: Mapping[str, Any], outcome: RecordOutcome) -> None:
        """Back to the queue after its delay, or to the dead-letter queue."""
        if outcome.dead_letter:
            try:
                self.queue.dead_letter(record)
                self.metrics.count("SendDeadLettered")
            except Exception:  # SQS's own redrive still has it
                log.exception("could not dead-letter", extra={"sqs_message_id": record.get("messageId")})
                outcome.retry = True
        self.metrics.count("RecordRetried" if outcome.retry else "RecordDone")
        if not outcome.retry:
            return
        seconds = outcome.delay_seconds or self.policy.backoff(receive_count(record))
        try:
            self.queue.retry_after(record, seconds)
        except Exception:  # noqa: BLE001 - the queue's visibility timeout still applies
            log.warning("could not set retry backoff", extra={"sqs_message_id": record.get("messageId")})

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
            return KnownBlocked(pairs, frozenset(self.store.blocked.blocked_among(pairs)))
        except Exception as exc:  # noqa: BLE001 - throttled, unreachable ...: each record reads (and retries) alone
            log.warning("could not read the batch's opt-outs", extra={"error": type(exc).__name__})
            return None

    def _process_safely(self, record: Mapping[str, Any], lease_until: datetime,
                        parsed: QueueRequest | Exception, known: KnownBlocked | None) -> RecordOutcome:
        try:
            return self.process_record(record, lease_until, parsed, known)
        except Exception as exc:
            log.exception("record failed", extra={"sqs_message_id": record.get("messageId")})
            return RecordOutcome(retry=True, reason=type(exc).__name__)

    # -- one record -------------------------------------------------------------

    def process_record(self, record: Mapping[str, Any], lease_until: datetime,
                       parsed: QueueRequest | Exception, known: KnownBlocked | None) -> RecordOutcome:
        """One record (``parsed``: its body as ``_parse`` gave it; ``known``: its batch's opt-outs)."""
        now = self.clock()
        if isinstance(parsed, ContractError):
            return self._reject(parsed, str(record["messageId"]), now)
        if isinstance(parsed, Exception):
            raise parsed
        if isinstance(parsed, CancelRequest):
            done = Canceller(self.store, self.aculab, self.scheduler).cancel(parsed, now)
            return RecordOutcome(done.events, retry=done.retry, reason=done.reason, outbox=done.outbox)
        if isinstance(parsed, CampaignCancelRequest):
            canceller = Canceller(self.store, self.aculab, self.scheduler)
            return CampaignCanceller(self.store, canceller, self.queue, self.campaign_page).cancel(parsed, now)
        fired = isinstance(parsed, DueRequest)
        req = parsed.request if isinstance(parsed, DueRequest) else parsed
        return self._flow.send(req, Attempt(record, lease_until, known, fired), now)

    @cached_property
    def _flow(self) -> SendFlow:
        return SendFlow(self.store, self.aculab, self.queue, self.webhook_auth, self.policy, self.clock, self.metrics,
                        self.check_credentials, self.scheduler, self.pacer, self.sleep)

    def _reject(self, exc: ContractError, sqs_id: str, now: datetime) -> RecordOutcome:
        """Acknowledged with ``Message Rejected``; nothing is stored, so the
        message_id stays free for a valid request. Reported under the
        producer's message_id when it can be a key and no message has it,
        else under ``sqs-<SQS message id>``."""
        message_id = exc.message_id if is_message_id(exc.message_id) else None
        reason = exc.reason
        if message_id and self.store.messages.get_message(message_id) is not None:
            reason = f"{reason} (message_id {message_id!r} belongs to an accepted message, which is unchanged)"
            message_id = None
        message_id = message_id or f"sqs-{sqs_id}"
        self.metrics.count("MessageRejected")
        log.info("message rejected", extra={"message_id": message_id, "reason": reason[:200]})
        event = rejected_event(message_id, reason, now, sqs_id)
        return RecordOutcome([event])


class OutboxClear(NamedTuple):
    """A message's events the batch stored (published or not), and whether any of them is final (a message
    none of whose events is final is not final: one write, not a refused one first)."""

    message_id: str
    event_ids: list[str]
    final: bool


def _outbox_clears(outcomes: Iterable[RecordOutcome]) -> list[OutboxClear]:
    """One clear a message, whichever of the batch's records named its events."""
    clears: dict[str, OutboxClear] = {}
    for outcome in outcomes:
        for message_id, event_ids in outcome.outbox.items():
            seen = clears.get(message_id) or OutboxClear(message_id, [], False)
            final = seen.final or any(e.detail.get("isFinal") is not False for e in outcome.events
                                      if e.detail.get("messageId") == message_id)
            ids = [*seen.event_ids, *(eid for eid in event_ids if eid not in seen.event_ids)]
            clears[message_id] = OutboxClear(message_id, ids, final)
    return list(clears.values())
