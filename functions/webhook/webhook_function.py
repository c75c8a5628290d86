"""Aculab status updates and inbound messages, from API Gateway (HTTP API)."""

from __future__ import annotations

from aculab_messaging.runtime.cold_start import pause_collector

pause_collector()  # until the service is built: init makes objects that are never garbage

from functools import cache
from typing import Any

from aculab_messaging.api.apigw import request_from_event, response_to_event
from aculab_messaging.api.webhook.adapter import WebhookAdapter
from aculab_messaging.runtime.cold_start import init_without_gc
from aculab_messaging.runtime.observability import observability
from aculab_messaging.runtime.wiring import build_webhook

obs = observability()


@cache
def service() -> WebhookAdapter:
    with init_without_gc():  # one full collection less during init: about 30 ms
        return build_webhook(metrics=obs.sink())


@obs.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return response_to_event(service().handle(request_from_event(event)))
