"""SQS send/cancel requests -> Aculab msg_send / msg_cancel, with partial batch responses."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import Metrics

from aculab_messaging.cold_start import init_without_gc
from aculab_messaging.logic.sending import SendService, partial_batch_response
from aculab_messaging.metrics import PowertoolsMetrics
from aculab_messaging.wiring import build_send_service

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"aculab_messaging"})


@cache
def service() -> SendService:
    with init_without_gc():  # one full collection less during init: about 30 ms
        return build_send_service(metrics=PowertoolsMetrics(metrics))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seconds_left = lambda: context.get_remaining_time_in_millis() / 1000.0  # noqa: E731 - the claims' lease
    return partial_batch_response(service().process_batch(event.get("Records", []), seconds_left))
