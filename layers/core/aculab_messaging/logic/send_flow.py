"""One send request through the lifecycle (logic/lifecycle.py).

The item, once it exists, decides: the request is tried as the transition its
state allows; a transition refused by the store hands back the item as it is,
and the request is decided again on that (a few times at most). Nothing is
read before the first try: a new message costs one conditional write.

- no item: expired -> ``expire``; due later -> ``schedule``; opted out -> ``block``; else ``claim``, send;
- scheduled: expired -> ``expire``; not due -> wait (its schedule, or the queue); in its recipient's quiet
  hours -> ``defer`` (logic/send_waits.py); opted out -> ``block``; else ``claim``, send;
- waiting: expired -> ``expire``; in its recipient's quiet hours -> ``defer``; opted out -> ``block``;
  else ``claim``, send;
- sending under a live lease: look again later; an expired lease: ``give_up`` (at-most-once) or
  ``reclaim`` (at-least-once);
- msg_send answered ambiguously (500/502/504, reset, read timeout): ``doubt`` (at-most-once: never sent
  again; a status update naming it adopts its refs) or ``release`` and retry (at-least-once);
- anything else: a duplicate, whose only duty is its outbox (events not yet known published).

A request whose hash is not the item's (another request under a known message_id) is refused with
``Message Rejected`` and changes nothing.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import SendParams
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.departure import Departure
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.ports import Aculab, MetricsSink, SendQueue
from aculab_messaging.logic.pumping_guard import refusal
from aculab_messaging.logic.record_outcome import RecordOutcome
from aculab_messaging.logic.redact import mask_number
from aculab_messaging.logic.scheduling import Scheduler, Timing, enqueued_at
from aculab_messaging.logic.send_attempt import (
    Attempt,
    first_sight,
    later,
    moment,
    move,
    not_ready_to_send,
    refused,
    reused,
    submitted_event,
    unsent_event,
)
from aculab_messaging.logic.send_failures import SendFailures
from aculab_messaging.logic.send_waits import SendWaits
from aculab_messaging.logic.smart_encoding import SmartEncoded, for_request
from aculab_messaging.logic.status import OUTCOME_UNKNOWN, SENDING, Status
from aculab_messaging.logic.store_ports import SendStore
from aculab_messaging.logic.tracking import failed_event

log = logging.getLogger(__name__)
_TRIES = 4
_UNSENT_METRICS = {"expire": "MessageExpired", "block": "MessageBlocked", "withdraw": "MessageWithdrawn"}


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
        timing = Timing.of(req, enqueued_at(attempt.record)).quieted(req, self.policy.quiet_hours, now)
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
            if self._withdrawn(req):
                return self._finish_unsent(lc.WITHDRAW, req, fingerprint, timing, None, attempt, now)
            if timing.expired(now):
                return self._finish_unsent(lc.EXPIRE, req, fingerprint, timing, None, attempt, now)
            if timing.wait_seconds(now) > 0:
                return self._waits().schedule(req, fingerprint, timing, attempt, now)
            if self._is_blocked(req, attempt):
                return self._finish_unsent(lc.BLOCK, req, fingerprint, timing, None, attempt, now)
            return self._guarded(req, fingerprint, timing, None, attempt, now)
        if record.request_hash and record.request_hash != fingerprint:
            return reused(req, attempt, now, self.metrics)
        held = Timing(moment(record.due_at), moment(record.valid_until))  # fixed at first sight
        if record.status in (lc.SCHEDULED, lc.WAITING):
            if self._withdrawn(req):
                return self._finish_unsent(lc.WITHDRAW, req, fingerprint, held, record, attempt, now)
            if held.expired(now):
                return self._finish_unsent(lc.EXPIRE, req, fingerprint, held, record, attempt, now)
            if record.status == lc.SCHEDULED and held.wait_seconds(now) > 0 and not attempt.fired:
                return self._waits().wait(req, record, held, attempt, now)
            # quiet now (not at its due time: a copy its schedule fired early or twice must not claim it)
            quiet = Timing(None, held.valid_until).quieted(req, self.policy.quiet_hours, now)
            if quiet.quiet is not None:  # its recipient's quiet hours began while it waited: due at their end
                if quiet.expired(now):
                    return self._finish_unsent(lc.EXPIRE, req, fingerprint, quiet, record, attempt, now)
                return self._waits().schedule(req, fingerprint, quiet, attempt, now, record)
            if self._is_blocked(req, attempt):
                return self._finish_unsent(lc.BLOCK, req, fingerprint, held, record, attempt, now)
            return self._guarded(req, fingerprint, held, record, attempt, now)
        if record.status == SENDING:
            return self._claimed_elsewhere(req, fingerprint, held, record, attempt, now)
        self.metrics.count("DuplicateRecord")
        return RecordOutcome.stored(record.message_id, list(record.outbox.values()))

    def _guarded(self, req: SendRequest, fingerprint: str, timing: Timing, record: MessageRecord | None,
                 attempt: Attempt, now: datetime) -> RecordOutcome | MessageRecord:
        """Secrets first (unready: it waits unclaimed), the pumping guard's rules, then the claim. A message
        counts against its country's cap once: its claim marks it, a later pass (unsent) is not counted."""
        unready = not_ready_to_send(self.check_credentials, self.metrics)
        if unready is not None:
            return unready
        if self.policy.country_sends_per_hour and record is None:  # a first try presumes no item: is it counted?
            record = self.store.messages.get_message(req.message_id)
        count = bool(self.policy.country_sends_per_hour) and not (record is not None and record.country_counted)
        refused_by = refusal(req, self.policy, self.store.velocity, now, count=count)
        if refused_by is None:
            return self._claim(req, fingerprint, timing, attempt, now, counted=count)
        self.metrics.count(refused_by.metric)
        return self._finish_unsent(lc.BLOCK, req, fingerprint, timing, record, attempt, now, refused_by.reason)

    def _waits(self) -> SendWaits:
        return SendWaits(self.store, self.queue, self.scheduler, self.metrics)

    def _withdrawn(self, req: SendRequest) -> bool:
        """A request of a cancelled campaign (logic/campaigns.py): never sent, whenever it is seen."""
        return req.campaign_id is not None and self.store.campaigns.campaign_cancelled_at(req.campaign_id) is not None

    def _is_blocked(self, req: SendRequest, attempt: Attempt) -> bool:
        found = attempt.known_blocked.get(req.from_, req.to) if attempt.known_blocked else None
        return self.store.blocked.is_blocked(req.from_, req.to) if found is None else found

    def _claimed_elsewhere(self, req: SendRequest, fingerprint: str, held: Timing, record: MessageRecord,
                           attempt: Attempt, now: datetime) -> RecordOutcome | MessageRecord:
        lease_left = (record.lease_until or 0) - now.timestamp()
        if lease_left > 0:  # another attempt is sending it right now: look again once it is done
            self.metrics.count("ClaimBusy")
            return later(self.queue, attempt, max(1, min(self.policy.busy_retry_seconds, round(lease_left))),
                               "another attempt is sending it")
        if self.policy.guarantee == "at-least-once":
            moved = self.store.messages.transition(lc.Change(lc.RECLAIM, req.message_id, now, request_hash=fingerprint,
                                                    **attempt.lease))
            return self._send_claimed(req, fingerprint, moved.record, attempt, now) if moved.done else refused(moved)
        event = failed_event(req.message_id, req.metadata, OUTCOME_UNKNOWN, now, f"outcome unknown {record.resends}")
        moved = self.store.messages.transition(lc.Change(
            lc.GIVE_UP, req.message_id, now, fields={"reason": OUTCOME_UNKNOWN}, events=[event],
            history=history_entry(lc.stamp(now), Status.FAILED.value, reason=OUTCOME_UNKNOWN)))
        if not moved.done:
            return refused(moved)
        self.metrics.count("OutcomeUnknown")
        log.error("outcome unknown: an attempt's lease ran out without refs", extra={"message_id": req.message_id})
        return RecordOutcome.stored(req.message_id, [event])

    # -- never sent -------------------------------------------------------------------

    def _finish_unsent(self, transition: lc.Transition, req: SendRequest, fingerprint: str, timing: Timing,
                       record: MessageRecord | None, attempt: Attempt, now: datetime,
                       why: str | None = None) -> RecordOutcome | MessageRecord:
        reason, event = unsent_event(transition, req, timing, now, why)
        moved = self.store.messages.transition(lc.Change(
            transition, req.message_id, now, fields={"reason": reason, "schedule_name": None},
            keep=first_sight(req, fingerprint, timing), events=[event], request_hash=fingerprint,
            **attempt.lease, history=history_entry(lc.stamp(now), transition.target, reason=reason)))
        if not moved.done:
            return refused(moved)
        if record is not None and record.schedule_name and self.scheduler is not None:
            self.scheduler.unschedule(record.schedule_name)
        self.metrics.count(_UNSENT_METRICS[transition.name])
        log.info(f"message {transition.target}", extra={"message_id": req.message_id, "to": mask_number(req.to)})
        return RecordOutcome.stored(req.message_id, [event])

    # -- sending ------------------------------------------------------------------------

    def _claim(self, req: SendRequest, fingerprint: str, timing: Timing, attempt: Attempt, now: datetime, *,
               counted: bool) -> RecordOutcome | MessageRecord:
        marks = {"country_counted": True} if counted else {}
        moved = self.store.messages.transition(lc.Change(
            lc.CLAIM, req.message_id, now, fields={"reason": None, "schedule_name": None, "resend": None, **marks},
            keep=first_sight(req, fingerprint, timing), request_hash=fingerprint, **attempt.lease,
            fired=attempt.fired))
        if not moved.done:
            return refused(moved)
        return self._send_claimed(req, fingerprint, moved.record, attempt, now)

    def _send_claimed(self, req: SendRequest, fingerprint: str, record: MessageRecord | None, attempt: Attempt,
                      now: datetime) -> RecordOutcome | MessageRecord:
        # the slot last, so that nothing but the request itself stands between the slot and Aculab
        held = Timing(None, moment(record.valid_until) if record else None)
        invocation_ends = attempt.lease_until - timedelta(seconds=self.policy.claim_margin_seconds)
        try:  # its request made before its slot: a secret read (a cache refreshed) never makes it late
            request = self._request(req)
        except Exception as exc:  # noqa: BLE001 - a secret unreadable: it is tried again
            return self._not_sent(req, attempt, exc)
        left = Departure(self.pacer, self.clock, self.sleep, self.metrics, self.policy).leave(
            req, lambda waited: self._last_look(req, waited=waited), held, invocation_ends)
        if isinstance(left, RecordOutcome):
            move(self.store, lc.RELEASE, req, attempt, self.clock(), reason=f"waiting: {left.reason}")
            return later(self.queue, attempt, left.delay_seconds or 1, str(left.reason))
        if isinstance(left, lc.Transition):
            return self._finish_unsent(left, req, fingerprint, held, record, attempt, self.clock())
        if attempt.known_blocked is not None:
            attempt.known_blocked.sending()
        return self._call_send(req, record, attempt, request, left)

    def _last_look(self, req: SendRequest, *, waited: bool) -> lc.Transition | None:
        """What may have changed while it waited for its slot (for a send that did not wait, only its
        campaign's mark is read again): a campaign cancel, a STOP."""
        if self._withdrawn(req):
            return lc.WITHDRAW
        if waited and self.store.blocked.is_blocked(req.from_, req.to):
            return lc.BLOCK
        return None

    def _request(self, req: SendRequest) -> tuple[SendParams, SmartEncoded | None]:
        """msg_send's parameters (the status page naming the message, the webhook's credentials) and,
        when it goes smart-encoded, its text so."""
        query = urllib.parse.urlencode({"mid": req.message_id, "dlr": "1" if req.request_delivery_report else "0"})
        smart = for_request(req, self.policy.smart_encoding)
        return req.to_params(content=smart.text if smart else None, status_page=f"{self.policy.webhook_url}?{query}",
                             status_method=self.policy.status_method, auth=self.webhook_auth()), smart

    def _not_sent(self, req: SendRequest, attempt: Attempt, exc: Exception) -> RecordOutcome:
        move(self.store, lc.RELEASE, req, attempt, self.clock(), reason=f"not sent: {type(exc).__name__}")
        log.warning("not sent, claim released", extra={"message_id": req.message_id, "error": type(exc).__name__})
        return RecordOutcome(retry=True, reason=f"not sent: {type(exc).__name__}")

    def _call_send(self, req: SendRequest, record: MessageRecord | None, attempt: Attempt,
                   request: tuple[SendParams, SmartEncoded | None], now: datetime) -> RecordOutcome:
        params, smart = request
        try:
            refs = self.aculab.msg_send(params)
        except AculabError as exc:
            return SendFailures(self.store, self.policy, self.metrics, self.pacer).handle(req, exc, record, attempt,
                                                                                          now)
        except Exception as exc:  # noqa: BLE001 - the client wraps every failure after the request left
            return self._not_sent(req, attempt, exc)
        resends = record.resends if record else 0  # each attempt after a temporary failure is its own fact
        event = submitted_event(req, refs, now, f"resend {resends}" if resends else "", smart)
        change = lc.Change(lc.SUBMIT, req.message_id, now, events=[event], **attempt.lease,
                           count_attempt=True,
                           history=history_entry(lc.stamp(now), Status.QUEUED.value, msgRefs=list(refs)))
        moved = self.store.messages.record_submitted(change, refs, req.request_delivery_report)
        try:
            self.store.senders.remember_sender(req.from_, now)
        except Exception:  # noqa: BLE001 - the sync also finds senders in SendingNumbers; the event must go out
            log.warning("could not record the sending number", extra={"message_id": req.message_id})
        if not moved.done:  # its refs are kept, its status is another attempt's to tell
            self.metrics.count("RefsKeptForChangedMessage")
            log.warning("refs stored for a message that had changed", extra={"message_id": req.message_id})
            return RecordOutcome()
        self.metrics.count("MessageSubmitted")
        log.info("message submitted", extra={"message_id": req.message_id, "parts": len(refs)})
        return RecordOutcome.stored(req.message_id, [event])
