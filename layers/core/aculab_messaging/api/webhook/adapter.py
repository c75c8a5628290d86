"""The webhook's adapter: who may call, how big, what it says, and the answer.

A request is answered 200 only once its update is stored AND its events are
published (the domain's ``ingest``); anything else is answered with an error
from the one map in ``http.py``, so that Aculab retries what may succeed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aculab_messaging.api.webhook.auth import CredentialsUnavailable, WebhookAuthenticator
from aculab_messaging.api.webhook.http import (
    HttpRequest,
    HttpResponse,
    error_response,
    parse_notification,
    route_of,
)
from aculab_messaging.contracts.notification import BadNotification
from aculab_messaging.logic.domain_errors import (
    BadRequest,
    DependencyUnavailable,
    IngestError,
    PayloadTooLarge,
    Unauthorized,
)
from aculab_messaging.logic.ingest import IngestService
from aculab_messaging.logic.ports import MetricsSink

log = logging.getLogger(__name__)


@dataclass
class WebhookAdapter:
    ingest: IngestService
    auth: WebhookAuthenticator
    metrics: MetricsSink
    max_body_bytes: int = 65536

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            self._authenticate(request)
            if len(request.body) > self.max_body_bytes or len(request.raw_query) > self.max_body_bytes:
                raise PayloadTooLarge(f"request larger than {self.max_body_bytes} bytes")
            try:
                notification = parse_notification(request)
            except BadNotification as exc:
                raise BadRequest(str(exc)) from None
            ingested = self.ingest.ingest(notification, route_of(request))
        except IngestError as exc:
            return self._refuse(exc)
        except CredentialsUnavailable as exc:
            return self._refuse(DependencyUnavailable(str(exc)))
        except Exception as exc:
            log.exception("dependency failure", extra={"error": type(exc).__name__})
            return self._refuse(DependencyUnavailable(type(exc).__name__))
        for name in ingested.counts:  # what the reference does not describe: acknowledged, counted
            self.metrics.count(name)
        self.metrics.count("NotificationAccepted")
        return HttpResponse(200)

    def _authenticate(self, request: HttpRequest) -> None:
        if request.path_token is not None:
            if not self.auth.token_ok(request.path_token):
                raise Unauthorized("invalid token")
            return
        if not self.auth.basic_auth_ok(request.headers.get("authorization", "")):
            raise Unauthorized("missing or invalid credentials")

    def _refuse(self, exc: IngestError) -> HttpResponse:
        response = error_response(exc)
        self.metrics.count(f"Rejected_{exc.code}")
        log.warning("notification not accepted", extra={"reason": exc.code, "http_status": response.status})
        return response
