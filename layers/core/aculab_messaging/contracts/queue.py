"""The SQS contract producers use (version 1).

    {"version": "1", "action": "send", "message_id": "order-42-confirmation",
     "to": "+44 7700 900123", "from": "447700900001", "type": "sms",
     "content": "Your order has shipped", "msg_media": [],
     "request_delivery_report": true, "alphanumeric_id": null,
     "metadata": {"orderId": "42"}}

    {"version": "1", "action": "cancel", "message_id": "order-42-confirmation"}

``message_id`` is chosen by the producer and is the idempotency key. The JSON
Schemas below are the contract: shipped as ``schemas/queue-message.json`` and
used as they are to validate every message the send function receives; the
rules a schema cannot say (number formats, sms/mms content rules) live in
``SendParams``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aculab_messaging.aculab.errors import AculabValidationError
from aculab_messaging.aculab.params import MessageType, SendParams, normalise_number, normalise_sender
from aculab_messaging.contracts.schema_validation import violations

CONTRACT_VERSION = "1"
MAX_METADATA_BYTES = 4096
_MESSAGE_ID = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9._:\\-]+$",
               "description": "Chosen by the producer; the idempotency key."}
_VERSION = {"type": "string", "const": CONTRACT_VERSION, "default": CONTRACT_VERSION}

SEND_SCHEMA: dict[str, Any] = {
    "title": "Send request",
    "type": "object",
    "additionalProperties": False,
    "required": ["message_id", "to", "from"],
    "properties": {
        "version": _VERSION,
        "action": {"type": "string", "const": "send", "default": "send"},
        "message_id": _MESSAGE_ID,
        "to": {"type": "string", "minLength": 1, "maxLength": 32,
               "description": "Full international number; '+', spaces and dashes accepted."},
        "from": {"type": "string", "minLength": 1, "maxLength": 64,
                 "description": "A sending number of the Aculab account, or a message number pool name."},
        "type": {"type": "string", "enum": [t.value for t in MessageType], "default": "sms"},
        "content": {"type": ["string", "null"], "maxLength": 10000, "default": None,
                    "description": "Required for sms; optional for mms."},
        "msg_media": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 256},
                      "maxItems": 10, "default": [], "description": "mms only: uploaded media file names."},
        "request_delivery_report": {"type": "boolean", "default": False},
        "alphanumeric_id": {"type": ["string", "null"], "maxLength": 11, "default": None},
        "metadata": {"type": "object", "maxProperties": 50, "default": {},
                     "description": f"Carried into every event of the message; at most {MAX_METADATA_BYTES} "
                                    "bytes as JSON."},
    },
}
CANCEL_SCHEMA: dict[str, Any] = {
    "title": "Cancel request",
    "type": "object",
    "additionalProperties": False,
    "required": ["action", "message_id"],
    "properties": {
        "version": _VERSION,
        "action": {"type": "string", "const": "cancel"},
        "message_id": _MESSAGE_ID,
    },
}


class ContractError(ValueError):
    """A queue message that does not follow the contract. Never retried."""

    def __init__(self, reason: str, message_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id


@dataclass(frozen=True)
class SendRequest:
    """A validated send request from the queue."""

    message_id: str
    to: str
    from_: str
    type: MessageType = MessageType.SMS
    content: str | None = None
    msg_media: tuple[str, ...] = ()
    request_delivery_report: bool = False
    alphanumeric_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    version: str = CONTRACT_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", normalise_number(self.to, field_name="to"))
        object.__setattr__(self, "from_", normalise_sender(self.from_))
        object.__setattr__(self, "type", MessageType(self.type))
        object.__setattr__(self, "msg_media", tuple(self.msg_media))
        if len(json.dumps(self.metadata, default=str)) > MAX_METADATA_BYTES:
            raise AculabValidationError(f"metadata: must serialise to at most {MAX_METADATA_BYTES} bytes")
        self.to_params()  # sms/mms content and media rules, alphanumeric_id: one place
        _require_valid(self.to_json(), SEND_SCHEMA)  # one made in code obeys the contract too

    @classmethod
    def from_json(cls, data: Mapping[str, Any], default_region: str | None = None) -> SendRequest:
        """Build from a contract-shaped object; raise ContractError with the reasons.
        ``default_region``: read a national ``to`` (07700 900123) in that region."""
        _require_valid(data, SEND_SCHEMA)
        try:
            return cls(
                message_id=data["message_id"], to=normalise_number(data["to"], field_name="to", region=default_region),
                from_=data["from"],
                type=MessageType(data.get("type", "sms")), content=data.get("content"),
                msg_media=tuple(data.get("msg_media", ())),
                request_delivery_report=data.get("request_delivery_report", False),
                alphanumeric_id=data.get("alphanumeric_id"), metadata=data.get("metadata", {}),
            )
        except AculabValidationError as exc:
            raise ContractError(str(exc), data["message_id"]) from None

    def to_json(self) -> dict[str, Any]:
        """The queue message body (what a producer puts on the queue)."""
        body: dict[str, Any] = {
            "version": self.version, "action": "send", "message_id": self.message_id, "to": self.to,
            "from": self.from_, "type": self.type.value, "content": self.content, "msg_media": list(self.msg_media),
            "request_delivery_report": self.request_delivery_report, "alphanumeric_id": self.alphanumeric_id,
            "metadata": dict(self.metadata),
        }
        return {k: v for k, v in body.items() if v is not None}

    def to_params(
        self,
        *,
        status_page: str | None = None,
        status_method: str = "POST",
        auth: tuple[str, str] | None = None,
    ) -> SendParams:
        return SendParams(
            to=self.to,
            from_=self.from_,
            type=self.type,
            content=self.content,
            msg_media=self.msg_media,
            request_delivery_report=self.request_delivery_report,
            status_page=status_page,
            status_method=status_method,
            status_authentication_name=auth[0] if auth else None,
            status_authentication_password=auth[1] if auth else None,
            status_ssl_check=bool(status_page and status_page.startswith("https://")),
            alphanumeric_id=self.alphanumeric_id,
        )


@dataclass(frozen=True)
class CancelRequest:
    """A validated cancel request from the queue."""

    message_id: str
    version: str = CONTRACT_VERSION

    def __post_init__(self) -> None:
        _require_valid(self.to_json(), CANCEL_SCHEMA)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CancelRequest:
        _require_valid(data, CANCEL_SCHEMA)
        return cls(message_id=data["message_id"])

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "action": "cancel", "message_id": self.message_id}


def _require_valid(data: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    found = violations(data, schema)
    if found:
        message_id = data.get("message_id") if isinstance(data, Mapping) else None
        raise ContractError("; ".join(str(v) for v in found), message_id if isinstance(message_id, str) else None)


def parse_queue_message(body: str, default_region: str | None = None) -> SendRequest | CancelRequest:
    """Parse one SQS body; raise ContractError with a reason fit for an event."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        raise ContractError("body is not JSON") from None
    if not isinstance(data, dict):
        raise ContractError("body must be a JSON object")
    if data.get("action", "send") == "cancel":
        return CancelRequest.from_json(data)
    return SendRequest.from_json(data, default_region)


def queue_json_schema() -> dict[str, Any]:
    """The JSON Schema of the queue contract (shipped as schemas/queue-message.json)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Aculab messaging send queue message (version {CONTRACT_VERSION})",
        "description": (
            "One SQS message body: a send request (action 'send', the default) or a cancel request. "
            "Numbers are full international, '+' and spaces accepted. sms needs content and no msg_media; "
            "mms needs msg_media. message_id is the idempotency key."
        ),
        "oneOf": [SEND_SCHEMA, CANCEL_SCHEMA],
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(queue_json_schema(), indent=2) + "\n")
