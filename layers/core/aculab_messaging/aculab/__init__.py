"""Client for Aculab Cloud's messaging web services: msg_send, msg_cancel,
msg_status and msg_list_blocked.

Names are loaded on first use, so importing one light piece (say an error
class) does not pull ``requests`` into a function that never calls Aculab.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        normalise_number,
    )

_WHERE = {
    "AculabClient": "client",
    "AculabCredentials": "client",
    "RetryPolicy": "client",
    "AculabApiError": "errors",
    "AculabAuthError": "errors",
    "AculabConnectionError": "errors",
    "AculabError": "errors",
    "AculabRequestError": "errors",
    "AculabServerError": "errors",
    "AculabThrottledError": "errors",
    "AculabTimeoutError": "errors",
    "AculabValidationError": "errors",
    "BlockedEntry": "params",
    "CancelResult": "params",
    "MessageType": "params",
    "PartStatus": "params",
    "SendParams": "params",
    "normalise_number": "params",
}

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
    "normalise_number",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"aculab_messaging.aculab.{_WHERE[name]}"), name)
