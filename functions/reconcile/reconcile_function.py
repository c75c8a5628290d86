"""Scheduled: repair stale message states via msg_status, sync msg_list_blocked."""

from __future__ import annotations

from aculab_messaging.runtime.cold_start import pause_collector

pause_collector()  # until the service is built: init makes objects that are never garbage

from dataclasses import asdict
from functools import cache
from typing import Any

from aculab_messaging.logic.reconcile import ReconcileService
from aculab_messaging.runtime.cold_start import init_without_gc
from aculab_messaging.runtime.observability import observability
from aculab_messaging.runtime.wiring import build_reconcile_service

obs = observability()


@cache
def service() -> ReconcileService:
    with init_without_gc():  # one full collection less during init: about 30 ms
        return build_reconcile_service(metrics=obs.sink())


@obs.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = service().run(seconds_left=lambda: context.get_remaining_time_in_millis() / 1000.0)
    return asdict(report)
