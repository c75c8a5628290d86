"""Quiet hours (issue #27): no send lands in the recipient's night, in its country's local time; a country of
several zones waits for the last of them; its validity still wins. On in-memory fakes and a controllable
clock (the clock starts 2026-11-25 09:00 UTC): given/when/then."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aculab_messaging.aculab.errors import AculabThrottledError
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.queue import parse_queue_message
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy, SendPolicy
from aculab_messaging.logic.quiet_hours import QuietWindow, deferral, zones_of
from aculab_messaging.logic.status import Status
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import SendWorld, send_policy, send_service
from tests.timing_fakes import FakeScheduler, InMemoryPace

NIGHT = QuietWindow.parse("21:00-08:00")
UK, US = "+447700900123", "+12025550123"  # Europe/London; Washington DC (the US: six zones, Hawaii's last)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- the window ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [("21:00-08:00", "21:00-08:00"), ("00:00-06:30", "00:00-06:30"),
                                              ("12:00-14:00", "12:00-14:00")])
def test_a_window_reads_as_it_is_written(text: str, shown: str) -> None:
    assert str(QuietWindow.parse(text)) == shown


@pytest.mark.parametrize("text", ["24:00-08:00", "21:00", "9:00-08:00", "21:00-08:00 ", "08:00-08:00", "on"])
def test_a_window_that_is_none_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours"):
        QuietWindow.parse(text)


def test_off_is_no_window() -> None:
    assert QuietWindow.parse("off") is None


def test_a_uk_number_at_night_waits_for_eight_in_the_morning_london_time() -> None:
    # winter: London is UTC; 22:30 is inside 21:00-08:00, and the window ends at 08:00 the next morning
    held = deferral(NIGHT, "GB", utc(2026, 11, 25, 22, 30))
    assert held is not None and held.until == utc(2026, 11, 26, 8, 0) and held.zone == "Europe/London"
    # summer: London is UTC+1, so its 08:00 is 07:00 UTC; just after midnight local is still the same night
    assert deferral(NIGHT, "GB", utc(2026, 7, 1, 23, 30)).until == utc(2026, 7, 2, 7, 0)  # type: ignore[union-attr]
    # in the day, no wait
    assert deferral(NIGHT, "GB", utc(2026, 11, 25, 12, 0)) is None


def test_a_window_within_a_day_ends_the_same_day() -> None:
    lunch = QuietWindow.parse("12:00-14:00")
    assert deferral(lunch, "GB", utc(2026, 11, 25, 13, 0)).until == utc(2026, 11, 25, 14, 0)  # type: ignore[union-attr]
    assert deferral(lunch, "GB", utc(2026, 11, 25, 14, 0)) is None  # its end is open


def test_a_country_of_several_zones_waits_until_the_last_of_them_is_open() -> None:
    # 13:30 UTC: 08:30 in New York, but 05:30 in Los Angeles and 03:30 in Honolulu and on Adak (UTC-10 in winter)
    held = deferral(NIGHT, "US", utc(2026, 11, 25, 13, 30))
    assert held is not None and held.until == utc(2026, 11, 25, 18, 0)
    assert held.zone in ("Pacific/Honolulu", "America/Adak")
    # and then the east is not yet quiet again (21:00 in New York is 02:00 UTC)
    assert all(not NIGHT.quiet(held.until.astimezone(ZoneInfo(z)).time()) for z in zones_of("US"))  # type: ignore[union-attr]


def test_a_country_whose_zones_are_never_all_open_waits_for_its_principal_zone() -> None:
    # 09:00-08:00 leaves one open hour a day: across the US's six hours of zones it never meets
    long_night = QuietWindow.parse("09:00-08:00")
    held = deferral(long_night, "US", utc(2026, 11, 25, 14, 0))  # 09:00 in New York
    assert held is not None and held.zone == "America/New_York" and held.until == utc(2026, 11, 26, 13, 0)


def test_a_number_of_no_country_has_no_quiet_hours() -> None:
    assert deferral(NIGHT, "001", utc(2026, 11, 25, 23, 0)) is None
    assert deferral(NIGHT, "", utc(2026, 11, 25, 23, 0)) is None


def _first_open_everywhere(window: QuietWindow, zones: list[ZoneInfo], at: datetime) -> datetime | None:
    """By brute force: windows on the hour and zones offset by multiples of 15 minutes change state only on
    UTC's quarter hours, so the first moment open in every zone is ``at`` or one of them (within two days)."""
    def open_at(moment: datetime) -> bool:
        return all(not window.quiet(moment.astimezone(z).time()) for z in zones)

    if open_at(at):
        return at
    quarter = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0) + timedelta(minutes=15)
    return next((m for m in (quarter + timedelta(minutes=15 * i) for i in range(4 * 48)) if open_at(m)), None)


@settings(max_examples=100, deadline=None)
@given(at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
       country=st.sampled_from(["GB", "US", "AU", "RU", "BR", "IN", "NZ", "ES"]),
       start=st.integers(0, 23), length=st.integers(1, 14))
def test_a_deferral_ends_at_the_first_moment_every_zone_is_open(at: datetime, country: str, start: int,
                                                                length: int) -> None:
    window = QuietWindow.parse(f"{start:02d}:00-{(start + length) % 24:02d}:00")
    assert window is not None
    held = deferral(window, country, at)
    zones = [ZoneInfo(z) for z in zones_of(country)]
    first = _first_open_everywhere(window, zones, at)
    if first is not None:
        assert (held is None) == (first == at)
        assert held is None or held.until == first
    else:  # the zones never meet: the principal zone's window decides
        principal_open = not window.quiet(at.astimezone(zones[0]).time())
        assert (held is None) == principal_open
        if held is not None:
            assert not window.quiet(held.until.astimezone(zones[0]).time())
            assert window.quiet((held.until - timedelta(minutes=1)).astimezone(zones[0]).time())


# -- the contract ------------------------------------------------------------------------------------------------

def test_a_request_names_its_quiet_hours_or_takes_the_stacks() -> None:
    body = {"message_id": "m-1", "to": UK, "from": "447700900001", "content": "hi"}
    assert parse_queue_message(json.dumps(body)).quiet_window(NIGHT) == NIGHT  # type: ignore[union-attr]
    own = parse_queue_message(json.dumps(body | {"quiet_hours": "22:00-07:00"}))
    assert str(own.quiet_window(NIGHT)) == "22:00-07:00"  # type: ignore[union-attr]
    assert parse_queue_message(json.dumps(body | {"quiet_hours": "off"})).quiet_window(NIGHT) is None  # type: ignore[union-attr]
    with pytest.raises(ContractError) as refused:
        parse_queue_message(json.dumps(body | {"quiet_hours": "10pm-7am"}))
    assert refused.value.reason == "quiet_hours: quiet hours are HH:MM-HH:MM or 'off', not '10pm-7am'"


def test_the_stacks_quiet_hours_come_from_the_environment() -> None:
    policy = SendPolicy.model_validate({"WEBHOOK_URL": "https://h.example/n", "QUIET_HOURS": "21:00-08:00"})
    assert policy.quiet_hours == NIGHT
    assert SendPolicy.model_validate({"WEBHOOK_URL": "https://h.example/n", "QUIET_HOURS": ""}).quiet_hours is None
    with pytest.raises(ValueError, match="quiet hours"):
        SendPolicy.model_validate({"WEBHOOK_URL": "https://h.example/n", "QUIET_HOURS": "all night"})


# -- the send path ------------------------------------------------------------------------------------------------

TEN_PM = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # in London


class World:
    def __init__(self, quiet_hours: str | None = None, start: datetime = TEN_PM) -> None:
        self.store, self.publisher, self.aculab = InMemoryStore(), RecordingPublisher(), FakeAculab()
        self.clock = Clock(start)
        self.scheduler = FakeScheduler()
        self.queue = InMemorySendQueue(self.clock)
        policy = SendPolicy.model_validate({"webhook_url": "https://hooks.example/aculab/notify",
                                            "quiet_hours": quiet_hours or ""})
        self.service = send_service(self.store, self.publisher, self.aculab, self.queue, self.clock, policy=policy,
                                    scheduler=self.scheduler)

    def record(self, **fields: Any) -> dict[str, Any]:
        body = {"message_id": "m-1", "to": UK, "from": "447700900001", "content": "Your code is 1234", **fields}
        return {"messageId": "sqs-1", "receiptHandle": "rh-1", "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1",
                               "SentTimestamp": str(int(self.clock().timestamp() * 1000))}}

    def run(self, record: dict[str, Any]) -> Any:
        return self.service.process_batch([record])["sqs-1"]

    def status(self) -> str | None:
        found = self.store.messages.get_message("m-1")
        return found.status if found else None


def test_a_send_in_the_recipients_night_waits_scheduled_until_morning() -> None:
    # given the stack's quiet hours 21:00-08:00, and a send to a UK number at 22:00 London time
    w = World("21:00-08:00")
    w.run(w.record())
    # then it is not sent but scheduled for 08:00, and its event says why
    assert w.aculab.sent == [] and w.status() == Status.SCHEDULED.value
    (scheduled,) = w.publisher.published
    assert scheduled.detail_type == ev.MESSAGE_SCHEDULED
    assert scheduled.detail["dueAt"].startswith("2026-11-26T08:00:00")
    assert scheduled.detail["quietHours"] == {"window": "21:00-08:00", "timeZone": "Europe/London"}
    # and so does the message (GET /messages, make status): its reason and its timeline
    why = "the recipient's quiet hours (21:00-08:00 in Europe/London)"
    assert scheduled.detail["reason"] == why and w.store.messages.get_message("m-1").reason == why  # type: ignore[union-attr]
    assert w.store.messages.get_message("m-1").history[-1]["reason"] == why  # type: ignore[union-attr]
    (_name, (at, body)), = w.scheduler.schedules.items()
    assert at == utc(2026, 11, 26, 8, 0)
    # when its schedule fires in the morning, it goes
    w.clock.now = at
    w.run({**w.record(), "body": body})
    assert len(w.aculab.sent) == 1 and w.status() == Status.QUEUED.value


def test_a_send_by_day_goes_at_once() -> None:
    w = World("21:00-08:00", start=utc(2026, 11, 25, 12, 0))
    w.run(w.record())
    assert len(w.aculab.sent) == 1 and w.publisher.types() == [ev.MESSAGE_SUBMITTED]


def test_a_request_may_turn_the_stacks_quiet_hours_off_or_bring_its_own() -> None:
    w = World("21:00-08:00")
    w.run(w.record(quiet_hours="off"))
    assert len(w.aculab.sent) == 1  # an urgent code: its producer said so
    own = World(None)  # no stack default: the request's own hours hold it
    own.run(own.record(quiet_hours="21:30-07:00"))
    assert own.aculab.sent == [] and own.status() == Status.SCHEDULED.value
    assert own.publisher.published[0].detail["dueAt"].startswith("2026-11-26T07:00:00")


def test_a_send_at_inside_the_night_moves_to_its_end() -> None:
    # given a send_at of 23:00 (in the day now): it would land in the night
    w = World("21:00-08:00", start=utc(2026, 11, 25, 12, 0))
    w.run(w.record(send_at="2026-11-25T23:00:00+00:00"))
    assert w.publisher.published[0].detail["dueAt"].startswith("2026-11-26T08:00:00")


def test_its_validity_wins_over_the_wait() -> None:
    # given a code valid for an hour, sent at 22:00: its quiet hours end after its validity
    w = World("21:00-08:00")
    w.run(w.record(valid_for_seconds=3600))
    # then it is never sent, and ends expired at once, saying why
    assert w.aculab.sent == [] and w.status() == Status.EXPIRED.value
    (expired,) = w.publisher.published
    assert expired.detail_type == ev.MESSAGE_EXPIRED
    assert "quiet hours (21:00-08:00 in Europe/London) end later" in expired.detail["reason"]


def test_no_stack_default_and_no_request_hours_mean_no_wait() -> None:
    w = World(None)
    w.run(w.record())
    assert len(w.aculab.sent) == 1


# -- quiet hours hold every send, not only a request's first sight --------------------------------------------------

class Evening(SendWorld):
    """The send path at 20:59:30 London time (winter: UTC), the stack's quiet hours 21:00-08:00, its sleeps
    moving the clock."""

    def __init__(self, **more: Any) -> None:
        super().__init__(policy=send_policy(quiet_hours=NIGHT), sleep=lambda s: self.clock.advance(seconds=s), **more)
        self.clock.now = utc(2026, 11, 25, 20, 59, 30)

    def scheduled(self) -> list[Any]:
        return [e for e in self.publisher.published if e.detail_type == ev.MESSAGE_SCHEDULED]


def test_a_send_retried_after_its_recipients_quiet_hours_began_waits_for_their_end() -> None:
    # given a send at 20:59:30 that Aculab refuses for now (a throttle): it waits for a retry
    w = Evening()
    w.aculab.error = AculabThrottledError(429, "Too Many Requests")
    w.put({"message_id": "late", "to": UK, "from": "447700900001", "content": "Your order shipped"})
    w.drain()
    assert w.status("late") == lc.WAITING and len(w.aculab.sent) == 0
    # when the queue brings it back at 21:01, inside the recipient's night
    w.aculab.error = None
    w.clock.now = utc(2026, 11, 25, 21, 1)
    w.drain()
    # then it is not sent but deferred to 08:00: stored scheduled, its schedule made, its event saying why
    assert w.aculab.sent == [] and w.status("late") == Status.SCHEDULED.value
    ((at, body),) = w.scheduler.schedules.values()
    assert at == utc(2026, 11, 26, 8, 0)
    (deferred,) = w.scheduled()
    assert deferred.detail["dueAt"].startswith("2026-11-26T08:00:00")
    assert deferred.detail["reason"] == "the recipient's quiet hours (21:00-08:00 in Europe/London)"
    assert w.store.messages.get_message("late").history[-1]["status"] == Status.SCHEDULED.value  # type: ignore[union-attr]
    # and in the morning its schedule brings it back, and it goes
    w.clock.now = at
    w.queue.put(body)
    w.drain()
    assert len(w.aculab.sent) == 1 and w.status("late") == Status.QUEUED.value


def test_a_paced_send_whose_slot_falls_in_the_night_goes_back_and_waits_for_the_morning() -> None:
    # given a stack paced at 1 a second: the first send leaves at 20:59:59.5, the second's slot is 21:00:00.5
    w = Evening(pacer=Pacer(InMemoryPace(), PacePolicy(max_per_second=1, margin=0, lead_seconds=0)))
    w.clock.now = utc(2026, 11, 25, 20, 59, 59, 500000)
    for name in ("first", "second"):  # one batch each: a batch's records take their slots in any order
        w.put({"message_id": name, "to": UK, "from": "447700900001", "content": "Sale on"})
        w.drain()
    # then the second, claimed by day, is not sent at its slot in the night: it goes back to the queue
    assert len(w.aculab.sent) == 1 and w.status("first") == Status.QUEUED.value
    assert w.status("second") == lc.WAITING and w.metrics.counts["QuietHoursBegan"] == 1
    # and, seen again a second later, waits stored for the morning
    w.clock.advance(seconds=1)
    w.drain()
    assert len(w.aculab.sent) == 1 and w.status("second") == Status.SCHEDULED.value
    ((at, _body),) = w.scheduler.schedules.values()
    assert at == utc(2026, 11, 26, 8, 0)


def test_a_send_whose_validity_ends_in_the_night_it_met_on_a_retry_expires_saying_why() -> None:
    # given a code valid until 23:00, refused for now at 20:59:30
    w = Evening()
    w.aculab.error = AculabThrottledError(429, "Too Many Requests")
    body = {"message_id": "code", "to": UK, "from": "447700900001", "content": "Your code is 1234",
            "valid_until": "2026-11-25T23:00:00+00:00"}
    w.put(body)
    w.drain()
    # when the queue brings it back at 21:01: its quiet hours end after its validity
    w.aculab.error = None
    w.clock.now = utc(2026, 11, 25, 21, 1)
    w.drain()
    assert w.aculab.sent == [] and w.status("code") == Status.EXPIRED.value
    (expired,) = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_EXPIRED]
    assert "quiet hours (21:00-08:00 in Europe/London) end later" in expired.detail["reason"]


def test_a_deferral_leaves_no_schedule_of_the_message_behind_but_its_own() -> None:
    # given a send_at of 20:50 (by day when it was sent, at 12:00): its schedule made for 20:50
    w = Evening()
    w.clock.now = utc(2026, 11, 25, 12, 0)
    w.put({"message_id": "late", "to": UK, "from": "447700900001", "content": "Your order shipped",
           "send_at": "2026-11-25T20:50:00+00:00"})
    w.drain()
    (first,) = w.scheduler.schedules
    # when a copy of the request comes at 21:05, in the night, before that schedule has fired (it runs late)
    w.clock.now = utc(2026, 11, 25, 21, 5)
    w.put({"message_id": "late", "to": UK, "from": "447700900001", "content": "Your order shipped",
           "send_at": "2026-11-25T20:50:00+00:00"})
    w.drain()
    # then it is deferred to 08:00 under its own schedule, and the first one (holding the request) is deleted
    ((name, (at, _body)),) = w.scheduler.schedules.items()
    assert name != first and at == utc(2026, 11, 26, 8, 0) and w.aculab.sent == []
