"""The SQS contract producers use (version 1).

    {"version": "1", "action": "send", "message_id": "order-42-confirmation",
     "to": "+44 7700 900123", "from": "447700900001", "type": "sms",
     "content": "Your order has shipped", "msg_media": [],
     "request_delivery_report": true, "alphanumeric_id": null,
     "metadata": {"orderId": "42"}}

    {"version": "1", "action": "cancel", "message_id": "order-42-confirmation"}

``message_id`` is chosen by the producer and is the idempotency key.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from aculab_messaging.aculab.errors import AculabValidationError
from aculab_messaging.aculab.params import MessageType, SendParams, normalise_number, normalise_sender

CONTRACT_VERSION = "1"
MAX_METADATA_BYTES = 4096
MessageId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


class ContractError(ValueError):
    """A queue message that does not follow the contract. Never retried."""

    def __init__(self, reason: str, message_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id


class SendRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    version: Literal["1"] = "1"
    action: Literal["send"] = "send"
    message_id: MessageId
    to: str
    from_: str = Field(alias="from")
    type: MessageType = MessageType.SMS
    content: str | None = Field(default=None, max_length=10000)
    msg_media: list[str] = Field(default_factory=list, max_length=10)
    request_delivery_report: bool = False
    alphanumeric_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("to")
    @classmethod
    def _to(cls, value: str) -> str:
        return normalise_number(value, field_name="to")

    @field_validator("from_")
    @classmethod
    def _from(cls, value: str) -> str:
        return normalise_sender(value)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata must serialise to at most {MAX_METADATA_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _aculab_rules(self) -> SendRequest:
        self.to_params()  # sms/mms content and media rules, alphanumeric_id: one place
        return self

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
            msg_media=tuple(self.msg_media),
            request_delivery_report=self.request_delivery_report,
            status_page=status_page,
            status_method=status_method,
            status_authentication_name=auth[0] if auth else None,
            status_authentication_password=auth[1] if auth else None,
            status_ssl_check=bool(status_page and status_page.startswith("https://")),
            alphanumeric_id=self.alphanumeric_id,
        )


class CancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal["1"] = "1"
    action: Literal["cancel"] = "cancel"
    message_id: MessageId


QueueRequest = Annotated[SendRequest | CancelRequest, Field(discriminator="action")]
_ADAPTER: TypeAdapter[SendRequest | CancelRequest] = TypeAdapter(QueueRequest)


def parse_queue_message(body: str) -> SendRequest | CancelRequest:
    """Parse one SQS body; raise ContractError with a reason fit for an event."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        raise ContractError("body is not JSON") from None
    if not isinstance(data, dict):
        raise ContractError("body must be a JSON object")
    message_id = data.get("message_id") if isinstance(data.get("message_id"), str) else None
    data.setdefault("action", "send")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ContractError(_reason(exc), message_id) from None
    except AculabValidationError as exc:
        raise ContractError(str(exc), message_id) from None


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"][1:] if p not in ("send", "cancel")) or "body"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def queue_json_schema() -> dict[str, Any]:
    """The JSON Schema of the queue contract (shipped as schemas/queue-message.json)."""
    schema: dict[str, Any] = _ADAPTER.json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Aculab messaging send queue message (version 1)"
    schema["description"] = (
        "One SQS message body: a send request (action 'send', the default) or a cancel request. "
        "Numbers are full international, '+' and spaces accepted. sms needs content and no msg_media; "
        "mms needs msg_media. message_id is the idempotency key."
    )
    return schema


if __name__ == "__main__":
    print(json.dumps(queue_json_schema(), indent=2))
