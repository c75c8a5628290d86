"""Typed Aculab errors. Each says whether a retry can help (``retryable``) and
whether the request may have reached Aculab (``may_have_reached_server``), which
decides whether a non-idempotent msg_send may be tried again."""

from __future__ import annotations

from typing import Any


class AculabError(Exception):
    retryable: bool = False
    may_have_reached_server: bool = True


class AculabValidationError(AculabError, ValueError):
    """Our own check failed before anything went on the wire."""

    retryable = False
    may_have_reached_server = False


class AculabConnectionError(AculabError):
    """No connection could be made: the request never left this process."""

    retryable = True
    may_have_reached_server = False


class AculabTimeoutError(AculabError):
    """The request was sent but no answer came in time: outcome unknown."""

    retryable = True
    may_have_reached_server = True


class AculabApiError(AculabError):
    """Aculab answered with an HTTP error status and (usually) a JSON error body."""

    def __init__(
        self,
        status_code: int,
        text: str,
        *,
        code: str | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(f"Aculab HTTP {status_code}" + (f" [{code}]" if code else "") + f": {text}")
        self.status_code = status_code
        self.code = code
        self.text = text
        self.details = details or []


class AculabRequestError(AculabApiError):
    """400-class: the request itself is wrong; retrying cannot help."""

    retryable = False
    may_have_reached_server = True


class AculabAuthError(AculabApiError):
    """401/403: our credentials were rejected, so Aculab did not act on the request. Never the
    message's fault (a rotated API key not yet in the stack's secret): it waits and is retried,
    with the secret read again, until the operator fixes it."""

    retryable = True
    may_have_reached_server = False


class AculabThrottledError(AculabApiError):
    """429: rate limited. Aculab refused the request, so it was not acted on."""

    retryable = True
    may_have_reached_server = False


class AculabServerError(AculabApiError):
    """5xx. Only a 503 (Service Unavailable) says Aculab did not act on the request. A 500, or a
    502/504 from a gateway, may come after Aculab queued the message: ambiguous, so a msg_send
    that got one is not sent again under at-most-once (it waits for proof: its status updates)."""

    retryable = True

    def __init__(self, status_code: int, text: str, *, code: str | None = None,
                 details: list[str] | None = None) -> None:
        super().__init__(status_code, text, code=code, details=details)
        self.may_have_reached_server = status_code != NOT_ACTED_ON


NOT_ACTED_ON = 503  # the one 5xx that proves the request was not acted on


def error_from_response(status_code: int, body: Any, fallback_text: str) -> AculabApiError:
    """Build the typed error from Aculab's JSON error shape
    ``{"error": {"code", "text", "details"}, "request": {...}}``."""
    code: str | None = None
    text = fallback_text[:200] or f"HTTP {status_code}"
    details: list[str] = []
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err["code"]) if err.get("code") is not None else None
        text = str(err.get("text") or text)
        raw_details = err.get("details") or []
        if isinstance(raw_details, list):
            details = [str(d) for d in raw_details]
    cls: type[AculabApiError]
    if status_code in (401, 403):
        cls = AculabAuthError
    elif status_code == 429:
        cls = AculabThrottledError
    elif status_code >= 500:
        cls = AculabServerError
    else:
        cls = AculabRequestError
    return cls(status_code, text, code=code, details=details)
