"""The shared pace, proved at the simulator (it records when each msg_send
arrived): three send containers polling the queue at once, paced through the
one PACE item in DynamoDB on moto."""

from __future__ import annotations

import json
from typing import Any

from local.app import LocalApp
from local.sqs_poller import run_together
from simulator.control import SimulatorControl

RATE = 10


def peak_per_second(times: list[float]) -> int:
    """The most arrivals in any one-second window [t, t + 1) (sliding, from each arrival)."""
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + 1.0) for i, t in enumerate(times))


def put(app: LocalApp, n: int, **fields: Any) -> None:
    sqs = app.stack.client("sqs")
    for start in range(0, n, 10):
        entries = [{"Id": str(i), "MessageBody": json.dumps({
            "message_id": f"p-{i}", "to": "447700900123", "from": fields.get("from_", f"4477009000{i % 3 + 1:02d}"),
            "content": "hello"})} for i in range(start, min(n, start + 10))]
        sqs.send_message_batch(QueueUrl=app.stack.refs["SendQueue"], Entries=entries)


def run_containers(app: LocalApp, containers: int, until: int, sim: SimulatorControl) -> None:
    pollers = [app.send_poller(wait_seconds=1, handler=app.container("send")) for _ in range(containers)]
    run_together(pollers, lambda: len(sim.send_arrivals()) >= until)


def test_a_hundred_messages_at_ten_a_second_from_three_containers(app_factory: Any, sim: SimulatorControl) -> None:
    # given the stack paced at 10 a second, and 100 messages from three numbers
    app = app_factory(MAX_SENDS_PER_SECOND=str(RATE))
    put(app, 100)
    # when three send containers take them at once
    run_containers(app, 3, 100, sim)
    # then all were sent, over at least 9.9 s, and no one-second window at Aculab held more than 10
    times = [a["at"] for a in sim.send_arrivals()]
    assert len(times) == 100
    span = max(times) - min(times)
    assert span >= 9.9, span
    assert peak_per_second(times) <= RATE
    print(f"FIGURE pacing: 100 sends in {span:.2f} s, peak {peak_per_second(times)} a second")


def test_each_number_keeps_its_own_pace(app_factory: Any, sim: SimulatorControl) -> None:
    app = app_factory(MAX_SENDS_PER_SECOND_PER_NUMBER="4")
    put(app, 12, from_="447700900001")
    run_containers(app, 2, 12, sim)
    times = sorted(a["at"] for a in sim.send_arrivals())
    assert len(times) == 12 and peak_per_second(times) <= 4 and times[-1] - times[0] >= 11 * 0.25


def test_aculab_429_lowers_a_numbers_pace(app_factory: Any, sim: SimulatorControl) -> None:
    # given a number paced at 20 a second, and Aculab throttling it
    app = app_factory(MAX_SENDS_PER_SECOND_PER_NUMBER="20")
    sim.configure(error_rate_429=1.0)
    put(app, 1, from_="447700900001")
    app.send_poller(wait_seconds=1).poll_once()
    # then its pace is halved in the shared item (and climbs back from there)
    pace = app.stack.client("dynamodb").get_item(TableName=app.stack.refs["MessagesTable"],
                                                 Key={"pk": {"S": "PACE"}, "sk": {"S": "PACE"}})["Item"]
    assert pace["r"]["M"]["447700900001"]["M"]["milli"]["N"] == "10000"
