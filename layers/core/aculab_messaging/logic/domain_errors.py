"""Domain errors: the webhook path's (webhook/http.py maps them to HTTP answers), and a secret
that cannot serve yet."""

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


class SecretError(RuntimeError):
    """A secret that cannot be used (not a JSON object)."""


class CredentialsNotSet(SecretError):
    """A secret that still holds the deploy-time placeholder (a field empty): the send path
    leaves its records in the queue until it is set."""
