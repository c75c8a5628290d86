"""Quiet hours on the local stack: the send function (its role, moto with IAM enforced, EventBridge
Scheduler's API) holds a send that falls in the recipient's quiet hours until they end, and the local
scheduler runner, on a clock the test moves, brings it back then (to a function whose clock is the wall's:
still quiet, it is deferred again). The window is set around the wall clock's
now in London (the recipient's), so the test means the same at any hour it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message
from tests.integration.test_scheduled_sends import schedules, types

LONDON = ZoneInfo("Europe/London")


def _around_now(before: timedelta, after: timedelta) -> tuple[str, datetime]:
    """A window from ``before`` ago to ``after`` from now in London, and the moment it ends."""
    now = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start, end = (now - before).astimezone(LONDON), (now + after).astimezone(LONDON)
    return f"{start:%H:%M}-{end:%H:%M}", (now + after)


def test_a_send_in_the_recipients_quiet_hours_waits_for_their_end(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)  # Aculab's status updates held: the events asserted are the send path's
    tail = app.event_tail()
    # given a UK recipient whose quiet hours began an hour ago and end in two
    window, ends = _around_now(timedelta(hours=1), timedelta(hours=2))
    held = queue_send(app, quiet_hours=window)
    # and another message to them that turns quiet hours off (a one-time code)
    urgent = queue_send(app, quiet_hours="off")
    drain_queue(app)
    # then the urgent one went; the other is scheduled for the window's end, with a one-time schedule
    assert [m["content"] for m in sim.messages()] == ["hello"]
    assert stored_message(app, held)["status"] == "scheduled"  # type: ignore[index]
    assert stored_message(app, urgent)["status"] == "queued"  # type: ignore[index]
    assert tail.wait_for(lambda evs: sorted(types(evs)) == ["Message Scheduled", "Message Submitted"])
    (scheduled,) = tail.of_type("Message Scheduled")
    assert scheduled["detail"]["messageId"] == held
    assert scheduled["detail"]["quietHours"] == {"window": window, "timeZone": "Europe/London"}
    assert datetime.fromisoformat(scheduled["detail"]["dueAt"]) == ends
    (name,) = schedules(app)
    # when the runner's clock reaches a minute before the end, nothing fires; at the end, it does
    runner = app.scheduler_runner()
    assert runner.fire_due(ends - timedelta(minutes=1)) == []
    assert runner.fire_due(ends + timedelta(seconds=1)) == [name]
    drain_queue(app)
    # then the send function, whose clock is the wall's (still inside the window), holds it again: not sent,
    # deferred to the same end under a schedule of its own (the unit tests move the function's clock past the
    # end and see it sent: tests/unit/test_quiet_hours.py)
    assert sim.stats()["calls_msg_send"] == 1 and stored_message(app, held)["status"] == "scheduled"  # type: ignore[index]
    (again,) = schedules(app)
    assert again != name and stored_message(app, held)["due_at"] == ends.isoformat(timespec="milliseconds")  # type: ignore[index]


def test_a_validity_that_ends_inside_the_quiet_hours_expires_the_send(app: LocalApp, sim: SimulatorControl) -> None:
    tail = app.event_tail()
    window, _ends = _around_now(timedelta(hours=1), timedelta(hours=2))
    # given a code valid for ten minutes, in quiet hours that last two more hours
    mid = queue_send(app, quiet_hours=window, valid_for_seconds=600)
    drain_queue(app)
    # then it is never sent: expired at once, saying why, and nothing is left scheduled
    assert sim.stats().get("calls_msg_send", 0) == 0 and schedules(app) == []
    assert stored_message(app, mid)["status"] == "expired"  # type: ignore[index]
    assert tail.wait_for(lambda evs: types(evs) == ["Message Expired"])
    detail: dict[str, Any] = tail.of_type("Message Expired")[0]["detail"]
    assert f"quiet hours ({window} in Europe/London) end later" in detail["reason"]


def test_the_stacks_quiet_hours_hold_a_send_that_does_not_say(app_factory: Any, sim: SimulatorControl) -> None:
    # given a stack deployed with QuietHours around now in London, and a send that names none
    window, ends = _around_now(timedelta(minutes=30), timedelta(hours=1))
    app = app_factory(QUIET_HOURS=window)
    tail = app.event_tail()
    mid = queue_send(app)
    drain_queue(app)
    # then it waits for their end, scheduled, and Aculab has nothing yet
    assert sim.stats().get("calls_msg_send", 0) == 0 and stored_message(app, mid)["status"] == "scheduled"
    assert tail.wait_for(lambda evs: types(evs) == ["Message Scheduled"])
    assert datetime.fromisoformat(tail.of_type("Message Scheduled")[0]["detail"]["dueAt"]) == ends
