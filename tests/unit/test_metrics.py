"""Counting from the send batch's threads: powertools' ``add_metric`` is a read, an append and a store back,
so the adapter lets one count in at a time (no sockets)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aculab_messaging.runtime.metrics import PowertoolsMetrics, RecordingMetrics


class MeetingMetrics:
    """A powertools Metrics whose ``add_metric`` waits (a while) for a second caller to be inside it too."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=2)
        self.together = 0
        self.added: list[str] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        try:
            self.barrier.wait()
            self.together += 1
        except threading.BrokenBarrierError:
            pass
        self.added.append(name)


def test_two_threads_counting_at_once_add_their_metrics_one_after_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the powertools adapter over metrics that notice two callers inside at once
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    metrics = MeetingMetrics()
    adapter = PowertoolsMetrics(metrics)
    # when two of a batch's threads count at the same moment
    threads = [threading.Thread(target=adapter.count, args=(name,)) for name in ("MessageSubmitted", "RecordDone")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then both counts were added, never both inside add_metric together
    assert sorted(metrics.added) == ["MessageSubmitted", "RecordDone"]
    assert metrics.together == 0


def test_a_real_metrics_set_keeps_every_count_made_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # given powertools' own Metrics behind the adapter
    from aws_lambda_powertools import Metrics

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    metrics = Metrics(namespace="Test", service="send")
    metrics.clear_metrics()
    adapter = PowertoolsMetrics(metrics)
    start = threading.Barrier(8)

    def count() -> None:
        start.wait()
        for _ in range(12):
            adapter.count("MessageSubmitted")

    # when eight threads count 12 each (96 values: under the 100 that flush)
    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every count is in the set
    assert sum(metrics.metric_set["MessageSubmitted"]["Value"]) == 96
    metrics.clear_metrics()


def test_the_recording_sink_keeps_every_count_made_from_many_threads() -> None:
    # given the in-memory sink the local stack uses
    sink = RecordingMetrics()
    # when eight threads count 500 each
    threads = [threading.Thread(target=lambda: [sink.count("RecordDone") for _ in range(500)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then none is lost
    assert sink.counts["RecordDone"] == 4000
