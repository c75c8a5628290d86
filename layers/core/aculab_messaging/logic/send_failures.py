"""What becomes of a message whose msg_send failed: a retry (its claim released), the dead-letter
queue once its retry window is over, ``doubt`` when the answer does not say whether Aculab took it
(at-most-once), or ``refuse`` when Aculab refused it for good."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aculab_messaging.aculab.errors import AculabAuthError, AculabError, AculabThrottledError
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.ports import MetricsSink
from aculab_messaging.logic.record_outcome import RecordOutcome, receive_count
from aculab_messaging.logic.redact import mask_number
from aculab_messaging.logic.send_attempt import Attempt, moment, move
from aculab_messaging.logic.status import Status
from aculab_messaging.logic.store_ports import SendStore
from aculab_messaging.logic.tracking import DEAD_LETTERED, failed_event

log = logging.getLogger(__name__)


@dataclass
class SendFailures:
    store: SendStore
    policy: SendPolicy
    metrics: MetricsSink
    pacer: Pacer | None

    def handle(self, req: SendRequest, exc: AculabError, record: MessageRecord | None, attempt: Attempt,
               now: datetime) -> RecordOutcome:
        """msg_send failed: retried, dead-lettered, unconfirmed (``doubt``) or refused for good."""
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
            first_seen = moment(record.created_at) if record else None
            attempts = (record.attempts if record else 0) + 1
            if not self.policy.gave_up(first_seen, receive_count(attempt.record), now):
                move(self.store, lc.RELEASE, req, attempt, now, reason=reason, count_attempt=True)
                return RecordOutcome(retry=True, reason=reason)
            # the retry window ran out: to the DLQ, and integrations hear of it now
            dead = f"{DEAD_LETTERED} after {attempts} attempts: {reason}"[:500]
            event = failed_event(req.message_id, req.metadata, dead, now, f"dead-lettered after {attempts}")
            move(self.store, lc.DEAD_LETTER, req, attempt, now, reason=dead, count_attempt=True, events=[event])
            return RecordOutcome.stored(req.message_id, [event], reason=dead, dead_letter=True)
        if exc.retryable:  # ambiguous (it may have reached Aculab) under at-most-once
            return self._doubt(req, reason, attempt, now)
        final_reason = f"Aculab refused the message: {exc}"[:500]
        code = getattr(exc, "code", None)
        event = failed_event(req.message_id, req.metadata, final_reason, now)
        fields: dict[str, Any] = {"aculab_error_code": code} if code else {}
        move(self.store, lc.REFUSE, req, attempt, now, reason=final_reason, count_attempt=True, events=[event],
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
        if move(self.store, lc.DOUBT, req, attempt, now, reason=unconfirmed, count_attempt=True,
                      history=history_entry(lc.stamp(now), lc.UNCONFIRMED, reason=unconfirmed)):
            self.metrics.count("SendUnconfirmed")
            log.warning("msg_send's answer was ambiguous: not sent again, waiting for its status updates",
                        extra={"message_id": req.message_id, "error": reason[:120]})
        return RecordOutcome()
