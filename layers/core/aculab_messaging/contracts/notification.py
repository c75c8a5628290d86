"""Aculab's status-update / inbound notification, from a JSON body or a raw
query string (where repeated ``msg_media`` parameters must all survive)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aculab_messaging.status import ProviderStatus, UnknownStatusError, parse_provider_status

_ROUTING_PARAMS = ("mid", "dlr")


class BadNotification(ValueError):
    """The request is not a notification we can act on (answered 400)."""


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    msg_ref: str = Field(min_length=1, max_length=128)
    status: str = Field(min_length=1, max_length=200)
    to: str = Field(default="", max_length=32)
    from_: str = Field(default="", alias="from", max_length=32)
    direction: Literal["send", "receive"] = "send"
    type: Literal["sms", "mms"] = "sms"
    content: str | None = Field(default=None, max_length=20000)
    msg_media: list[str] = Field(default_factory=list, max_length=50)
    multipart_uid: str | None = Field(default=None, max_length=128)
    multipart_pos: int | None = Field(default=None, ge=1, le=255)
    multipart_count: int | None = Field(default=None, ge=1, le=255)
    timestamp: str | None = Field(default=None, max_length=32)
    aculab_msg_err: str | None = Field(default=None, max_length=8)

    @field_validator("msg_media", mode="before")
    @classmethod
    def _media(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [m for m in value.split(",") if m]
        return value

    @property
    def is_inbound(self) -> bool:
        return self.direction == "receive" or self.status == "received"

    def provider_status(self) -> ProviderStatus:
        try:
            return parse_provider_status(self.status)
        except UnknownStatusError as exc:
            raise BadNotification(str(exc)) from None


def parse_notification(method: str, raw_query: str, body: bytes, content_type: str) -> Notification:
    """POST: JSON body (or a form body); GET: the raw query string."""
    if method == "POST" and body:
        fields = _from_body(body, content_type)
    else:
        fields = _from_query(raw_query)
    for name in _ROUTING_PARAMS:
        fields.pop(name, None)
    try:
        return Notification.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[:3]
        reason = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in first)
        raise BadNotification(reason) from None


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
