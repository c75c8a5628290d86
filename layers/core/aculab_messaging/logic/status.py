"""The status order and the part -> message rules.

Statuses only move forward. Each status has a rank; a stored status may only be
replaced by one of a higher rank (enforced by DynamoDB conditions in store.py).

    scheduled (5) < queued (10) < submitted to carrier (20) < sent (30) < final (40)

Final statuses: delivered, accepted, failed, cancelled (Aculab's) and rejected,
blocked, expired (ours). A message sent without a delivery report never gets an
answer after ``sent``, so for such a message ``sent`` is final too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    SCHEDULED = "scheduled"  # ours: waiting for its send_at (SQS delay or an EventBridge schedule)
    QUEUED = "queued"
    SUBMITTED = "submitted to carrier"
    SENT = "sent"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # ours
    REJECTED = "rejected"
    BLOCKED = "blocked"
    EXPIRED = "expired"


FINAL_RANK = 40

# The send path's own states of a message before Aculab has it (never published)
SENDING = "sending"  # claimed under a lease; msg_send may be in flight
RETRYABLE = "retryable"  # claim released after a failure that did not reach Aculab
# msg_send's answer was ambiguous (a 500/502/504, a reset or a read timeout after the request was sent): Aculab
# may have the message. Never sent again under at-most-once; a status update naming it confirms it
UNCONFIRMED = "unconfirmed"
OUTCOME_UNKNOWN = "outcome unknown: an earlier attempt may have reached Aculab"
_RANKS = {
    Status.SCHEDULED: 5,
    Status.QUEUED: 10,
    Status.SUBMITTED: 20,
    Status.SENT: 30,
}
FINAL_STATUSES = frozenset(s for s in Status if s not in _RANKS)

# Which final status a multipart message takes when all of its parts are final:
# the first of these that any part has.
_FINAL_PRECEDENCE = (
    Status.FAILED,
    Status.EXPIRED,
    Status.CANCELLED,
    Status.ACCEPTED,
    Status.DELIVERED,
    Status.SENT,
)

ACULAB_MSG_ERR_MEANINGS = {
    "000": "OK - no problems detected.",
    "001": "No more information available.",
    "100": "Spam detected - statistical.",
    "101": "Spam detected - keyword.",
    "102": "Spam detected.",
    "200": "Message submission failed.",
    "201": "Destination application error.",
    "202": "Message not acknowledged.",
    "203": "Invalid service type.",
    "204": "Invalid destination number.",
    "205": "Invalid source number.",
    "206": "Loop detected.",
    "207": "Invalid scheduled delivery time.",
    "300": "Unknown error.",
    "301": "Carrier could not accept messages (temporary failure).",
    "302": "Message not delivered to carrier.",
}


class UnknownStatusError(ValueError):
    """A provider status string that is not in Aculab's documented set
    (``raw``: the text as it came; the message shows ``for_log(raw)`` only)."""

    def __init__(self, raw: str) -> None:
        super().__init__(f"unknown status {for_log(raw)!r}")
        self.raw = raw


_LONG_DIGITS = re.compile(r"[0-9]{5,}")


def for_log(text: object, limit: int = 40) -> str:
    """Aculab's free text (a status, a cancel result, an aculab_msg_err) fit
    for a log line: at most ``limit`` characters, any run of five or more
    digits (it could be a phone number) masked."""
    return _LONG_DIGITS.sub(lambda m: "*" * len(m.group()), str(text)[:limit])


def is_documented_msg_err(code: str | None) -> bool:
    """Whether an aculab_msg_err is one of the reference's codes (None: none given)."""
    return code is None or code in ACULAB_MSG_ERR_MEANINGS


@dataclass(frozen=True)
class ProviderStatus:
    """A status as Aculab reports it, normalised."""

    status: Status
    raw: str
    reason: str | None = None


def parse_provider_status(raw: str) -> ProviderStatus:
    """Parse Aculab's status text, e.g. ``"failed (invalid destination)"``.

    ``received`` and ``unknown`` are not message states and are rejected here;
    callers handle them before asking for a transition.
    """
    text = raw.strip()
    lowered = text.lower()
    if lowered.startswith("failed"):
        rest = text[len("failed") :].strip()
        reason = rest[1:-1].strip() if rest.startswith("(") and rest.endswith(")") else rest
        return ProviderStatus(Status.FAILED, text, reason or None)
    for status in (
        Status.QUEUED,
        Status.SUBMITTED,
        Status.SENT,
        Status.DELIVERED,
        Status.ACCEPTED,
        Status.CANCELLED,
    ):
        if lowered == status.value:
            return ProviderStatus(status, text)
    raise UnknownStatusError(text)


def is_final(status: Status, *, delivery_report: bool = True) -> bool:
    """Whether no further update can follow ``status``."""
    if status in FINAL_STATUSES:
        return True
    return status is Status.SENT and not delivery_report


def rank(status: Status, *, delivery_report: bool = True) -> int:
    """The forward-only order of statuses; every final status ranks equal."""
    if is_final(status, delivery_report=delivery_report):
        return FINAL_RANK
    return _RANKS[status]


def derive_message_status(parts: Iterable[Status], *, delivery_report: bool = True) -> Status:
    """A message's status from its parts' statuses.

    Until every part is final, the lowest part's status; once all are final,
    failed if any failed, else the first of the precedence list present.
    """
    statuses = list(parts)
    if not statuses:
        raise ValueError("a message has at least one part")
    if all(is_final(s, delivery_report=delivery_report) for s in statuses):
        for candidate in _FINAL_PRECEDENCE:
            if candidate in statuses:
                return candidate
        return statuses[0]
    return min(statuses, key=lambda s: rank(s, delivery_report=delivery_report))


def msg_err_meaning(code: str | None) -> str | None:
    if code is None:
        return None
    return ACULAB_MSG_ERR_MEANINGS.get(code, "Unrecognised aculab_msg_err code.")
