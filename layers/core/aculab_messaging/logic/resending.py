"""A message sent again after a temporary failure.

Aculab's reference: ``aculab_msg_err`` 301, "Carrier could not accept messages. Try
sending the message again shortly, indicates a temporary failure". When every part
of a message ended ``failed`` with 301, nothing of it reached the recipient, so it
is sent again (the ``resend`` transition: failed -> waiting; the reconciler puts
its request back on the send queue; a new attempt, new refs; the old refs stay in
its timeline and in ``earlier_refs``), at most ``TemporaryFailureRetries`` times
and never past its validity.

A message with any part delivered, sent or still on its way is never sent again:
a resend could only be the whole message, and would deliver those parts twice. It
ends ``failed`` as its parts say.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from aculab_messaging.contracts.events import Event
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import MessageRecord, history_entry
from aculab_messaging.logic.store_ports import ResendStore

log = logging.getLogger(__name__)

TEMPORARY_FAILURE = "301"
RESENDING = "resending"  # the timeline's word for a message waiting to be sent again
DUE_AT_ONCE = datetime(1970, 1, 1, tzinfo=UTC)  # first in the reconciler's pending index


def failed_temporarily(record: MessageRecord) -> bool:
    """Every part ended failed with aculab_msg_err 301: nothing of it reached the recipient (every
    part Aculab said it holds: an adopted message may have parts it has not told us of)."""
    parts = list(record.parts.values())
    return bool(parts) and len(parts) >= record.announced_parts and all(
        p.get("status") == lc.FAILED and str(p.get("aculab_msg_err")) == TEMPORARY_FAILURE for p in parts)


def resend_reason(record: MessageRecord, limit: int, now: datetime) -> str | None:
    """Why ``record`` as read is sent again (None: it is not): failed temporarily in every part,
    its request kept, resends left, still valid. A function of the message alone, so that two
    copies of one update decide alike (the store's ``resend`` guards decide who makes it)."""
    if limit <= record.resends or record.status != lc.FAILED or not record.request or not failed_temporarily(record):
        return None
    if record.valid_until and datetime.fromisoformat(record.valid_until) <= now:
        return None
    return f"temporary failure (aculab_msg_err 301): sent again ({record.resends + 1} of at most {limit})"


def resend(store: ResendStore, record: MessageRecord, limit: int, now: datetime, reason: str,
           events: Sequence[Event] = ()) -> bool:
    """The ``resend`` transition, ``events`` (the part's change) in its outbox: False when another
    copy of the update made it first, or the message moved on."""
    moved = store.messages.transition(lc.Change(
        lc.RESEND, record.message_id, now, resend_limit=limit, pending_at=DUE_AT_ONCE, events=events,
        fields={"reason": reason, "resend": True, "parts": None, "refs": None, "part_count": None,
                "aculab_msg_err": None, "announced_parts": None, "submitted_at": None,
                "earlier_refs": [*record.earlier_refs, *record.refs]},
        history=history_entry(lc.stamp(now), RESENDING, reason=reason, msgRefs=list(record.refs))))
    if moved.done:
        log.info("temporary failure: the message is sent again", extra={"message_id": record.message_id,
                                                                          "resends": record.resends + 1})
    return moved.done
