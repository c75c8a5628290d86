"""Counting what happened, shipped as CloudWatch EMF through powertools (the domain's
port is ``logic.ports.MetricsSink``), or kept in memory (tests, the local stack)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class PowertoolsMetrics:
    """Adapter over ``aws_lambda_powertools.Metrics`` (EMF in the function log). The send batch's threads
    count at once, and powertools' ``add_metric`` reads, appends and stores back its metric set (a count
    added beside another of a new name is lost, a flush at 100 values drops what is added meanwhile): one
    count at a time."""

    def __init__(self, metrics: Any) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()

    def count(self, name: str, value: int = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit
        from aws_lambda_powertools.metrics.functions import is_metrics_disabled

        if is_metrics_disabled():
            # powertools still prints a full set of 100 values even when disabled
            return
        with self._lock:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


class RecordingMetrics:
    """Keeps counts in memory (tests, the local stack)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, name: str, value: int = 1) -> None:
        with self._lock:  # the send batch's threads count at once
            self.counts[name] += value
