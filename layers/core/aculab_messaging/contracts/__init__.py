"""What crosses our boundaries, as pydantic models: the SQS send/cancel
contract (``queue``), Aculab's notifications (``notification``), GET
/messages/{message_id}'s answer (``api``) and the events we publish
(``events``). ``schemas/`` is generated from them. A path imports only the
module it validates with (the webhook never builds the queue models)."""
