"""SQS send/cancel requests -> Aculab msg_send / msg_cancel, with partial batch responses."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from aculab_messaging.logic.sending import RecordNotDone, SendService
from aculab_messaging.metrics import PowertoolsMetrics
from aculab_messaging.wiring import build_send_service

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"aculab_messaging"})


@cache
def service() -> SendService:
    return build_send_service(metrics=PowertoolsMetrics(metrics))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = service().process_batch(event.get("Records", []))

    def settle(record: Any) -> None:
        outcome = outcomes[record.message_id]
        if outcome.retry:
            raise RecordNotDone(outcome.reason or "retry")

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=settle, processor=processor, context=context
    )
    return response
