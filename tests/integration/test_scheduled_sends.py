"""send_at, validity and cancel at every stage, over moto (IAM enforced,
EventBridge Scheduler's API) and the simulator. EventBridge Scheduler's
firing is the local runner's, driven by a clock the test moves: a schedule
two hours away fires without anyone waiting two hours."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message
from tests.integration.test_send import aged, failures, invoke_batch, receive


def cancel(app: LocalApp, mid: str) -> None:
    app.stack.client("sqs").send_message(QueueUrl=app.stack.refs["SendQueue"],
                                         MessageBody=json.dumps({"action": "cancel", "message_id": mid}))


def schedules(app: LocalApp) -> list[str]:
    found = app.stack.client("scheduler").list_schedules(GroupName=app.stack.refs["SendSchedules"])
    return [s["Name"] for s in found.get("Schedules", [])]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail-type"] for e in events]


def at(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_a_send_due_in_two_hours_goes_through_a_schedule(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)  # Aculab's status updates held: the events asserted are the send path's
    tail = app.event_tail()
    # given a reminder due in two hours
    mid = queue_send(app, send_at=at(hours=2), valid_for_seconds=600)
    drain_queue(app)
    # then it is scheduled: stored, announced, a one-time schedule made with the send function's role
    assert stored_message(app, mid)["status"] == "scheduled"  # type: ignore[index]
    (name,) = schedules(app)
    schedule = app.stack.client("scheduler").get_schedule(GroupName=app.stack.refs["SendSchedules"], Name=name)
    assert schedule["ActionAfterCompletion"] == "DELETE" and schedule["ScheduleExpression"].startswith("at(")
    assert schedule["Target"]["Arn"] == app.stack.attrs[("SendQueue", "Arn")]
    assert schedule["Target"]["RoleArn"] == app.stack.attrs[("SendSchedulerRole", "Arn")]
    assert tail.wait_for(lambda evs: types(evs) == ["Message Scheduled"])
    runner = app.scheduler_runner()
    # when an hour passes, nothing fires; at two hours and a second, it does (the clock moves, nobody waits)
    assert runner.fire_due(datetime.now(UTC) + timedelta(hours=1)) == []
    assert runner.fire_due(datetime.now(UTC) + timedelta(hours=2, seconds=1)) == [name]
    drain_queue(app)
    # then it is sent once, the schedule is gone, and its timeline says scheduled then queued
    assert sim.stats()["calls_msg_send"] == 1 and schedules(app) == []
    assert tail.wait_for(lambda evs: types(evs) == ["Message Scheduled", "Message Submitted"])
    history = stored_message(app, mid)["history"]  # type: ignore[index]
    assert [h["status"] for h in history][:2] == ["scheduled", "queued"]


def test_a_send_due_within_15_minutes_waits_in_the_queue(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)  # Aculab's status updates held: the events asserted are the send path's
    tail = app.event_tail()
    mid = queue_send(app, send_at=at(seconds=2))
    result = invoke_batch(app, receive(app, 1))
    # then no schedule: the record is acknowledged and a fresh copy is back in the queue, invisible until due
    # (a wait never uses up a receive of the record)
    assert len(failures(result)) == 0 and schedules(app) == []
    assert stored_message(app, mid)["status"] == "scheduled"  # type: ignore[index]
    assert drain_queue(app) == 0  # not visible yet
    time.sleep(2.2)  # a 2-second send_at: the compressed form of up to 15 minutes
    drain_queue(app)
    assert sim.stats()["calls_msg_send"] == 1
    assert tail.wait_for(lambda evs: types(evs) == ["Message Scheduled", "Message Submitted"])


def test_cancel_a_scheduled_message_deletes_its_schedule(app: LocalApp, sim: SimulatorControl) -> None:
    tail = app.event_tail()
    mid = queue_send(app, send_at=at(hours=3))
    drain_queue(app)
    assert len(schedules(app)) == 1
    cancel(app, mid)
    drain_queue(app)
    assert schedules(app) == [] and stored_message(app, mid)["status"] == "cancelled"  # type: ignore[index]
    assert app.scheduler_runner().fire_due(datetime.now(UTC) + timedelta(hours=4)) == []
    assert tail.wait_for(lambda evs: types(evs) == ["Message Scheduled", "Message Cancelled"])
    assert sim.stats().get("calls_msg_send", 0) == 0


def test_cancel_a_message_waiting_in_our_queue(app: LocalApp, sim: SimulatorControl) -> None:
    tail = app.event_tail()
    mid = queue_send(app, send_at=at(seconds=2))
    drain_queue(app)  # waiting in the queue for its send_at
    cancel(app, mid)
    drain_queue(app)
    time.sleep(2.2)
    assert drain_queue(app) == 1  # it came back when due, and was skipped
    tail.drain(wait_seconds=1)
    assert types(tail.received) == ["Message Scheduled", "Message Cancelled"]  # exactly one answer
    assert sim.stats().get("calls_msg_send", 0) == 0


def test_cancel_a_message_waiting_for_a_retry(app: LocalApp, sim: SimulatorControl) -> None:
    tail = app.event_tail()
    sim.configure(outage=True)
    mid = queue_send(app)
    retried = receive(app, 1)
    assert len(failures(invoke_batch(app, retried))) == 1  # Aculab down: waits for a retry
    cancel(app, mid)
    drain_queue(app)
    sim.configure(outage=False)
    assert failures(invoke_batch(app, aged(retried, 60))) == set()  # the retry finds it cancelled
    assert sim.send_arrivals() == []  # Aculab never took it
    assert stored_message(app, mid)["status"] == "cancelled"  # type: ignore[index]
    tail.drain(wait_seconds=1)
    assert types(tail.received) == ["Message Cancelled"]


def test_cancel_a_message_queued_at_aculab(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)
    tail = app.event_tail()
    mid = queue_send(app, content="ж" * 100)
    drain_queue(app)
    cancel(app, mid)
    drain_queue(app)
    assert stored_message(app, mid)["status"] == "cancelled"  # type: ignore[index]
    assert tail.wait_for(lambda evs: "Message Cancelled" in types(evs))
    results = tail.of_type("Message Cancelled")[0]["detail"]["cancelResults"]
    assert set(results.values()) == {"success"} and len(results) == 2


def test_cancel_a_message_already_sent_fails(app: LocalApp, sim: SimulatorControl) -> None:
    tail = app.event_tail()
    mid = queue_send(app)
    drain_queue(app)
    sim.settle()
    cancel(app, mid)
    drain_queue(app)
    assert tail.wait_for(lambda evs: "Message Cancel Failed" in types(evs))
    assert tail.of_type("Message Cancel Failed")[0]["detail"]["reason"] == "already sent"
    assert stored_message(app, mid)["status"] == "delivered"  # type: ignore[index]


def test_cancel_an_unknown_message_fails_and_a_later_send_goes(app: LocalApp, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=3600)  # held at Aculab: no status event joins the two below, however busy the machine
    tail = app.event_tail()
    cancel(app, "early")
    drain_queue(app)
    assert stored_message(app, "early") is None
    queue_send(app, message_id="early")
    drain_queue(app)
    assert sim.stats()["calls_msg_send"] == 1
    assert tail.wait_for(lambda evs: types(evs) == ["Message Cancel Failed", "Message Submitted"])
    assert tail.of_type("Message Cancel Failed")[0]["detail"]["reason"] == "unknown message"


def test_a_code_worth_five_minutes_expires_through_an_outage(app: LocalApp, sim: SimulatorControl) -> None:
    tail = app.event_tail()
    # given a one-time code valid for 2 seconds (the compressed form of 5 minutes), and Aculab down when it arrives
    sim.configure(outage=True)
    mid = queue_send(app, valid_for_seconds=2)
    retried = receive(app, 1)
    invoke_batch(app, retried)
    # when Aculab is back and the record comes round again after its validity (the validity its item
    # fixed at first sight: a record that looks newer changes nothing)
    sim.configure(outage=False)
    time.sleep(2.2)
    assert failures(invoke_batch(app, aged(retried, 0))) == set()
    # then it was never sent: expired, with its reason
    assert sim.send_arrivals() == []
    assert stored_message(app, mid)["status"] == "expired"  # type: ignore[index]
    assert tail.wait_for(lambda evs: types(evs) == ["Message Expired"])
    detail = tail.of_type("Message Expired")[0]["detail"]
    assert detail["isFinal"] is True and "valid_until" in detail["reason"] and detail["validUntil"]


def test_the_producer_cli_schedules_and_cancels(app: LocalApp, sim: SimulatorControl) -> None:
    # what `make send AT=+2h VALID_FOR=300` and `make cancel ID=...` run
    import subprocess
    import sys

    from local.template import ROOT

    admin = app.stack.admin_credentials
    env = {"PYTHONPATH": f"{ROOT / 'layers' / 'core'}", "AWS_ACCESS_KEY_ID": admin["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": admin["aws_secret_access_key"], "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "tools.producer", "--queue-url", app.stack.refs["SendQueue"],
           "--endpoint-url", app.stack.endpoint_url, "--region", "eu-west-1"]
    sent = subprocess.run([*cli, "sms", "--to", "447700900123", "--from", "447700900001", "--text", "later",
                           "--message-id", "cli-at", "--at", "+2h", "--valid-for", "300"],
                          capture_output=True, text=True, env=env, check=False)
    assert sent.returncode == 0, sent.stderr
    drain_queue(app)
    item = stored_message(app, "cli-at")
    assert item is not None and item["status"] == "scheduled" and len(schedules(app)) == 1
    due = datetime.fromisoformat(str(item["due_at"]))
    assert timedelta(hours=1, minutes=59) < due - datetime.now(UTC) <= timedelta(hours=2)
    assert datetime.fromisoformat(str(item["valid_until"])) - due == timedelta(seconds=300)
    cancelled = subprocess.run([*cli, "cancel", "--message-id", "cli-at"], capture_output=True, text=True, env=env,
                               check=False)
    assert cancelled.returncode == 0, cancelled.stderr
    drain_queue(app)
    assert stored_message(app, "cli-at")["status"] == "cancelled" and schedules(app) == []  # type: ignore[index]
