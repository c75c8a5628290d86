"""HTTP for the webhook: the request and answer, the notification read from a
query string or body, and the one map from domain errors to HTTP status."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aculab_messaging.contracts.notification import BadNotification, Notification
from aculab_messaging.logic.domain_errors import (
    BadRequest,
    DependencyUnavailable,
    IngestError,
    NotPublished,
    NotReady,
    PayloadTooLarge,
    Unauthorized,
    UnknownMessage,
)
from aculab_messaging.logic.ingest import Route

_ROUTING_PARAMS = ("mid", "dlr")


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


HTTP_STATUS: dict[type[IngestError], int] = {
    Unauthorized: 401,
    PayloadTooLarge: 413,
    BadRequest: 400,
    UnknownMessage: 404,
    NotReady: 503,
    NotPublished: 503,
    DependencyUnavailable: 503,
}
# headers each answer carries: Aculab retries a 503, a client learns how to authenticate
RETRY_AFTER_SECONDS = "5"
HTTP_HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": 'Basic realm="aculab"'},
    503: {"Retry-After": RETRY_AFTER_SECONDS},
}


def http_status_for(error: IngestError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # type: ignore[index]
    return 500


def error_response(error: IngestError) -> HttpResponse:
    status = http_status_for(error)
    return HttpResponse(status, {"error": error.code, "message": str(error)}, HTTP_HEADERS.get(status, {}))


def parse_notification(request: HttpRequest) -> Notification:
    """POST: JSON body (or a form body); GET: the raw query string."""
    if request.method == "POST" and request.body:
        fields = _from_body(request.body, request.headers.get("content-type", ""))
    else:
        fields = _from_query(request.raw_query)
    for name in _ROUTING_PARAMS:
        fields.pop(name, None)
    return Notification.from_fields(fields)


def route_of(request: HttpRequest) -> Route:
    """Our own parameters in the status_page URL: ``mid`` (message_id), ``dlr``."""
    try:
        pairs = dict(urllib.parse.parse_qsl(request.raw_query, keep_blank_values=True, max_num_fields=200))
    except ValueError:
        pairs = {}
    return Route(message_id=pairs.get("mid") or None, delivery_report=pairs.get("dlr", "1") != "0")


def _from_body(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadNotification("body is not UTF-8") from None
    if "application/x-www-form-urlencoded" in content_type.lower():  # media types are case-insensitive
        return _from_query(text)
    try:
        data = json.loads(text)
    except ValueError:
        raise BadNotification("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadNotification("body must be a JSON object")
    return data


def _from_query(raw_query: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    try:
        pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True, errors="strict", max_num_fields=200)
    except (ValueError, UnicodeDecodeError):
        raise BadNotification("query string is malformed") from None
    for key, value in pairs:
        if key == "msg_media":
            fields.setdefault("msg_media", []).extend(m for m in value.split(",") if m)
        elif key in fields:
            raise BadNotification(f"parameter given more than once: {key[:32]}")
        else:
            fields[key] = value
    return fields
