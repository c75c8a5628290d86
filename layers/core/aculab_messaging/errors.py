"""Domain errors of the webhook path and the one place that maps them to HTTP."""

from __future__ import annotations


class IngestError(Exception):
    """Base: ``code`` is a stable machine-readable reason, also the metric name."""

    code = "error"


class Unauthorized(IngestError):
    code = "unauthorized"


class BadRequest(IngestError):
    code = "bad_request"


class PayloadTooLarge(BadRequest):
    code = "payload_too_large"


class UnknownMessage(IngestError):
    """No message of ours has this message_id / msg_ref."""

    code = "unknown_message"


class NotReady(IngestError):
    """The message exists but its refs are not recorded yet: ask Aculab to retry."""

    code = "not_ready"


class NotPublished(IngestError):
    """Stored, but the event did not go out: not acknowledged, so Aculab retries."""

    code = "not_published"


class DependencyUnavailable(IngestError):
    """A secret, DynamoDB or EventBridge failed: nothing acknowledged, Aculab retries."""

    code = "dependency_unavailable"


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
