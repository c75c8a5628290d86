"""Counting what happened: a tiny interface, so the domain code does not
depend on how metrics are shipped (CloudWatch EMF through powertools)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol


class MetricsSink(Protocol):
    def count(self, name: str, value: int = 1) -> None: ...


class PowertoolsMetrics:
    """Adapter over ``aws_lambda_powertools.Metrics`` (EMF in the function log)."""

    def __init__(self, metrics: Any) -> None:
        self._metrics = metrics

    def count(self, name: str, value: int = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit
        from aws_lambda_powertools.metrics.functions import is_metrics_disabled

        if is_metrics_disabled():
            # powertools still prints a full set of 100 values even when disabled
            return
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


class RecordingMetrics:
    """Keeps counts in memory (tests, the local stack)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value
