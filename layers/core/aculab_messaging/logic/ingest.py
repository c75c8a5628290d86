"""Webhook ingest: authenticate Aculab's notification, store it, publish its event.

A request is answered 200 only once its update is stored AND its events are
published; anything else is answered with an error so that Aculab retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aculab_messaging.contracts.events import (
    MESSAGE_RECEIVED,
    MESSAGE_STATUS_CHANGED,
    Event,
    aculab_time_to_iso,
    message_event,
    opt_out_event,
    utc_now_iso,
)
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

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            self._authenticate(request)
            if len(request.body) > self.max_body_bytes or len(request.raw_query) > self.max_body_bytes:
                raise PayloadTooLarge(f"request larger than {self.max_body_bytes} bytes")
            try:
                notification = parse_notification(
                    request.method, request.raw_query, request.body, request.headers.get("content-type", "")
                )
                events = self._ingest(notification, routing_params(request.raw_query))
            except BadNotification as exc:
                raise BadRequest(str(exc)) from None
            try:
                self.publisher.publish(events)
            except PublishError as exc:
                self._requeue(exc)
                raise NotPublished(str(exc)) from None
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

    def _ingest(self, n: Notification, routing: Mapping[str, str]) -> list[Event]:
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
        return events

    def _inbound(self, n: Notification, now: datetime) -> list[Event]:
        received_at = aculab_time_to_iso(n.timestamp) or utc_now_iso(now)
        keyword = (n.content or "").strip().upper()
        events: list[Event] = []
        opt_out: bool | None = True if keyword in STOP_WORDS else False if keyword in START_WORDS else None
        changed = False
        if opt_out is not None:
            changed = self.store.set_blocked(n.to, n.from_, opt_out, "inbound", f"{received_at}#{n.msg_ref}")
        is_new = self.store.record_inbound(
            {
                "msg_ref": n.msg_ref,
                "from": n.from_,
                "to": n.to,
                "type": n.type,
                "content": n.content,
                "msg_media": n.msg_media or None,
                "received_at": received_at,
            },
            now,
        )
        events.append(
            message_event(
                MESSAGE_RECEIVED,
                message_id=n.msg_ref,
                status="received",
                is_final=True,
                msg_refs=[n.msg_ref],
                provider_status=n.status,
                aculab_msg_err=n.aculab_msg_err,
                now=now,
                extra={
                    "direction": "receive",
                    "from": n.from_,
                    "to": n.to,
                    "type": n.type,
                    "content": n.content,
                    "msgMedia": list(n.msg_media),
                    "multipart": (
                        {"uid": n.multipart_uid, "position": n.multipart_pos, "count": n.multipart_count}
                        if n.multipart_uid
                        else None
                    ),
                    "providerTimestamp": aculab_time_to_iso(n.timestamp),
                },
            )
        )
        if opt_out is not None and (changed or not is_new):
            events.append(
                opt_out_event(from_=n.to, to=n.from_, blocked=opt_out, source="inbound", keyword=keyword, now=now)
            )
        log.info(
            "inbound message",
            extra={"msg_ref": n.msg_ref, "from": mask_number(n.from_), "duplicate": not is_new, "opt_out": opt_out},
        )
        return events
