"""``GET /messages/{message_id}``: a message's status, parts and timeline (IAM-authorised)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aculab_messaging.api.messages import MessagesApi
from aculab_messaging.runtime.observability import observability
from aculab_messaging.runtime.wiring import build_messages_api

obs = observability()


@cache
def service() -> MessagesApi:
    return build_messages_api()


@obs.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service().handle(event)
