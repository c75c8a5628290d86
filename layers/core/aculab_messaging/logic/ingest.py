"""Ingest: an authenticated, parsed Aculab notification is stored and announced.

``ingest`` returns once the update is stored AND its events are published;
it raises a domain error otherwise (the adapter decides what HTTP says).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aculab_messaging.aculab.params import is_e164
from aculab_messaging.contracts.events import MESSAGE_STATUS_CHANGED, Event, aculab_time_to_iso
from aculab_messaging.contracts.notification import BadNotification, Notification
from aculab_messaging.logic import keywords
from aculab_messaging.logic.domain_errors import BadRequest, NotPublished, NotReady, UnknownMessage
from aculab_messaging.logic.inbound import apply_inbound, assemble, is_multipart, is_whole, keyword_of, opt_out_of
from aculab_messaging.logic.policy import INBOUND_PARTS_WAIT, TEMPORARY_FAILURE_RETRIES
from aculab_messaging.logic.ports import EventPublisher, PublishError
from aculab_messaging.logic.redact import mask_number
from aculab_messaging.logic.status import (
    ProviderStatus,
    UnknownStatusError,
    for_log,
    is_documented_msg_err,
    parse_provider_status,
)
from aculab_messaging.logic.store_ports import IngestStore
from aculab_messaging.logic.tracking import StatusReport, apply_status

log = logging.getLogger(__name__)

STOP_WORDS = frozenset(keywords.STOP_WORDS)
START_WORDS = frozenset(keywords.START_WORDS)


@dataclass(frozen=True)
class Route:
    """What our status_page URL said of the message: its id, and whether a
    delivery report was asked for. None: find the message by msg_ref."""

    message_id: str | None = None
    delivery_report: bool = True


@dataclass(frozen=True)
class Ingested:
    """What changed: the events published (none for a repeat that changed nothing),
    and ``counts``: metric names for what the reference does not describe (an
    unrecognised status or aculab_msg_err), counted by the adapter."""

    events: list[Event]
    counts: tuple[str, ...] = ()


UNKNOWN_STATUS = "UnknownAculabStatus"
UNKNOWN_MSG_ERR = "UnknownAculabMsgErr"


@dataclass
class IngestService:
    """Stores and announces Aculab notifications."""

    store: IngestStore
    publisher: EventPublisher
    clock: Callable[[], datetime]
    stop_words: frozenset[str] = STOP_WORDS
    start_words: frozenset[str] = START_WORDS
    # a long message whose parts have not all arrived by then is announced with what arrived (reconciler)
    parts_wait: timedelta = INBOUND_PARTS_WAIT
    # a message whose every part failed temporarily (301) is sent again this many times at most
    temporary_failure_retries: int = TEMPORARY_FAILURE_RETRIES

    def ingest(self, notification: Notification, route: Route = Route()) -> Ingested:
        now = self.clock()
        announced: Announced | None = None
        counts = self._undocumented_msg_err(notification)
        try:
            if notification.is_inbound:
                events, announced = self._inbound(notification, now)
            else:
                provider = self._provider_status(notification)
                if provider is None:
                    return Ingested([], (UNKNOWN_STATUS, *counts))
                events = self._status(notification, provider, route, now)
        except BadNotification as exc:
            raise BadRequest(str(exc)) from None
        try:
            self.publisher.publish(events)
        except PublishError as exc:
            self._requeue(exc)
            raise NotPublished(str(exc)) from None
        if announced is not None:
            self.store.inbound.announced(*announced)
        return Ingested(events, counts)

    @staticmethod
    def _provider_status(n: Notification) -> ProviderStatus | None:
        """The status Aculab reports, or None for a spelling the reference does
        not list. Such an update is acknowledged (200: a refusal could only be
        retried, never understood) and changes nothing: the message keeps its
        state, and the reconciler's msg_status, or its give-up age, settles it."""
        try:
            return parse_provider_status(n.status)
        except UnknownStatusError as exc:
            log.warning("unrecognised status update acknowledged, nothing changed",
                        extra={"msg_ref": n.msg_ref, "status": for_log(exc.raw), "metric": UNKNOWN_STATUS})
            return None

    @staticmethod
    def _undocumented_msg_err(n: Notification) -> tuple[str, ...]:
        """An aculab_msg_err the reference does not list is kept as it came
        (its meaning reads "Unrecognised"), logged and counted."""
        if is_documented_msg_err(n.aculab_msg_err):
            return ()
        log.warning("unrecognised aculab_msg_err", extra={"msg_ref": n.msg_ref, "aculab_msg_err":
                                                          for_log(n.aculab_msg_err), "metric": UNKNOWN_MSG_ERR})
        return (UNKNOWN_MSG_ERR,)

    def _requeue(self, exc: PublishError) -> None:
        """Aculab retries an unacknowledged update; should it give up, the
        reconciler replays these messages' events too."""
        for message_id in {e.detail.get("messageId") for e in exc.failed if e.detail_type == MESSAGE_STATUS_CHANGED}:
            if isinstance(message_id, str):
                self.store.pending.requeue(message_id, self.clock())

    def _status(self, n: Notification, provider: ProviderStatus, route: Route, now: datetime) -> list[Event]:
        message_id, dlr = route.message_id, route.delivery_report
        if not message_id:
            found = self.store.refs.find_by_ref(n.msg_ref)
            if found is None:
                raise UnknownMessage("no message has this msg_ref")
            message_id, dlr = found
        report = StatusReport(
            message_id=message_id,
            msg_ref=n.msg_ref,
            status=provider.status,
            provider_status=provider.raw,
            aculab_msg_err=n.aculab_msg_err,
            provider_timestamp=n.timestamp,
            multipart_count=n.multipart_count,
            delivery_report=dlr,
            reason=provider.reason,
            from_number=n.from_ if is_e164(n.from_) else None,  # the number Aculab sent it from
            to=n.to if is_e164(n.to) else None,
        )
        events = apply_status(self.store, report, now, resend_limit=self.temporary_failure_retries).events
        log.info("status update", extra={"message_id": message_id, "status": provider.status.value,
                                         "events": len(events)})
        return events

    def _inbound(self, n: Notification, now: datetime) -> tuple[list[Event], Announced | None]:
        multipart = is_multipart(n.multipart_count, n.multipart_uid)
        opt_out = None if multipart else opt_out_of(n.content, self.stop_words, self.start_words)
        is_new, stored = self.store.inbound.record_inbound(
            {
                "msg_ref": n.msg_ref,
                "from": n.from_,
                "to": n.to,
                "type": n.type,
                "content": n.content,
                "msg_media": n.msg_media or None,
                "received_at": aculab_time_to_iso(n.timestamp),
                "status": n.status,
                "aculab_msg_err": n.aculab_msg_err,
                "multipart": ({"uid": n.multipart_uid, "position": n.multipart_pos, "count": n.multipart_count}
                              if n.multipart_uid else None),
                "opt_out": opt_out,
                "keyword": keyword_of(n.content) if opt_out is not None else None,
            },
            now,
            announce=not multipart,  # a part is announced with its whole message
        )
        log.info("inbound message", extra={"msg_ref": n.msg_ref, "from": mask_number(n.from_),
                                           "duplicate": not is_new, "opt_out": opt_out, "part": n.multipart_pos})
        if multipart:
            return self._part(n, now)
        return apply_inbound(self.store, stored, now, repeat=not is_new), (str(stored["pk"]), str(stored["sk"]), None)

    def _part(self, n: Notification, now: datetime) -> tuple[list[Event], Announced | None]:
        """Gather a part; when the last one arrives, the whole message is
        announced once (a STOP judged on the whole text). A part that finds its
        group closed incomplete (announced with what arrived) revises it: the
        text of every part now held is announced again (``_revise``)."""
        position = n.multipart_pos or 1
        spec = {"uid": n.multipart_uid, "from": n.from_, "to": n.to, "type": n.type, "count": n.multipart_count}
        part = {"msg_ref": n.msg_ref, "content": n.content, "msg_media": n.msg_media or None,
                "received_at": aculab_time_to_iso(n.timestamp), "aculab_msg_err": n.aculab_msg_err}
        group = self.store.inbound.add_inbound_part(spec, position, part, now + self.parts_wait, now)
        for _ in range(int(group.get("part_count") or 1) + 3):  # a try more for each revision made meanwhile
            closed, completed = bool(group.get("closed_at")), bool(group.get("completed_at"))
            if closed and not completed and (f"p{position}" not in group or is_whole(group)):
                revised, group = self._revise(group, position, part, now)
                if revised:
                    return apply_inbound(self.store, _announcement(group), now, repeat=False), _key(group)
                if not group:
                    break  # gone meanwhile (its TTL): Aculab's retry starts a new one
                continue  # another part revised it meanwhile: again, on the group as it is now
            if closed or completed:  # a repeat after the message went out: its latest announcement again
                return apply_inbound(self.store, _announcement(group), now, repeat=True), _key(group)
            if not is_whole(group):
                return [], None  # more parts to come
            whole = assemble(group, complete=True)
            verdict = self._verdict(whole["content"])
            if self.store.inbound.finish_inbound_group(str(group["pk"]), "completed_at", verdict, now):
                return apply_inbound(self.store, {**whole, **verdict}, now, repeat=False), _key(group)
            # as it is now
            group = self.store.inbound.add_inbound_part(spec, position, part, now + self.parts_wait, now)
            if group.get("completed_at"):
                return [], None  # a copy of the last part completed it at the same moment: it announces
            # else the reconciler closed it meanwhile, maybe without this part: revised
        raise NotReady("the parts of this long message keep changing: retry")

    def _revise(self, group: Mapping[str, Any], position: int, part: Mapping[str, Any],
                now: datetime) -> tuple[bool, dict[str, Any]]:
        """Revision n + 1 of a group closed incomplete, with this part: complete
        once every part is held, and only then judged as a keyword."""
        held = {**group, f"p{position}": group.get(f"p{position}") or dict(part)}
        complete = is_whole(held)
        verdict = self._verdict(assemble(held, complete=True)["content"]) if complete else _NO_KEYWORD
        revision = int(group.get("revision") or 0) + 1
        revised, now_held = self.store.inbound.revise_inbound_group(str(group["pk"]), position, part, verdict,
                                                                    revision, now, complete=complete)
        if revised:
            log.info("late part announced again", extra={"msg_ref": part.get("msg_ref"), "revision": revision,
                                                         "complete": complete, "opt_out": verdict["opt_out"]})
        return revised, now_held

    def _verdict(self, content: str | None) -> dict[str, Any]:
        opt_out = opt_out_of(content, self.stop_words, self.start_words)
        return {"opt_out": opt_out, "keyword": keyword_of(content) if opt_out is not None else None}


# what leaves the announce partition once the events are out: (pk, sk, the group's revision or None)
Announced = tuple[str, str, int | None]
_NO_KEYWORD: dict[str, Any] = {"opt_out": None, "keyword": None}  # a text with parts missing is never a keyword


def _announcement(group: Mapping[str, Any]) -> dict[str, Any]:
    """A finished group's latest announcement: complete once every part came."""
    return assemble(group, complete=bool(group.get("completed_at")))


def _key(group: Mapping[str, Any]) -> Announced:
    return str(group["pk"]), "GROUP", int(group.get("revision") or 0)
