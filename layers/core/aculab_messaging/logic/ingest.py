"""Ingest: an authenticated, parsed Aculab notification is stored and announced.

``ingest`` returns once the update is stored AND its events are published;
it raises a domain error otherwise (the adapter decides what HTTP says).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aculab_messaging.contracts.events import MESSAGE_STATUS_CHANGED, Event, aculab_time_to_iso
from aculab_messaging.contracts.notification import BadNotification, Notification
from aculab_messaging.errors import BadRequest, NotPublished, UnknownMessage
from aculab_messaging.logic.inbound import apply_inbound, assemble, is_multipart, is_whole, keyword_of, opt_out_of
from aculab_messaging.logic.ports import EventPublisher, PublishError, Store
from aculab_messaging.logic.tracking import StatusReport, apply_status
from aculab_messaging.redact import mask_number

log = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES"})


@dataclass(frozen=True)
class Route:
    """What our status_page URL said of the message: its id, and whether a
    delivery report was asked for. None: find the message by msg_ref."""

    message_id: str | None = None
    delivery_report: bool = True


@dataclass(frozen=True)
class Ingested:
    """What changed: the events published (none for a repeat that changed nothing)."""

    events: list[Event]


@dataclass
class IngestService:
    """Stores and announces Aculab notifications."""

    store: Store
    publisher: EventPublisher
    clock: Callable[[], datetime]
    stop_words: frozenset[str] = STOP_WORDS
    start_words: frozenset[str] = START_WORDS
    # a long message whose parts have not all arrived by then is announced with what arrived (reconciler)
    parts_wait: timedelta = timedelta(minutes=10)

    def ingest(self, notification: Notification, route: Route = Route()) -> Ingested:
        now = self.clock()
        announced: tuple[str, str] | None = None
        try:
            if notification.is_inbound:
                events, announced = self._inbound(notification, now)
            else:
                events = self._status(notification, route, now)
        except BadNotification as exc:
            raise BadRequest(str(exc)) from None
        try:
            self.publisher.publish(events)
        except PublishError as exc:
            self._requeue(exc)
            raise NotPublished(str(exc)) from None
        if announced is not None:
            self.store.announced(*announced)
        return Ingested(events)

    def _requeue(self, exc: PublishError) -> None:
        """Aculab retries an unacknowledged update; should it give up, the
        reconciler replays these messages' events too."""
        for message_id in {e.detail.get("messageId") for e in exc.failed if e.detail_type == MESSAGE_STATUS_CHANGED}:
            if isinstance(message_id, str):
                self.store.requeue(message_id, self.clock())

    def _status(self, n: Notification, route: Route, now: datetime) -> list[Event]:
        provider = n.provider_status()
        message_id, dlr = route.message_id, route.delivery_report
        if not message_id:
            found = self.store.find_by_ref(n.msg_ref)
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
        )
        events = apply_status(self.store, report, now).events
        log.info("status update", extra={"message_id": message_id, "status": provider.status.value,
                                         "events": len(events)})
        return events

    def _inbound(self, n: Notification, now: datetime) -> tuple[list[Event], tuple[str, str] | None]:
        multipart = is_multipart(n.multipart_count, n.multipart_uid)
        opt_out = None if multipart else opt_out_of(n.content, self.stop_words, self.start_words)
        is_new, stored = self.store.record_inbound(
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
        return apply_inbound(self.store, stored, now, repeat=not is_new), (str(stored["pk"]), str(stored["sk"]))

    def _part(self, n: Notification, now: datetime) -> tuple[list[Event], tuple[str, str] | None]:
        """Gather a part; when the last one arrives, the whole message is
        announced once (a STOP judged on the whole text)."""
        group = self.store.add_inbound_part(
            {"uid": n.multipart_uid, "from": n.from_, "to": n.to, "type": n.type, "count": n.multipart_count},
            n.multipart_pos or 1,
            {"msg_ref": n.msg_ref, "content": n.content, "msg_media": n.msg_media or None,
             "received_at": aculab_time_to_iso(n.timestamp), "aculab_msg_err": n.aculab_msg_err},
            now + self.parts_wait, now,
        )
        key = (str(group["pk"]), "GROUP")
        if group.get("completed_at"):  # a repeat after the whole message went out: the same events again
            return apply_inbound(self.store, assemble(group, complete=True), now, repeat=True), key
        if group.get("closed_at") or not is_whole(group):
            return [], None  # closed incomplete by the reconciler, or more parts to come
        whole = assemble(group, complete=True)
        opt_out = opt_out_of(whole["content"], self.stop_words, self.start_words)
        verdict = {"opt_out": opt_out, "keyword": keyword_of(whole["content"]) if opt_out is not None else None}
        if not self.store.finish_inbound_group(key[0], "completed_at", verdict, now):
            return [], None  # a copy of the last part completed it at the same moment: it announces
        return apply_inbound(self.store, {**whole, **verdict}, now, repeat=False), key
