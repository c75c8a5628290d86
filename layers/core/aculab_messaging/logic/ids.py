"""What a producer's message_id may be: the contract's rule (contracts/queue.py),
for the paths that check one without loading the contract's models."""

from __future__ import annotations

import re

MESSAGE_ID_MAX_LENGTH = 128
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9._:\-]+$"
_MESSAGE_ID = re.compile(MESSAGE_ID_PATTERN)


def is_message_id(value: str | None) -> bool:
    """Whether ``value`` can be a message_id (and so a table key)."""
    return bool(value) and len(value or "") <= MESSAGE_ID_MAX_LENGTH and bool(_MESSAGE_ID.match(value or ""))
