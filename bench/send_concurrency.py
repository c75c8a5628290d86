"""A batch of 10 through the send path with the simulator answering after 100 ms,
against the wall time of one msg_send call: the ten calls must overlap.

AWS is ``bench.canned_aws`` here, answering at once: on moto every DynamoDB
request of the batch waits for the one before it (moto server runs them one at
a time, about 4 ms each, 40 of them a batch), which DynamoDB does not do, and
which would measure moto's throughput instead of how our calls overlap.

Where the time goes (information): the same batch's calls made bare (botocore
and requests, none of our code; ``bench.per_message.Bare``); only the calls of
its floor made bare (each message's claim, refs write and msg_send, the batch's
opt-out read and PutEvents): what the batch would take with no code of ours,
and with no call beyond the floor, on this machine; and the batch with each AWS
call answered after ``AWS_ROUND_TRIP_MS`` (DynamoDB's usual single-digit
milliseconds), where calls made one after another cost their round trips."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from bench.common import SIM_CREDENTIALS, Figure, canned_aws_and_simulator, median
from bench.per_message import Bare, Call, record_calls, twins_of

TARGET = 1.5
AWS_ROUND_TRIP_MS = 8.0
_FLOOR_OPERATIONS = {"BatchGetItem", "BatchWriteItem", "PutEvents"}


def _batch() -> list[dict[str, object]]:
    return [{"messageId": str(uuid.uuid4()), "attributes": {"ApproximateReceiveCount": "1"},
             "body": json.dumps({"message_id": f"b-{uuid.uuid4().hex}", "to": "447700900123",
                                 "from": "447700900001", "content": "bench"})} for _ in range(10)]


def floor_of(calls: list[Call]) -> list[Call]:
    """The calls of the floor: msg_send, the batch's reads and writes, each message's first UpdateItem
    (its claim)."""
    claimed: set[str] = set()
    kept = []
    for call in calls:
        _, kind, what, params = call
        key = str(params["Key"]["pk"]["S"]) if what == "UpdateItem" else ""
        if kind == "http" or what in _FLOOR_OPERATIONS or (key.startswith("MSG#") and key not in claimed):
            claimed.add(key)
            kept.append(call)
    return kept


@contextmanager
def _stack(aws_latency_ms: float, latency_ms: float) -> Iterator[dict[str, str]]:
    """canned AWS and the simulator, this process's environment pointed at them."""
    from bench.cold_start import ENV
    from simulator.control import SimulatorControl

    with canned_aws_and_simulator(aws_latency_ms) as endpoints, mock.patch.dict(os.environ, {**ENV, **endpoints}):
        SimulatorControl(endpoints["ACULAB_BASE_URL"]).configure(latency_ms=latency_ms, step_seconds=3600)
        yield {**ENV, **endpoints}


def _one_call(base_url: str, rounds: int) -> float:
    from aculab_messaging.aculab.client import AculabClient, AculabCredentials
    from aculab_messaging.aculab.params import SendParams

    client = AculabClient(base_url, AculabCredentials(**SIM_CREDENTIALS))
    params = SendParams(to="447700900123", from_="447700900001", content="bench")
    client.msg_send(params)  # connect
    single = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.msg_send(params)
        single.append(time.perf_counter() - started)
    return median(single)


def _timed_batch(service: Any) -> float:
    started = time.perf_counter()
    outcomes = service.process_batch(_batch())
    took = time.perf_counter() - started
    assert not any(o.retry for o in outcomes.values()), outcomes
    return took


def run(latency_ms: float = 100.0, rounds: int = 5) -> tuple[list[Figure], dict[str, Any]]:
    from aculab_messaging.runtime.wiring import build_send_service

    with _stack(0.0, latency_ms) as environment:
        one = _one_call(environment["ACULAB_BASE_URL"], rounds)
        service = build_send_service()
        service.process_batch(_batch())  # warm: secrets, pools
        calls: list[Call] = []
        recorded = _batch()
        with record_calls(calls, environment["ACULAB_BASE_URL"]):
            service.process_batch(recorded)
        ids = [json.loads(str(r["body"]))["message_id"] for r in recorded]
        bare = Bare(environment)
        bare.replay(twins_of(calls, ids, "warm-"))
        walls: list[float] = []
        replays: dict[str, list[float]] = {"bare": [], "floor": []}
        for i in range(rounds):
            walls.append(_timed_batch(service))
            for name, made in (("bare", calls), ("floor", floor_of(calls))):
                twins = twins_of(made, ids, f"{name}{i}-")
                started = time.perf_counter()
                bare.replay(twins)
                replays[name].append(time.perf_counter() - started)
        bare.close()
    with _stack(AWS_ROUND_TRIP_MS, latency_ms):
        service = build_send_service()
        service.process_batch(_batch())
        round_trips = median([_timed_batch(service) for _ in range(rounds)])
    ten = median(walls)
    baseline = f"one call {one * 1000:.0f} ms"
    figures = [Figure("send: batch of 10 wall time", ten * 1000, "ms", baseline, ten / one, f"<= {TARGET}x",
                      ten / one <= TARGET)]
    for name, label in (("bare", "its calls made bare"), ("floor", "its floor's calls made bare")):
        took = median(replays[name])
        figures.append(Figure(f"send: batch of 10 wall time, {label}", took * 1000, "ms", baseline, took / one,
                              "(information)", None))
    figures.append(Figure(f"send: batch of 10 wall time, AWS answering in {AWS_ROUND_TRIP_MS:.0f} ms",
                          round_trips * 1000, "ms", baseline, round_trips / one, "(information)", None))
    return figures, {"send_batch_seconds": ten}
