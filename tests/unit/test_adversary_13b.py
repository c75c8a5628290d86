"""Adversary 13b: quiet hours at every try (``defer``) and opt-out keywords ordered by Aculab's time, attacked
on the in-memory fakes. The findings (defects found in the change and fixed before it was committed) come
first, each saying what it was; then the attacks that held, kept because they would catch a regression."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aculab_messaging.aculab.errors import AculabThrottledError
from aculab_messaging.aculab.params import PartStatus
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.queue import SendRequest, parse_queue_message
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.inbound import opt_out_version
from aculab_messaging.logic.quiet_hours import QuietWindow
from aculab_messaging.logic.scheduling import Timing
from aculab_messaging.logic.send_attempt import first_sight
from aculab_messaging.logic.status import Status
from tests.fakes.services import FakeAculab
from tests.send_wiring import SendWorld, send_policy
from tests.unit.test_adversary_13 import MOBILE, OURS
from tests.unit.test_adversary_13 import World as KeywordWorld
from tests.unit.test_adversary_13 import queued as queued_at_aculab

NIGHT = QuietWindow.parse("21:00-08:00")
UK = "+447700900123"  # Europe/London (winter: UTC)
SENDER = "447700900001"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class Night(SendWorld):
    """The send path with the stack's quiet hours 21:00-08:00 (London in winter: UTC), its sleeps moving the
    clock; 20:40 to start with."""

    def __init__(self, guarantee: str = "at-most-once", **more: Any) -> None:
        super().__init__(policy=send_policy(quiet_hours=NIGHT, guarantee=guarantee),
                         sleep=lambda s: self.clock.advance(seconds=s), **more)
        self.clock.now = utc(2026, 11, 25, 20, 40)

    def body(self, message_id: str = "m-1", **fields: Any) -> dict[str, Any]:
        return {"message_id": message_id, "to": UK, "from": SENDER, "content": "Your parcel is on its way", **fields}

    def scheduled_events(self) -> list[Any]:
        return [e for e in self.publisher.published if e.detail_type == ev.MESSAGE_SCHEDULED]

    def fired_bodies(self) -> list[str]:
        """What the schedules due now put on the queue (kept, so a test can deliver one twice)."""
        return self.scheduler.fire_due(self.clock())


# -- findings -------------------------------------------------------------------------------------------------------

def test_a_repeated_due_copy_after_a_deferral_never_starts_a_claim_and_release_loop_through_the_night() -> None:
    """Was a defect (high), fixed before commit: a copy of the schedule's DueRequest that comes again after
    the message was deferred (SQS or EventBridge at-least-once, or the old schedule firing after a duplicate
    request deferred it) skips the wait (attempt.fired) and its quiet check looks at the NEW due time (08:00,
    open), so it is claimed in the night; the departure check releases it with a copy 1 s later, and that copy
    (waiting: no wait, quiet looked at 08:00 again) claims it again: a claim/release/requeue every second
    until the morning"""
    # given a send_at of 20:59 (stored at 20:40: its schedule made), whose schedule's copy is handled at 21:00:20
    w = Night()
    w.put(w.body(send_at="2026-11-25T20:59:00+00:00"))
    w.drain()
    assert w.status("m-1") == Status.SCHEDULED.value and len(w.scheduler.schedules) == 1
    w.clock.now = utc(2026, 11, 25, 21, 0, 20)
    (due_copy,) = w.fired_bodies()
    w.queue.put(due_copy)
    w.drain()
    # then it is deferred to 08:00 (held so far)
    assert w.status("m-1") == Status.SCHEDULED.value and w.aculab.sent == []
    assert [at for at, _ in w.scheduler.schedules.values()] == [utc(2026, 11, 26, 8, 0)]
    # when the same DueRequest is delivered again a few seconds later (at-least-once)
    w.clock.advance(seconds=5)
    w.queue.put(due_copy)
    w.drain()
    # and the queue runs on for a minute of the night
    for _ in range(60):
        w.clock.advance(seconds=1)
        w.drain()
    # then nothing was sent (the departure check holds), but the message should also have stayed scheduled for
    # 08:00, never claimed in the night, and nothing of it should cycle on the queue
    assert w.aculab.sent == []
    began = w.metrics.counts.get("QuietHoursBegan", 0)  # each: a claim, a release, a copy on the queue
    assert began == 0, f"claimed in the night and released {began} times in one minute"
    assert w.status("m-1") == Status.SCHEDULED.value
    assert w.queue.waiting == []


def test_a_keyword_stamped_far_in_the_future_does_not_outrank_every_later_stop() -> None:
    """Was a defect (high), fixed before commit: opt_out_version trusts the notification's timestamp whatever
    it is: one keyword with a timestamp far ahead (a skewed Aculab clock, a bad value) plants a version no
    later keyword and no reconciler sync (<now>#reconcile) can pass; a START so stamped makes every later STOP
    of the mobile ignored (the pair stays unblocked, sends go on, no Opt-Out Changed)"""
    w = KeywordWorld()
    # given a START (a no-op: the pair was never blocked) whose Aculab timestamp is decades ahead
    w.texted("in-1", "START", aculab_time="2099-01-01_00:00:00")
    assert not w.store.blocked.is_blocked(OURS, MOBILE)
    # when the mobile texts STOP a minute later, by Aculab's right clock
    w.clock.advance(minutes=1)
    stamped = w.clock().strftime("%Y-%m-%d_%H:%M:%S")
    w.texted("in-2", "STOP", aculab_time=stamped)
    # and the reconciler syncs Aculab's list, which blocks the pair
    w.aculab.blocked = {OURS: [MOBILE]}
    w.clock.advance(minutes=20)
    w.run()
    # then the pair is blocked, and said so
    assert w.store.blocked.is_blocked(OURS, MOBILE)
    assert w.of_type(ev.OPT_OUT_CHANGED) and w.of_type(ev.OPT_OUT_CHANGED)[-1]["blocked"] is True


class StatusDown(FakeAculab):
    """Aculab whose msg_status fails (a 503, a throttle) while ``down``; its answers kept for when it is back."""

    down = True

    def msg_status(self, msg_refs: Sequence[str]) -> dict[str, PartStatus]:
        if self.down:
            raise AculabThrottledError(503, "Service Unavailable")
        return super().msg_status(msg_refs)


def test_a_failed_msg_status_batch_never_expires_a_message_past_its_give_up_age() -> None:
    """Was a defect (medium), fixed before commit: logic/reconcile.py now goes on past the give-up age when a
    ref is missing from the answers, but it cannot tell a ref Aculab left out from a msg_status batch that
    FAILED: a run during an Aculab outage expires every message past its give-up age unasked (Message Expired,
    final), though Aculab had it delivered; the delivered answer of the next run is then refused as older than
    a final state"""
    w = KeywordWorld()
    w.aculab = w.reconcile.aculab = StatusDown()  # type: ignore[misc]
    # given a message at Aculab, delivered there (its delivery report never reached us)
    queued_at_aculab(w, ("r1",))
    w.aculab.statuses = {"r1": PartStatus(msg_ref="r1", status="delivered")}
    # when the reconciler runs past its give-up age while msg_status fails
    w.clock.advance(hours=49)
    w.run()
    # and again once Aculab answers
    w.aculab.down = False  # type: ignore[attr-defined]
    w.clock.advance(minutes=20)
    w.run()
    # then the message ends as Aculab has it: delivered, never announced expired
    message = w.store.messages.get_message("m-1")
    assert message is not None and message.status == Status.DELIVERED.value
    assert w.of_type(ev.MESSAGE_EXPIRED) == []


# -- what held ------------------------------------------------------------------------------------------------------

def test_a_request_with_quiet_hours_off_retried_in_the_night_is_sent_not_deferred() -> None:
    # given the stack's default 21:00-08:00, and an urgent request that turns it off, refused for now at 20:40
    w = Night()
    w.aculab.error = AculabThrottledError(429, "Too Many Requests")
    w.put(w.body(quiet_hours="off"))
    w.drain()
    assert w.status("m-1") == lc.WAITING
    # when its retry comes at 23:00
    w.aculab.error = None
    w.clock.now = utc(2026, 11, 25, 23, 0)
    w.drain()
    # then it goes: neither the retry's check nor the departure's applies the stack's default to it
    assert len(w.aculab.sent) == 1 and w.status("m-1") == Status.QUEUED.value
    assert w.scheduler.schedules == {} and "QuietHoursBegan" not in w.metrics.counts


def test_a_country_whose_zones_never_all_open_is_deferred_once_to_its_principal_zone_and_then_sent() -> None:
    # given a US number and hours 09:00-08:00 (one open hour a day: never open in all six zones at once),
    # refused for now at 13:30 UTC (08:30 in New York, open there; 03:30 in Honolulu)
    w = Night()
    w.clock.now = utc(2026, 11, 25, 13, 30)
    w.aculab.error = AculabThrottledError(429, "Too Many Requests")
    w.put(w.body(to="+12025550123", quiet_hours="09:00-08:00"))
    w.drain()
    # when its retry comes at 14:10 (09:10 in New York: quiet there too)
    w.aculab.error = None
    w.clock.now = utc(2026, 11, 25, 14, 10)
    w.drain()
    # then it waits for New York's next 08:00, once
    ((at, body),) = w.scheduler.schedules.values()
    assert at == utc(2026, 11, 26, 13, 0) and w.aculab.sent == []
    # and when that schedule fires it goes, not deferred again for zones that never open with New York's
    w.clock.now = at
    w.fired_bodies()
    w.queue.put(body)
    w.drain()
    assert len(w.aculab.sent) == 1 and w.status("m-1") == Status.QUEUED.value
    assert len(w.scheduled_events()) == 1


def test_a_deferred_message_cancelled_in_the_night_loses_its_deferrals_schedule_and_is_never_sent() -> None:
    # given a send refused for now at 20:59:30, retried at 21:01 and deferred to 08:00
    w = Night()
    w.clock.now = utc(2026, 11, 25, 20, 59, 30)
    w.aculab.error = AculabThrottledError(429, "Too Many Requests")
    w.put(w.body())
    w.drain()
    w.aculab.error = None
    w.clock.now = utc(2026, 11, 25, 21, 1)
    w.drain()
    ((at, body),) = w.scheduler.schedules.values()
    # when it is cancelled at 23:00
    w.clock.now = utc(2026, 11, 25, 23, 0)
    w.put({"action": "cancel", "message_id": "m-1"})
    w.drain()
    # then the deferral's schedule is gone, and a late copy of it in the morning sends nothing
    assert w.status("m-1") == Status.CANCELLED.value and w.scheduler.schedules == {}
    w.clock.now = at
    w.queue.put(body)
    w.drain()
    assert w.aculab.sent == [] and w.status("m-1") == Status.CANCELLED.value


def test_an_at_least_once_reclaim_in_the_night_is_deferred_not_sent() -> None:
    # given at-least-once, and a send claimed at 20:59:50 by an invocation that died (its lease left behind)
    w = Night(guarantee="at-least-once")
    body = w.body()
    req = parse_queue_message(json.dumps(body))
    assert isinstance(req, SendRequest)
    fingerprint, claimed_at = lc.request_hash(req.to_json()), utc(2026, 11, 25, 20, 59, 50)
    assert w.store.messages.transition(lc.Change(
        lc.CLAIM, "m-1", claimed_at, keep=first_sight(req, fingerprint, Timing(None, None)),
        request_hash=fingerprint, lease_until=claimed_at + timedelta(seconds=90))).done
    # when SQS hands its record back after the lease ran out, at 21:10, and the queue runs on
    w.clock.now = utc(2026, 11, 25, 21, 10)
    w.put(body)
    for _ in range(3):
        w.drain()
        w.clock.advance(seconds=2)
    # then the reclaimed send is not sent in the night but deferred to 08:00
    assert w.aculab.sent == [] and w.status("m-1") == Status.SCHEDULED.value
    assert [at for at, _ in w.scheduler.schedules.values()] == [utc(2026, 11, 26, 8, 0)]
    assert w.metrics.counts["QuietHoursBegan"] == 1


def test_a_keyword_with_no_or_an_unreadable_timestamp_is_ordered_by_when_we_stored_it() -> None:
    w = KeywordWorld()
    # given START with Aculab's timestamp, then a minute later STOP whose timestamp is unreadable, then missing
    w.texted("in-1", "START", aculab_time=w.clock().strftime("%Y-%m-%d_%H:%M:%S"))
    w.clock.advance(minutes=1)
    w.texted("in-2", "STOP", aculab_time="2026-13-45_99:99:99")
    assert w.store.blocked.is_blocked(OURS, MOBILE)
    w.clock.advance(minutes=1)
    w.texted("in-3", "START")
    assert not w.store.blocked.is_blocked(OURS, MOBILE)
    # and the versions compare as text with the reconciler's stamps and with the old form
    item = {"msg_ref": "in-9", "stored_at": "2026-11-25T09:00:05.000+00:00", "received_at": "2026-11-25T09:00:00Z"}
    version = opt_out_version(item)
    assert version == "2026-11-25T09:00:00.000Z#2026-11-25T09:00:05.000Z#in-9"
    assert "2026-11-25T08:59:59.999Z#reconcile" < version < "2026-11-25T09:00:00.001Z#reconcile"
    assert "2026-11-25T08:59:59.000+00:00#in-8" < version < "2026-11-25T09:00:01.000+00:00#in-8"
