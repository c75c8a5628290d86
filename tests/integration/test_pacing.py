"""The shared pace across send containers polling the queue at once, paced
through the pace items in DynamoDB on moto. What is checked is what a busy
machine cannot change: the slots the pace granted (their spacing is the
conditional writes', whoever asked) and that no send reached the simulator
before its slot. The rate measured at Aculab's end (the busiest wall-clock
second) is `make bench`'s figure (bench/pacing.py), not a test's."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import datetime
from typing import Any

import pytest

from aculab_messaging.logic.pacing import Pacer
from local.app import LocalApp
from local.sqs_poller import run_together
from simulator.control import SimulatorControl

RATE = 10


def peak_per_second(times: list[float]) -> int:
    """The most moments in any one-second window [t, t + 1) (sliding, from each one)."""
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + 1.0) for i, t in enumerate(times))


def put(app: LocalApp, n: int, **fields: Any) -> None:
    sqs = app.stack.client("sqs")
    for start in range(0, n, 10):
        entries = [{"Id": str(i), "MessageBody": json.dumps({
            "message_id": f"p-{i}", "to": "447700900123", "from": fields.get("from_", f"4477009000{i % 3 + 1:02d}"),
            "content": "hello"})} for i in range(start, min(n, start + 10))]
        sqs.send_message_batch(QueueUrl=app.stack.refs["SendQueue"], Entries=entries)


@pytest.fixture
def granted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, float]]:
    """Every slot a pacer granted, as it returned it (a send told to wait beyond the horizon has none):
    which container's pacer, for which number, the moment (epoch seconds). The pacer runs unchanged."""
    slots: list[tuple[int, str, float]] = []
    lock = threading.Lock()
    reserve = Pacer.reserve

    def recording(self: Pacer, number: str, now: Any, campaign: Any = None) -> datetime | None:
        slot = reserve(self, number, now, campaign)
        if slot is not None:
            with lock:
                slots.append((id(self), number, slot.timestamp()))
        return slot

    monkeypatch.setattr(Pacer, "reserve", recording)
    return slots


def no_send_before_its_slot(arrivals: list[float], slots: list[float]) -> bool:
    """Each send reached the simulator at or after the slot it was granted. Sorted, the k-th arrival is
    then at or after the k-th slot (each arrival is at or after a slot of its own); lateness on a busy
    machine only moves arrivals later. 1 ms for the clocks' float rounding."""
    return all(a >= s - 0.001 for a, s in zip(sorted(arrivals), sorted(slots), strict=False))


def run_containers(app: LocalApp, containers: int, until: int, sim: SimulatorControl) -> None:
    pollers = [app.send_poller(wait_seconds=1, handler=app.container("send")) for _ in range(containers)]
    run_together(pollers, lambda: len(sim.send_arrivals()) >= until, limit_seconds=600)  # a busy machine is slow


def test_a_hundred_messages_at_ten_a_second_from_three_containers(
        app_factory: Any, sim: SimulatorControl, granted: list[tuple[int, str, float]]) -> None:
    # given the stack paced at 10 a second, and 100 messages from three numbers
    app = app_factory(MAX_SENDS_PER_SECOND=str(RATE))
    put(app, 100)
    # when three send containers take them at once
    run_containers(app, 3, 100, sim)
    # then all were sent
    arrivals = [a["at"] for a in sim.send_arrivals()]
    assert len(arrivals) == 100
    # and the slots granted, whichever container asked, were at least 1/10 s apart: no one-second
    # window of them holds more than 10, and the 100 span at least 9.9 s
    slots = sorted(at for _, _, at in granted)
    assert len(slots) >= 100
    assert min(b - a for a, b in itertools.pairwise(slots)) >= 1 / RATE
    assert peak_per_second(slots) <= RATE and slots[99] - slots[0] >= 99 / RATE
    # and each send waited for its slot
    assert no_send_before_its_slot(arrivals, slots)


def test_each_number_keeps_its_own_pace(
        app_factory: Any, sim: SimulatorControl, granted: list[tuple[int, str, float]]) -> None:
    # given a number paced at 4 a second (the stack not paced), and 12 messages from it
    app = app_factory(MAX_SENDS_PER_SECOND_PER_NUMBER="4")
    put(app, 12, from_="447700900001")
    # when two send containers take them at once
    run_containers(app, 2, 12, sim)
    # then all were sent, in slots of that number's at least 1/4 s apart, each send at or after its slot
    arrivals = [a["at"] for a in sim.send_arrivals()]
    slots = sorted(at for _, _, at in granted)
    assert len(arrivals) == 12 and len(slots) >= 12 and len({number for _, number, _ in granted}) == 1
    assert min(b - a for a, b in itertools.pairwise(slots)) >= 1 / 4 and peak_per_second(slots) <= 4
    assert no_send_before_its_slot(arrivals, slots)


def test_aculab_429_lowers_a_numbers_pace(app_factory: Any, sim: SimulatorControl) -> None:
    # given a number paced at 20 a second, and Aculab throttling it
    app = app_factory(MAX_SENDS_PER_SECOND_PER_NUMBER="20")
    sim.configure(error_rate_429=1.0)
    put(app, 1, from_="447700900001")
    app.send_poller(wait_seconds=1).poll_once()
    # then its pace is halved on the number's own pace item (and climbs back from there)
    [pace] = app.stack.client("dynamodb").scan(
        TableName=app.stack.refs["MessagesTable"], FilterExpression="begins_with(pk, :pace)",
        ExpressionAttributeValues={":pace": {"S": "PACE#"}})["Items"]
    assert pace["pk"]["S"].endswith("447700900001") and pace["r"]["M"]["milli"]["N"] == "10000"
