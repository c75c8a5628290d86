"""The SQS contract producers use (version 1), as pydantic models.

    {"version": "1", "action": "send", "message_id": "order-42-confirmation",
     "to": "+44 7700 900123", "from": "447700900001", "type": "sms",
     "content": "Your order has shipped", "msg_media": [],
     "request_delivery_report": true, "alphanumeric_id": null,
     "metadata": {"orderId": "42"}}

    {"version": "1", "action": "cancel", "message_id": "order-42-confirmation"}

    {"version": "1", "action": "cancel", "campaign_id": "spring-sale"}

A send may wait for ``send_at`` (ISO 8601 with its offset, at most a year
ahead) and be worthless after ``valid_until`` or ``valid_for_seconds`` (from
``send_at``, or from when it was put on the queue): a message not handed to
Aculab by then is never sent (``expired``). Both are optional additions to
version 1: a body without them means what it always meant. So is ``quiet_hours``
("21:00-08:00" in the recipient's local time, or "off"): a send due inside
waits, scheduled, until they end.

``message_id`` is chosen by the producer and is the idempotency key. The
models are the contract: the send function validates every body with them,
a Python producer builds its messages with them, and
``schemas/queue-message.json`` is generated from them (``make schemas``).
Numbers are normalised on the way in (``to``, and ``from`` when a number, to
E.164 with '+': ``+447700900123``; a body already in that form reads the same
whatever the default region);
the sms/mms content rules live in ``SendParams``, checked in ``send_request.py`` too.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from aculab_messaging.contracts.errors import ContractError, field_errors
from aculab_messaging.contracts.send_request import CampaignId, MessageId, QueueBody, SendRequest

__all__ = ["CONTRACT_VERSION", "CampaignCancelRequest", "CancelRequest", "DueRequest", "QueueRequest", "SendRequest",
           "parse_queue_message", "queue_json_schema"]

CONTRACT_VERSION = "1"

class CancelRequest(QueueBody):
    """Cancel a message: before it is sent, or each part Aculab still holds."""

    model_config = ConfigDict(title="Cancel request")

    action: Literal["cancel"]
    message_id: MessageId


class CampaignCancelRequest(QueueBody):
    """Cancel a campaign: every message of it not yet handed to Aculab, those still on the queue included
    (each ends ``cancelled``, with ``Message Cancelled``); what Aculab already holds is left to go."""

    model_config = ConfigDict(title="Campaign cancel request")

    action: Literal["cancel"]
    campaign_id: CampaignId
    pass_id: Annotated[str | None, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$", description=(
        "Ours, not a producer's: the pass over the campaign this copy carries on, where the campaign's mark "
        "keeps how far it got. A pass the mark does not know starts from the campaign's beginning."))] = None


class DueRequest(QueueBody):
    """Ours, not a producer's: what a message's EventBridge schedule puts back
    on the queue when its send_at comes (``request`` as first received, with
    its validity made absolute). A body for a message that is not scheduled
    is just a send."""

    model_config = ConfigDict(title="Due (from a schedule)")

    action: Literal["due"]
    message_id: MessageId
    request: SendRequest

    @model_validator(mode="after")
    def _same_message(self) -> DueRequest:
        if self.request.message_id != self.message_id:
            raise ValueError("request.message_id must be message_id")
        return self


QueueRequest = SendRequest | CancelRequest | CampaignCancelRequest | DueRequest


def _action(value: Any) -> str | None:
    if isinstance(value, dict):
        action = value.get("action", "send")  # a body without one is a send
        if action == "cancel" and "campaign_id" in value and "message_id" not in value:
            return "cancel_campaign"
        return action if isinstance(action, str) else None
    return "cancel_campaign" if isinstance(value, CampaignCancelRequest) else getattr(value, "action", None)


QueueMessage = Annotated[
    Annotated[SendRequest, Tag("send")] | Annotated[CancelRequest, Tag("cancel")]
    | Annotated[CampaignCancelRequest, Tag("cancel_campaign")] | Annotated[DueRequest, Tag("due")],
    Discriminator(_action, custom_error_type="action",
                  custom_error_message="must be a JSON object whose action is 'send' (the default) or 'cancel'"),
]
_QUEUE_MESSAGE: TypeAdapter[QueueRequest] = TypeAdapter(QueueMessage)


def parse_queue_message(
    body: str | bytes, default_region: str | None = None, now: datetime | None = None
) -> QueueRequest:
    """Parse one SQS body; raise ContractError naming each failing field."""
    try:
        return _QUEUE_MESSAGE.validate_json(body, context={"default_region": default_region, "now": now})
    except ValidationError as exc:
        raise ContractError(field_errors(exc), _message_id_of(body)) from None


def _message_id_of(body: str | bytes) -> str | None:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    message_id = data.get("message_id") if isinstance(data, dict) else None
    return message_id if isinstance(message_id, str) else None


def queue_json_schema() -> dict[str, Any]:
    """The JSON Schema of the queue contract (shipped as schemas/queue-message.json)."""
    schema = _QUEUE_MESSAGE.json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Aculab messaging send queue message (version {CONTRACT_VERSION})",
        "description": (
            "One SQS message body: a send request (action 'send', the default) or a cancel request "
            "(of a message_id, or of a whole campaign_id). "
            "Numbers are full international, '+' and spaces accepted. sms needs content and no msg_media; "
            "mms needs msg_media. message_id is the idempotency key. send_at, valid_until, "
            "valid_for_seconds and quiet_hours are optional. Action 'due' is put there by the stack's own schedules."
        ),
        **schema,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(queue_json_schema(), indent=2) + "\n")
