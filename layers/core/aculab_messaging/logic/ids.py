"""The contracts' limits that paths without their models need: what a producer's message_id may be,
how far ahead a send may be scheduled, how many parts a message may have."""

from __future__ import annotations

import re
from datetime import timedelta

MESSAGE_ID_MAX_LENGTH = 128
MAX_SCHEDULE_AHEAD = timedelta(days=366)  # send_at at most this far ahead (valid_until likewise)
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9._:\-]+$"
# The most parts a message may have, in both directions: a concatenated sms numbers its parts in
# one octet (3GPP TS 23.040), so no carrier reports more. The send contract refuses an sms that would
# take more, so no status update of a message we sent is refused for its count (contracts/notification.py).
MAX_PARTS = 255
_MESSAGE_ID = re.compile(MESSAGE_ID_PATTERN)


def is_message_id(value: str | None) -> bool:
    """Whether ``value`` can be a message_id (and so a table key)."""
    return bool(value) and len(value or "") <= MESSAGE_ID_MAX_LENGTH and bool(_MESSAGE_ID.match(value or ""))
