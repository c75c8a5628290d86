"""What crosses our boundaries, as pydantic models: the SQS send/cancel
contract (``queue``), Aculab's notifications (``notification``) and the
events we publish (``events``). ``schemas/`` is generated from them.

A path imports only the module it validates with (the webhook never builds
the queue models); ``from aculab_messaging.contracts import SendRequest``
loads ``queue`` on first use, for producers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aculab_messaging.contracts.errors import ContractError
    from aculab_messaging.contracts.queue import CancelRequest, SendRequest, parse_queue_message

_WHERE = {"ContractError": "errors", "CancelRequest": "queue", "SendRequest": "queue",
          "parse_queue_message": "queue"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"aculab_messaging.contracts.{_WHERE[name]}"), name)


__all__ = ["CancelRequest", "ContractError", "SendRequest", "parse_queue_message"]
