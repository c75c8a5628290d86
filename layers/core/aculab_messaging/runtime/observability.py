"""The handlers' one observability setup: a powertools Logger whose
configuration our package's loggers share, Metrics flushed after every
invocation, and the metrics port the services count into."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import Metrics

from aculab_messaging.runtime.metrics import PowertoolsMetrics

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics

    def sink(self) -> PowertoolsMetrics:
        """What a service counts into."""
        return PowertoolsMetrics(self.metrics)

    def handler(self, fn: Handler) -> Handler:
        """Lambda context in every log line (state cleared each time), metrics flushed after it."""
        wrapped: Handler = self.metrics.log_metrics(self.logger.inject_lambda_context(clear_state=True)(fn))
        return wrapped


def observability() -> Observability:
    """Made once per container, at import of the handler module (as Lambda's init)."""
    # an invocation with nothing to count (a quiet reconcile run) is normal, not worth a warning a run
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    logger = Logger()
    copy_config_to_registered_loggers(source_logger=logger, include={"aculab_messaging"})
    return Observability(logger=logger, metrics=Metrics())
