"""Webhook ingest: authenticate Aculab's notification, store it, publish its event.

A request is answered 200 only once its update is stored AND its events are
published; anything else is answered with an error so that Aculab retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aculab_messaging.contracts.events import MESSAGE_STATUS_CHANGED, Event, aculab_time_to_iso
from aculab_messaging.contracts.notification import (
    BadNotification,
    Notification,
    parse_notification,
    routing_params,
)
from aculab_messaging.errors import (
    HTTP_HEADERS,
    BadRequest,
    DependencyUnavailable,
    IngestError,
    NotPublished,
    PayloadTooLarge,
    Unauthorized,
    UnknownMessage,
    http_status_for,
)
from aculab_messaging.logic.inbound import apply_inbound, keyword_of, opt_out_of
from aculab_messaging.logic.tracking import StatusReport, apply_status
from aculab_messaging.metrics import MetricsSink
from aculab_messaging.publisher import EventPublisher, PublishError
from aculab_messaging.redact import mask_number
from aculab_messaging.store import MessageStore
from aculab_messaging.webhook_auth import CredentialsUnavailable, WebhookAuthenticator

log = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES"})


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request the webhook uses."""

    method: str
    raw_query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    path_token: str | None = None


@dataclass(frozen=True)
class HttpResponse:
    """What the webhook answers."""

    status: int
    body: dict[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class IngestService:
    """Authenticates, stores and announces Aculab notifications."""

    store: MessageStore
    publisher: EventPublisher
    auth: WebhookAuthenticator
    clock: Callable[[], datetime]
    metrics: MetricsSink
    max_body_bytes: int = 65536
    stop_words: frozenset[str] = STOP_WORDS
    start_words: frozenset[str] = START_WORDS

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            self._authenticate(request)
            if len(request.body) > self.max_body_bytes or len(request.raw_query) > self.max_body_bytes:
                raise PayloadTooLarge(f"request larger than {self.max_body_bytes} bytes")
            try:
                notification = parse_notification(
                    request.method, request.raw_query, request.body, request.headers.get("content-type", "")
                )
                events, announced = self._ingest(notification, routing_params(request.raw_query))
            except BadNotification as exc:
                raise BadRequest(str(exc)) from None
            try:
                self.publisher.publish(events)
            except PublishError as exc:
                self._requeue(exc)
                raise NotPublished(str(exc)) from None
            if announced is not None:
                self.store.announced(*announced)
        except IngestError as exc:
            return self._refuse(exc)
        except CredentialsUnavailable as exc:
            return self._refuse(DependencyUnavailable(str(exc)))
        except Exception as exc:
            log.exception("dependency failure", extra={"error": type(exc).__name__})
            return self._refuse(DependencyUnavailable(type(exc).__name__))
        self.metrics.count("NotificationAccepted")
        return HttpResponse(200)

    def _refuse(self, exc: IngestError) -> HttpResponse:
        status = http_status_for(exc)
        self.metrics.count(f"Rejected_{exc.code}")
        log.warning("notification not accepted", extra={"reason": exc.code, "http_status": status})
        return HttpResponse(status, {"error": exc.code, "message": str(exc)}, HTTP_HEADERS.get(status, {}))

    # -- steps ----------------------------------------------------------------

    def _requeue(self, exc: PublishError) -> None:
        """Aculab retries an unacknowledged update; should it give up, the
        reconciler replays these messages' events too."""
        for message_id in {e.detail.get("messageId") for e in exc.failed if e.detail_type == MESSAGE_STATUS_CHANGED}:
            if isinstance(message_id, str):
                self.store.requeue(message_id, self.clock())

    def _authenticate(self, request: HttpRequest) -> None:
        if request.path_token is not None:
            if not self.auth.token_ok(request.path_token):
                raise Unauthorized("invalid token")
            return
        if not self.auth.basic_auth_ok(request.headers.get("authorization", "")):
            raise Unauthorized("missing or invalid credentials")

    def _ingest(self, n: Notification, routing: Mapping[str, str]) -> tuple[list[Event], tuple[str, str] | None]:
        """The events to publish, and the stored item (pk, sk) they announce, if one waits for them."""
        now = self.clock()
        if n.is_inbound:
            return self._inbound(n, now)
        provider = n.provider_status()
        message_id = routing.get("mid")
        dlr = routing.get("dlr", "1") != "0"
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
        log.info(
            "status update",
            extra={"message_id": message_id, "status": provider.status.value, "events": len(events)},
        )
        return events, None

    def _inbound(self, n: Notification, now: datetime) -> tuple[list[Event], tuple[str, str]]:
        opt_out = opt_out_of(n.content, self.stop_words, self.start_words)
        multipart = ({"uid": n.multipart_uid, "position": n.multipart_pos, "count": n.multipart_count}
                     if n.multipart_uid else None)
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
                "multipart": multipart,
                "opt_out": opt_out,
                "keyword": keyword_of(n.content) if opt_out is not None else None,
            },
            now,
        )
        log.info(
            "inbound message",
            extra={"msg_ref": n.msg_ref, "from": mask_number(n.from_), "duplicate": not is_new, "opt_out": opt_out},
        )
        return apply_inbound(self.store, stored, now, repeat=not is_new), (str(stored["pk"]), str(stored["sk"]))
