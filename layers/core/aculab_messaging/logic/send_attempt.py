"""One attempt at a send request: the SQS record it came in, the lease a claim it makes carries,
the transitions it asks from its own claim (``move``), and what its first sight fixes on the item."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.aculab.params import MessageType
from aculab_messaging.contracts.events import Event, stamp, utc_now_iso
from aculab_messaging.contracts.events.outcomes import (
    BlockedDetail,
    CancelledDetail,
    ExpiredDetail,
    QuietHoursDetail,
    RejectedDetail,
    ScheduledDetail,
    SmartEncodingDetail,
    SubmittedDetail,
)
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.domain_errors import CredentialsNotSet
from aculab_messaging.logic.message_record import MessageRecord
from aculab_messaging.logic.ports import MetricsSink, SendQueue
from aculab_messaging.logic.record_outcome import KnownBlocked, RecordOutcome
from aculab_messaging.logic.scheduling import Timing
from aculab_messaging.logic.segmentation import estimate
from aculab_messaging.logic.smart_encoding import SmartEncoded
from aculab_messaging.logic.status import Status
from aculab_messaging.logic.store_ports import SendStore

log = logging.getLogger(__name__)
REUSED_ID = "message_id already used for another request"
WITHDRAWN = "campaign cancelled"  # the reason of a message its campaign's cancel stopped


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


def move(store: SendStore, transition: lc.Transition, req: SendRequest, attempt: Attempt, now: datetime, *,
      count_attempt: bool = False, events: list[Event] | None = None,
          history: Mapping[str, Any] | None = None, **fields: Any) -> bool:
    """A transition from this attempt's own claim (False: the claim is no longer ours)."""
    moved = store.messages.transition(lc.Change(transition, req.message_id, now, fields=fields, events=events or (),
                                            **attempt.lease, count_attempt=count_attempt,
                                            history=history))
    if not moved.done:
        log.warning("the claim was no longer this attempt's", extra={"message_id": req.message_id,
                                                                     "transition": transition.name})
    return moved.done


def refused(moved: lc.Moved) -> MessageRecord:
    if moved.record is None:  # pragma: no cover - only transitions from an existing item can be refused
        raise RuntimeError("a transition was refused, and no item is there")
    return moved.record


def first_sight(req: SendRequest, fingerprint: str, timing: Timing) -> dict[str, Any]:
    """What the first sight of a request fixes on its item, never changed after."""
    return {"to": req.to, "from": req.from_, "type": req.type.value, "dlr": req.request_delivery_report,
            "metadata": dict(req.metadata), "request_hash": fingerprint, "request": json.dumps(req.to_json()),
            "due_at": lc.stamp(timing.due_at) if timing.due_at else None,
            "valid_until": lc.stamp(timing.valid_until) if timing.valid_until else None,
            "campaign_id": req.campaign_id}


def rejected_event(message_id: str, reason: str, now: datetime, sqs_id: str) -> Event:
    """A queue message refused before anything was stored: one fact per SQS message."""
    return Event.of(RejectedDetail(**stamp(RejectedDetail, message_id, Status.REJECTED, sqs_id, now=now),
                                   message_id=message_id, metadata={}, msg_refs=[], status=Status.REJECTED,
                                   is_final=True, reason=reason))


def reused(req: SendRequest, attempt: Attempt, now: datetime, metrics: MetricsSink) -> RecordOutcome:
    """Another request under a known message_id: refused, and the message is left as it is."""
    sqs_id = str(attempt.record.get("messageId"))
    metrics.count("MessageRejected")
    log.info("message_id reused for another request", extra={"message_id": req.message_id})
    reason = f"{REUSED_ID}: message_id {req.message_id!r} belongs to an accepted message, which is unchanged"
    return RecordOutcome([rejected_event(f"sqs-{sqs_id}", reason, now, sqs_id)])


def submitted_event(req: SendRequest, refs: list[str], now: datetime, identity: str,
                    smart: SmartEncoded | None = None) -> Event:
    """Message Submitted tells of the parts: one per ref, and for an sms its encoding
    and, when UCS-2 was forced, the characters that forced it; a smart-encoded one also what
    was replaced, and the parts and encoding the text as written would have taken."""
    found = estimate(smart.text if smart else req.content or "") if req.type is MessageType.SMS else None
    replaced = SmartEncodingDetail(replaced=list(smart.replaced), parts_before=smart.before.parts,
                                   encoding_before=smart.before.encoding) if smart and smart.before else None
    return Event.of(SubmittedDetail(
        **stamp(SubmittedDetail, req.message_id, Status.QUEUED, identity, now=now), message_id=req.message_id,
        metadata=req.metadata, msg_refs=refs, status=Status.QUEUED, is_final=False, parts=len(refs),
        encoding=found.encoding if found else None,
        ucs2_characters=(list(found.ucs2_characters) or None) if found else None, smart_encoding=replaced))


def moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def event_time(moment: datetime | None) -> str | None:
    """An event's time, as every event says its timestamp."""
    return utc_now_iso(moment) if moment else None


def unsent_event(transition: lc.Transition, req: SendRequest, timing: Timing, now: datetime,
                 why: str | None = None) -> tuple[str, Event]:
    """The reason and the event of a message never to be sent: expired, blocked (by an opt-out,
    or ``why``: a rule of the pumping guard), or withdrawn (its campaign was cancelled)."""
    if transition is lc.EXPIRE:
        reason = f"not sent before its valid_until ({event_time(timing.valid_until)})"
        if timing.why is not None:
            reason += f": {timing.why} end later"
        return reason, Event.of(ExpiredDetail(
            **stamp(ExpiredDetail, req.message_id, Status.EXPIRED, "", now=now), message_id=req.message_id,
            metadata=req.metadata, msg_refs=[], status=Status.EXPIRED, is_final=True, reason=reason,
            valid_until=event_time(timing.valid_until)))
    if transition is lc.WITHDRAW:
        reason = WITHDRAWN
        return reason, Event.of(CancelledDetail(
            **stamp(CancelledDetail, req.message_id, Status.CANCELLED, "", now=now), message_id=req.message_id,
            metadata=req.metadata, msg_refs=[], status=Status.CANCELLED, is_final=True, reason=reason))
    reason = why or "recipient opted out (STOP)"
    return reason, Event.of(BlockedDetail(
        **stamp(BlockedDetail, req.message_id, Status.BLOCKED, "", now=now), message_id=req.message_id,
        metadata=req.metadata, msg_refs=[], status=Status.BLOCKED, is_final=True, reason=reason))


def scheduled_event(req: SendRequest, due: datetime, timing: Timing, now: datetime, identity: str = "") -> Event:
    """``identity``: which wait this is (a quiet-hours deferral names its due time): its own fact."""
    return Event.of(ScheduledDetail(
        **stamp(ScheduledDetail, req.message_id, Status.SCHEDULED, identity, now=now), message_id=req.message_id,
        metadata=req.metadata, msg_refs=[], status=Status.SCHEDULED, is_final=False, due_at=utc_now_iso(due),
        reason=timing.why, valid_until=event_time(timing.valid_until), quiet_hours=QuietHoursDetail(
            window=str(timing.quiet.window), time_zone=timing.quiet.zone) if timing.quiet else None))


def not_ready_to_send(check_credentials: Callable[[], None], metrics: MetricsSink) -> RecordOutcome | None:
    """Secrets first: a record that cannot be sent yet goes back to the queue unclaimed."""
    try:
        check_credentials()
    except CredentialsNotSet as exc:
        metrics.count("AculabCredentialsNotSet")
        log.error("Aculab credentials not set: the record waits in the queue", extra={"detail": str(exc)})
        return RecordOutcome(retry=True, reason="Aculab credentials not set")
    except Exception as exc:  # noqa: BLE001 - Secrets Manager unreachable, throttled, denied ...
        metrics.count("SecretUnavailable")
        log.warning("secret unavailable: the record waits in the queue", extra={"error": type(exc).__name__})
        return RecordOutcome(retry=True, reason=f"secret unavailable: {type(exc).__name__}")
    return None


def later(queue: SendQueue, attempt: Attempt, seconds: int, reason: str) -> RecordOutcome:
    """This record again after ``seconds``, as a fresh queue message: a wait never uses up
    SQS's receive count. Should that fail, the record itself comes back (one receive)."""
    try:
        queue.later(attempt.body, seconds)
    except Exception as exc:  # noqa: BLE001 - the record's own visibility still brings it back
        log.warning("could not queue the record again", extra={"error": type(exc).__name__})
        return RecordOutcome(retry=True, reason=reason, delay_seconds=seconds)
    return RecordOutcome(reason=reason, requeued=True)
