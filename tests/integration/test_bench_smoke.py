"""A short run of each bench script (`make bench` runs them in full): each
still works, and each figure it prints still means what it says."""

from __future__ import annotations

import pytest

from bench import artifacts, cold_start, cost, local_stack, pacing, reconcile_cost, round_trips, send_concurrency


def test_cold_start_bench_measures_every_function() -> None:
    # each sample handles its function's first request (a failed one raises), against both baselines
    figures = cold_start.run(runs=1)
    assert [f.name for f in figures] == [f"cold init: {name} vs {what}"
                                         for what in ("its floor", "bare boto3", "its floor making its calls")
                                         for name in ("webhook", "send", "reconcile")]
    assert all(f.ratio is not None and 0.3 < f.ratio < 5 for f in figures)
    assert [f.met is None for f in figures] == [False] * 6 + [True] * 3  # the last three: information


def test_round_trips_bench_counts_two_calls_per_warm_update() -> None:
    figures, extra = round_trips.run(messages=3)
    assert figures[0].value == pytest.approx(2.0)
    assert figures[1].ratio is not None and 0.3 < figures[1].ratio < 5  # against its two calls made bare
    assert extra["webhook_seconds"] > 0


def test_send_concurrency_bench_overlaps_the_calls() -> None:
    figures, extra = send_concurrency.run(latency_ms=50.0, rounds=1)
    assert figures[0].ratio is not None and figures[0].ratio < 5  # ten calls in far less than ten times one
    assert extra["send_batch_seconds"] > 0


def test_pacing_bench_judges_the_sends_at_the_simulator() -> None:
    figures, extra = pacing.run(messages=20)
    by_name = {f.name: f for f in figures}
    assert by_name["pacing: busiest second / MaxSendsPerSecond"].value <= pacing.RATE
    assert 0 < extra["pacing_throughput"] <= pacing.RATE


def test_reconcile_bench_reads_only_stale_items() -> None:
    figures, _ = reconcile_cost.run(final=300, stale=20, batch_size=10)
    by_name = {f.name.split(" (")[0]: f for f in figures}
    assert all(f.met for f in by_name.values()), by_name


def test_cost_bench_is_above_the_floor_of_the_product() -> None:
    figures, parts = cost.run({"webhook_seconds": 0.02, "send_batch_seconds": 0.2})
    assert figures[0].value >= parts["floor_usd_per_million"] == pytest.approx(cost.spec_floor() * 1e6)
    assert parts["floor_usd_per_million"] == pytest.approx(10.6)


def test_artifacts_bench_builds_the_layer_without_the_sdk() -> None:
    figures, _ = artifacts.run()
    by_name = {f.name: f for f in figures}
    assert by_name["boto3/botocore bundled in layer"].value == 0
    assert all(f.met for f in figures)


def test_local_stack_bench_times_make_run_as_a_user_meets_it() -> None:
    figures, extra = local_stack.run(messages=2)
    by_name = {f.name: f for f in figures}
    assert by_name["make run: notifications retried"].value == 0  # the webhook answered every one at once
    assert 0 < by_name["make run: webhook p50 per notification"].value < 1000
    assert extra["notifications"] >= 2
