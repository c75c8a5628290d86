"""SQS send/cancel requests -> Aculab msg_send / msg_cancel, with partial batch responses."""

from __future__ import annotations

from aculab_messaging.runtime.cold_start import pause_collector

pause_collector()  # until the service is built: init makes objects that are never garbage

from functools import cache
from typing import Any

from aculab_messaging.logic.record_outcome import partial_batch_response
from aculab_messaging.logic.sending import SendService
from aculab_messaging.runtime.cold_start import init_without_gc
from aculab_messaging.runtime.observability import observability
from aculab_messaging.runtime.wiring import build_send_service

obs = observability()


@cache
def service() -> SendService:
    with init_without_gc():  # one full collection less during init: about 30 ms
        return build_send_service(metrics=obs.sink())


@obs.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seconds_left = lambda: context.get_remaining_time_in_millis() / 1000.0  # noqa: E731 - the claims' lease
    return partial_batch_response(service().process_batch(event.get("Records", []), seconds_left))
