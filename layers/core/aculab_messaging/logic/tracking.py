"""The one state machine for outbound status: used by the webhook, the
reconciler and cancels alike."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aculab_messaging.contracts.events import Event, aculab_time_to_iso, stamp
from aculab_messaging.contracts.events.base import AculabMsgErr
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.domain_errors import NotReady, UnknownMessage
from aculab_messaging.logic.message_record import MessageRecord, PartWrite, history_entry
from aculab_messaging.logic.resending import resend, resend_reason
from aculab_messaging.logic.status import (
    FINAL_RANK,
    OUTCOME_UNKNOWN,
    SENDING,
    Status,
    derive_message_status,
    is_final,
    rank,
)
from aculab_messaging.logic.store_ports import TrackingStore

log = logging.getLogger(__name__)
_STATUS_VALUES = frozenset(s.value for s in Status)


@dataclass(frozen=True)
class StatusReport:
    """One part's status, from a notification, msg_status or our own decision."""

    message_id: str
    msg_ref: str
    status: Status
    provider_status: str | None = None
    aculab_msg_err: str | None = None
    provider_timestamp: str | None = None
    multipart_count: int | None = None
    delivery_report: bool = True
    reason: str | None = None
    from_number: str | None = None  # the number Aculab sent the part from (E.164 with '+'), when it said
    to: str | None = None  # the recipient the update names (E.164 with '+'): an unknown ref joins only its message


@dataclass(frozen=True)
class Applied:
    """``events`` to publish; ``advanced``: whether anything was stored (False
    for a duplicate, whose event is returned again, or an older update)."""

    events: list[Event]
    advanced: bool


def apply_status(store: TrackingStore, report: StatusReport, now: datetime, *, adopting: bool = False,
                 resend_limit: int = 0) -> Applied:
    """Move a part (and its message) forward; return the events to publish.

    A duplicate of the current state returns the same event again (same
    eventId), so an update whose first attempt stored but did not publish is
    still published; an older update returns nothing. An update naming a
    message that lacks its ref (its msg_send answered ambiguously, or a part of
    such a message not seen yet) is the proof Aculab has it: the ref joins it.
    A message whose every part failed temporarily is sent again (``resending``),
    at most ``resend_limit`` times.
    """
    dlr = report.delivery_report
    write = PartWrite(
        message_id=report.message_id,
        msg_ref=report.msg_ref,
        status=report.status,
        rank=rank(report.status, delivery_report=dlr),
        provider_status=report.provider_status,
        aculab_msg_err=report.aculab_msg_err,
        provider_timestamp=aculab_time_to_iso(report.provider_timestamp),
        single_part=(report.multipart_count or 1) == 1,
        from_number=report.from_number,
    )
    result = store.parts.write_part(write, now)
    record = result.record
    if result.outcome == "missing":
        if record is None:
            raise UnknownMessage("no such message")
        if report.msg_ref in record.earlier_refs:  # an attempt that failed temporarily: in its timeline already
            return Applied([], advanced=False)
        if record.status == SENDING:
            raise NotReady("message refs not recorded yet")
        if adopting or not _may_adopt(record, report):
            raise UnknownMessage("msg_ref does not belong to this message")
        owner = store.refs.find_by_ref(report.msg_ref)
        if owner is not None and owner[0] != record.message_id:  # another message's ref: never taken
            raise UnknownMessage("msg_ref belongs to another message")
        adopted = _adopt(store, record, report, now)
        applied = apply_status(store, report, now, adopting=True, resend_limit=resend_limit)  # the message's now
        return Applied(adopted + applied.events, advanced=True)
    if record is None:  # pragma: no cover - the store returns the record for these outcomes
        raise UnknownMessage("no such message")
    if result.outcome == "stale":
        if record.parts[report.msg_ref].get("status") != report.status.value:
            return Applied([], advanced=False)  # older than what we have
        # a repeat: its first try may have stopped after the part's write (the message's status and
        # a resend are decided again on the message as it is; a status written now is a change)
        moved = _derive_message_status(store, record, report, now)
        return _announced(store, record, report, now, resend_limit, advanced=moved)
    _derive_message_status(store, record, report, now)
    return _announced(store, record, report, now, resend_limit, advanced=True)


def _derive_message_status(store: TrackingStore, record: MessageRecord, report: StatusReport, now: datetime) -> bool:
    """A multipart message's status from its parts, written when it is ahead of the stored one
    (True: written)."""
    if len(record.parts) <= 1 and (report.multipart_count or 1) <= 1:
        return False  # one part: its write moved the message too
    dlr = report.delivery_report
    derived = derive_message_status([Status(p["status"]) for p in record.parts.values()], delivery_report=dlr)
    derived_rank = rank(derived, delivery_report=dlr)
    if derived_rank >= FINAL_RANK and len(record.parts) < (report.multipart_count or 0):
        derived_rank = 0  # parts Aculab has not told us of yet: not final until they are known
    if derived_rank <= record.rank:
        return False
    store.parts.write_message_status(record.message_id, derived, derived_rank, now)
    record.status, record.rank = derived.value, derived_rank
    return True


def _announced(store: TrackingStore, record: MessageRecord, report: StatusReport, now: datetime, resend_limit: int, *,
               advanced: bool) -> Applied:
    """The part's event; a message whose every part failed temporarily is sent again, that event
    in the same write (``resend``). Whether it is sent again is decided on the message as read, so
    every copy of the update tells the same fact under the same eventId."""
    reason = resend_reason(record, resend_limit, now)
    event = _changed_event(record, report, now, resending=reason)
    if reason is not None:
        resend(store, record, resend_limit, now, reason, [event])
    return Applied([event], advanced=advanced)


def _may_adopt(record: MessageRecord, report: StatusReport) -> bool:
    """Whether an update's unknown ref may join this message: it is unconfirmed (or waiting, or
    failed only as "outcome unknown"), or its refs came from its updates (another part's may come).
    A message whose refs msg_send returned has them all: an unknown ref is never its. The update
    must name the message's recipient (a misrouted update of another message to the same recipient,
    both answers lost, is the case this cannot tell apart: README, What we assume about Aculab)."""
    if report.to is None or report.to != record.to:
        return False
    if record.status in lc.ADOPT.sources - {lc.FAILED, SENDING}:
        return True
    if record.status == lc.FAILED and record.reason == OUTCOME_UNKNOWN:
        return True
    at_aculab = record.status in lc.ACULAB_STATES or (bool(record.refs) and record.is_final)
    return at_aculab and record.reason == CONFIRMED


def _adopt(store: TrackingStore, record: MessageRecord, report: StatusReport, now: datetime) -> list[Event]:
    """The ref joins the message; an unconfirmed one is queued by the ``adopt`` transition
    (its Message Submitted event in the same write)."""
    from aculab_messaging.contracts.events.outcomes import SubmittedDetail  # loaded by the path that adopts

    event = Event.of(SubmittedDetail(
        **stamp(SubmittedDetail, record.message_id, Status.QUEUED, f"confirmed {record.resends}", now=now),
        message_id=record.message_id, metadata=record.metadata, msg_refs=[report.msg_ref], status=Status.QUEUED,
        is_final=False, reason=CONFIRMED, parts=report.multipart_count or 1))
    announced = max(report.multipart_count or 1, record.announced_parts)  # the parts Aculab says it holds
    change = lc.Change(lc.ADOPT, record.message_id, now, fields={"reason": CONFIRMED, "announced_parts": announced},
                       events=[event],
                       history=history_entry(lc.stamp(now), Status.QUEUED.value, msgRefs=[report.msg_ref],
                                             reason=CONFIRMED))
    moved = store.messages.record_adopted(change, record, [report.msg_ref], report.delivery_report)
    log.info("a status update confirmed the message: its ref joins it",
             extra={"message_id": record.message_id, "msg_ref": report.msg_ref, "queued": moved.done})
    return [event] if moved.done else []


CONFIRMED = "confirmed by a status update naming it (msg_send's answer was lost or ambiguous)"


def _changed_event(record: MessageRecord, report: StatusReport, now: datetime,
                   resending: str | None = None) -> Event:
    """The part's change; ``resending``: why the message is sent again (so not final)."""
    part = record.parts.get(report.msg_ref, {})
    message_status = Status(record.status) if record.status in _STATUS_VALUES else report.status
    final = resending is None and is_final(message_status, delivery_report=record.dlr) and all(
        int(p.get("rank", 0)) >= FINAL_RANK for p in record.parts.values()
    )
    from aculab_messaging.contracts.events.status import PartDetail, StatusChangedDetail

    return Event.of(StatusChangedDetail(
        **stamp(StatusChangedDetail, record.message_id, message_status, f"{report.msg_ref}:{report.status.value}",
                now=now),
        message_id=record.message_id, metadata=record.metadata, msg_refs=record.refs, status=message_status,
        provider_status=report.provider_status, is_final=final, aculab_msg_err=AculabMsgErr.of(report.aculab_msg_err),
        reason=resending or report.reason,
        part=PartDetail(msg_ref=report.msg_ref, status=report.status,
                        position=int(part["pos"]) if part.get("pos") is not None else None,
                        count=len(record.parts) or 1, provider_timestamp=aculab_time_to_iso(report.provider_timestamp),
                        from_number=part.get("from_number") or report.from_number),
        from_number=record.from_number,
    ))


DEAD_LETTERED = "dead-lettered"


def failed_event(message_id: str, metadata: dict[str, Any], reason: str, now: datetime, identity: str = "") -> Event:
    """A message that failed before Aculab had it (refused, dead-lettered, outcome unknown). ``identity``
    tells apart two such facts (a message dead-lettered twice: after 40 attempts, then after 45)."""
    from aculab_messaging.contracts.events.outcomes import FailedDetail  # loaded by the path that fails one

    return Event.of(FailedDetail(**stamp(FailedDetail, message_id, Status.FAILED, identity, now=now),
                                 message_id=message_id, metadata=metadata, msg_refs=[], status=Status.FAILED,
                                 is_final=True, reason=reason))
