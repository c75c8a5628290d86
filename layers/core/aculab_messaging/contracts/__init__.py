"""What crosses our boundaries, as pydantic models: the SQS send/cancel
contract (``queue``), Aculab's notifications (``notification``) and the
events we publish (``events``). ``schemas/`` is generated from them.

Import the module a path needs: the send path validates queue messages, the
webhook notifications; both build events.
"""

from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.queue import CancelRequest, SendRequest, parse_queue_message

__all__ = ["CancelRequest", "ContractError", "SendRequest", "parse_queue_message"]
