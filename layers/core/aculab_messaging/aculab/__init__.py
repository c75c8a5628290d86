"""Client for Aculab Cloud's messaging web services: msg_send, msg_cancel,
msg_status and msg_list_blocked."""

from aculab_messaging.aculab.client import AculabClient, AculabCredentials, RetryPolicy
from aculab_messaging.aculab.errors import (
    AculabApiError,
    AculabAuthError,
    AculabConnectionError,
    AculabError,
    AculabRequestError,
    AculabServerError,
    AculabThrottledError,
    AculabTimeoutError,
    AculabValidationError,
)
from aculab_messaging.aculab.params import (
    BlockedEntry,
    CancelResult,
    MessageType,
    PartStatus,
    SendParams,
    chunked,
    normalise_number,
)

__all__ = [
    "AculabApiError",
    "AculabAuthError",
    "AculabClient",
    "AculabConnectionError",
    "AculabCredentials",
    "AculabError",
    "AculabRequestError",
    "AculabServerError",
    "AculabThrottledError",
    "AculabTimeoutError",
    "AculabValidationError",
    "BlockedEntry",
    "CancelResult",
    "MessageType",
    "PartStatus",
    "RetryPolicy",
    "SendParams",
    "chunked",
    "normalise_number",
]
