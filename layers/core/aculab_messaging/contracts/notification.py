"""Aculab's status-update / inbound notification, from a JSON body or a raw
query string (where repeated ``msg_media`` parameters must all survive)."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aculab_messaging.contracts.schema_validation import violations
from aculab_messaging.status import ProviderStatus, UnknownStatusError, parse_provider_status

_ROUTING_PARAMS = ("mid", "dlr")
_INTEGER_FIELDS = ("multipart_pos", "multipart_count")

NOTIFICATION_SCHEMA: dict[str, Any] = {
    "title": "Aculab status update or inbound message",
    "type": "object",
    "required": ["msg_ref", "status"],
    "properties": {
        "msg_ref": {"type": "string", "minLength": 1, "maxLength": 128},
        "status": {"type": "string", "minLength": 1, "maxLength": 200},
        "to": {"type": "string", "maxLength": 32},
        "from": {"type": "string", "maxLength": 32},
        "direction": {"type": "string", "enum": ["send", "receive"]},
        "type": {"type": "string", "enum": ["sms", "mms"]},
        "content": {"type": ["string", "null"], "maxLength": 20000},
        "msg_media": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
        "multipart_uid": {"type": ["string", "null"], "maxLength": 128},
        "multipart_pos": {"type": ["integer", "null"], "minimum": 1, "maximum": 255},
        "multipart_count": {"type": ["integer", "null"], "minimum": 1, "maximum": 255},
        "timestamp": {"type": ["string", "null"], "maxLength": 32},
        "aculab_msg_err": {"type": ["string", "null"], "maxLength": 8},
    },
}


class BadNotification(ValueError):
    """The request is not a notification we can act on (answered 400)."""


@dataclass(frozen=True)
class Notification:
    """A validated Aculab status update or inbound message."""

    msg_ref: str
    status: str
    to: str = ""
    from_: str = ""
    direction: str = "send"
    type: str = "sms"
    content: str | None = None
    msg_media: list[str] = field(default_factory=list)
    multipart_uid: str | None = None
    multipart_pos: int | None = None
    multipart_count: int | None = None
    timestamp: str | None = None
    aculab_msg_err: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notification:
        """Validate Aculab's fields (others are ignored); raise BadNotification with the reasons."""
        if isinstance(data.get("msg_media"), str):
            data["msg_media"] = [m for m in data["msg_media"].split(",") if m]
        for name in _INTEGER_FIELDS:  # a query string carries numbers as text
            value = data.get(name)
            if isinstance(value, str) and value.isdecimal():
                data[name] = int(value)
        found = violations(data, NOTIFICATION_SCHEMA, limit=3)
        if found:
            raise BadNotification("; ".join(str(v) for v in found))

        def optional_int(name: str) -> int | None:
            value = data.get(name)
            return None if value is None else int(value)

        if data.get("direction") == "receive" or data.get("status") == "received":
            for name in ("from", "to"):  # the pair an opt-out and the inbound item are keyed by
                data[name] = _phone_number(data.get(name), name)

        return cls(
            msg_ref=data["msg_ref"], status=data["status"], to=data.get("to", ""), from_=data.get("from", ""),
            direction=data.get("direction", "send"), type=data.get("type", "sms"), content=data.get("content"),
            msg_media=list(data.get("msg_media", [])), multipart_uid=data.get("multipart_uid"),
            multipart_pos=optional_int("multipart_pos"), multipart_count=optional_int("multipart_count"),
            timestamp=data.get("timestamp"), aculab_msg_err=data.get("aculab_msg_err"),
        )

    @property
    def is_inbound(self) -> bool:
        return self.direction == "receive" or self.status == "received"

    def provider_status(self) -> ProviderStatus:
        try:
            return parse_provider_status(self.status)
        except UnknownStatusError as exc:
            raise BadNotification(str(exc)) from None


def _phone_number(value: Any, name: str) -> str:
    from aculab_messaging.aculab.errors import AculabValidationError
    from aculab_messaging.aculab.params import normalise_number

    if not isinstance(value, str) or not value:
        raise BadNotification(f"{name}: an inbound message needs it")
    try:
        return normalise_number(value, field_name=name)
    except AculabValidationError as exc:
        raise BadNotification(str(exc)) from None


def parse_notification(method: str, raw_query: str, body: bytes, content_type: str) -> Notification:
    """POST: JSON body (or a form body); GET: the raw query string."""
    if method == "POST" and body:
        fields = _from_body(body, content_type)
    else:
        fields = _from_query(raw_query)
    for name in _ROUTING_PARAMS:
        fields.pop(name, None)
    return Notification.from_json(fields)


def _from_body(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadNotification("body is not UTF-8") from None
    if "application/x-www-form-urlencoded" in content_type:
        return _from_query(text)
    try:
        data = json.loads(text)
    except ValueError:
        raise BadNotification("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadNotification("body must be a JSON object")
    return data


def _from_query(raw_query: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    try:
        pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True, errors="strict", max_num_fields=200)
    except (ValueError, UnicodeDecodeError):
        raise BadNotification("query string is malformed") from None
    for key, value in pairs:
        if key == "msg_media":
            fields.setdefault("msg_media", []).extend(m for m in value.split(",") if m)
        elif key in fields:
            raise BadNotification(f"parameter given more than once: {key[:32]}")
        else:
            fields[key] = value
    return fields


def routing_params(raw_query: str) -> dict[str, str]:
    """Our own parameters in the status_page URL: ``mid`` (message_id), ``dlr``."""
    try:
        pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True, max_num_fields=200)
    except ValueError:
        return {}
    return {k: v for k, v in pairs if k in _ROUTING_PARAMS}
