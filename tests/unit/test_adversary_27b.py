"""Adversarial tests of issue #27's features (quiet hours, campaigns, erasure): interleavings, faults and hostile
inputs against the promises README's "Message contract" and "Erasure and retention" make. On the in-memory fakes.

A test marked ``xfail(strict=True, reason="DEFECT: ...")`` exposes a real defect (it asserts the promise and fails
today); the others document a promise kept under attack."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aculab_messaging.api.messages import MessagesApi
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.queue import CampaignCancelRequest, parse_queue_message
from aculab_messaging.logic.campaign_progress import progress
from aculab_messaging.logic.campaigns import CampaignCanceller
from aculab_messaging.logic.cancelling import Canceller
from aculab_messaging.logic.erasure import Eraser, number_hasher
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy
from aculab_messaging.logic.quiet_hours import QuietWindow, deferral, zones_of
from tests.fakes.erasure import InMemoryMediaVersions
from tests.fakes.store import InMemoryStore
from tests.send_wiring import SendWorld, send_policy
from tests.timing_fakes import InMemoryPace

OURS = "447700900001"
MOBILE = "+447700900123"
KEY = "k" * 64


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class World(SendWorld):
    def __init__(self, *, pacer: Pacer | None = None, **policy: Any) -> None:
        self.on_sleep: Callable[[], None] | None = None
        super().__init__(store=InMemoryStore(erasure_page_size=100), policy=send_policy(**policy), pacer=pacer,
                         sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        hook, self.on_sleep = self.on_sleep, None
        if hook is not None:
            hook()
        self.clock.advance(seconds=seconds)

    @staticmethod
    def send(message_id: str, campaign: str | None = "spring", to: str = MOBILE, **fields: Any) -> dict[str, Any]:
        return {"message_id": message_id, "to": to, "from": OURS, "content": "Sale on",
                **({"campaign_id": campaign} if campaign else {}), **fields}

    def campaign_cancel(self, campaign_id: str = "spring") -> list[str]:
        """A campaign cancel processed to its end (its continuation copies too), as the send function would."""
        canceller = CampaignCanceller(self.store, Canceller(self.store, self.aculab, self.scheduler), self.queue)
        done = canceller.cancel(CampaignCancelRequest(action="cancel", campaign_id=campaign_id),
                                self.clock())
        return [e.detail_type for e in done.events]

    def eraser(self) -> Eraser:
        return Eraser(self.store.erasure, InMemoryMediaVersions(), number_hasher(lambda: KEY), self.clock,
                      scheduler=self.scheduler, default_region=self.service.policy.default_region)


# -- campaigns: a cancel racing a send of the same campaign ------------------------------------------------------


def test_a_send_waiting_for_its_pace_slot_when_its_campaign_is_cancelled_is_not_sent() -> None:
    # given a stack paced at 1 a second: the campaign's first send goes now, its second waits for its slot
    w = World(pacer=Pacer(InMemoryPace(), PacePolicy(max_per_second=1, margin=0, lead_seconds=0)))
    w.put(w.send("first"))
    w.drain()
    assert len(w.aculab.sent) == 1
    cancel_events: list[str] = []
    # when the campaign is cancelled while the second send sleeps for its slot (claimed, not yet at Aculab)
    w.on_sleep = lambda: cancel_events.extend(w.campaign_cancel())
    w.put(w.send("second"))
    w.drain()
    assert cancel_events == []  # the cancel saw it 'sending' and left it to its send
    # then a cancel that completed before the message was handed to Aculab stopped it
    assert len(w.aculab.sent) == 1, "sent after its campaign's cancel had completed"
    assert w.status("second") == "cancelled"


def test_a_campaign_cancel_landing_between_the_sends_read_and_its_claim_stops_it() -> None:
    w = World()
    cancel_events: list[str] = []
    w.store.campaigns.on_mark_read = lambda: cancel_events.extend(w.campaign_cancel())
    w.put(w.send("racer"))
    w.drain()
    assert cancel_events == []  # the cancel found nothing of it stored
    assert w.aculab.sent == [], "a send of a campaign whose cancel had completed went to Aculab"


def test_a_stale_campaign_index_does_not_make_a_campaign_cancel_call_msg_cancel() -> None:
    w = World()
    w.put(w.send("soon", send_at=(w.clock() + timedelta(minutes=5)).isoformat()))
    w.drain()
    assert w.status("soon") == "scheduled"
    # the index as it was a moment ago
    w.store.campaigns.frozen_page = w.store.campaigns.campaign_page("spring", None, 100)[0]
    w.clock.advance(minutes=5)
    w.drain()
    assert w.status("soon") == "queued"  # at Aculab now; the index has not caught up
    events = w.campaign_cancel()
    assert w.aculab.cancelled == [], "a campaign cancel called msg_cancel"
    assert events == []


def test_no_body_on_the_queue_can_make_a_campaign_cancel_skip_a_message() -> None:
    # given three scheduled messages of a campaign
    w = World()
    for i in range(3):
        w.put(w.send(f"m-{i}", send_at=(w.clock() + timedelta(days=1)).isoformat()))
    w.drain()
    # when a producer's cancel names where a pass stopped (as a continuation once did) / then it is refused
    w.put({"action": "cancel", "campaign_id": "spring", "after": "zzz"})
    w.drain()
    assert [w.status(f"m-{i}") for i in range(3)] == ["scheduled"] * 3
    rejected = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_REJECTED]
    assert len(rejected) == 1 and "after" in rejected[0].detail["reason"]
    # and the campaign's cancel, in many copies, pages of one, cancels every one (where to start is the mark's)
    w.service.campaign_page = 1
    for _ in range(3):
        w.put({"action": "cancel", "campaign_id": "spring"})
    w.drain()
    assert [w.status(f"m-{i}") for i in range(3)] == ["cancelled"] * 3
    assert w.scheduler.schedules == {}


def test_a_message_id_reused_with_another_campaign_is_rejected_and_changes_nothing() -> None:
    w = World()
    w.put(w.send("m-1", send_at=(w.clock() + timedelta(days=1)).isoformat()))
    w.drain()
    w.put(w.send("m-1", campaign="autumn", send_at=(w.clock() + timedelta(days=1)).isoformat()))
    w.drain()
    rejected = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_REJECTED]
    assert len(rejected) == 1 and "already used" in rejected[0].detail["reason"]
    assert progress(w.store.campaigns, "autumn") is None
    found = progress(w.store.campaigns, "spring")
    assert found is not None and found.by_status == {"scheduled": 1}
    # and cancelling the other campaign leaves it alone
    w.campaign_cancel("autumn")
    w.clock.advance(days=1)
    w.fire()
    w.drain()
    assert w.status("m-1") == "queued" and len(w.aculab.sent) == 1


def test_a_campaign_id_equal_to_a_message_id_is_its_own_thing() -> None:
    w = World()
    w.put(w.send("spring", campaign=None, send_at=(w.clock() + timedelta(days=1)).isoformat()))
    w.put(w.send("m-1", send_at=(w.clock() + timedelta(days=1)).isoformat()))
    w.drain()
    w.campaign_cancel("spring")
    assert w.status("spring") == "scheduled" and w.status("m-1") == "cancelled"


def test_a_cancel_delivered_twice_or_copied_twice_says_each_cancel_once() -> None:
    w = World()
    for i in range(3):
        w.put(w.send(f"m-{i}", send_at=(w.clock() + timedelta(days=1)).isoformat()))
    w.drain()
    w.service.campaign_page = 1
    for _ in range(2):  # SQS's at-least-once: the same cancel twice, each carrying on in its own copies
        w.put({"action": "cancel", "campaign_id": "spring"})
    w.drain()
    cancelled = [e.detail["messageId"] for e in w.publisher.published if e.detail_type == ev.MESSAGE_CANCELLED]
    assert sorted(cancelled) == ["m-0", "m-1", "m-2"]
    assert not [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_CANCEL_FAILED]


def test_a_campaign_cancelled_before_any_message_withdraws_every_later_send_and_shows_as_cancelled() -> None:
    # a cancel of a campaign with no message yet (or a typo): the mark stands (90 days, the retention), so any
    # later send under that id is withdrawn; GET /campaigns answers it with no message, not 404
    w = World()
    w.put({"action": "cancel", "campaign_id": "never-sent"})
    w.drain()
    api = MessagesApi(w.store)
    answer = api.handle({"pathParameters": {"campaign_id": "never-sent"}})
    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    assert body["messages"] == 0 and body["cancelledAt"]
    w.put(w.send("late", campaign="never-sent"))
    w.drain()
    assert w.status("late") == "cancelled" and w.aculab.sent == []


@pytest.mark.parametrize("odd", ["", "a" * 129, "spring sale", "spring%2Fsale", "spring/sale", "caf\u00e9",
                                 "../MSG#x", "x\u0000", "CAMPAIGN#x"])
def test_get_campaigns_with_an_odd_id_is_a_400_and_reads_nothing(odd: str) -> None:
    w = World()
    answer = MessagesApi(w.store).handle({"pathParameters": {"campaign_id": odd}})
    assert answer["statusCode"] == 400 and "campaign_id" in json.loads(answer["body"])["message"]


def test_get_campaigns_with_the_longest_id_answers_404_when_unknown() -> None:
    answer = MessagesApi(World().store).handle({"pathParameters": {"campaign_id": "a" * 128}})
    assert answer["statusCode"] == 404


def test_a_slow_campaign_does_not_churn_its_waiting_messages_every_second() -> None:
    # one record at a time (the fake clock is shared: a pace sleep advances it for everyone)
    w = World(pacer=Pacer(InMemoryPace(), PacePolicy(margin=0, lead_seconds=0)), concurrency=1)
    start = w.clock()
    for i in range(20):
        w.put(w.send(f"m-{i:02}", campaign_max_per_second=0.1))
    while w.clock() - start < timedelta(seconds=30):
        w.drain()
        w.clock.advance(seconds=1)
    elapsed = (w.clock() - start).total_seconds()
    assert len(w.aculab.sent) <= elapsed // 10 + 1  # one every ten seconds: the pace itself holds
    assert len(w.aculab.sent) >= elapsed // 10 - 1  # and no slower: a send turned away comes back at its turn
    # measured before the campaign's line: 286 passes put back on the queue for 4 sent (each a claim, a release
    # and a SendMessage); each send turned away now books its place and comes back then
    assert w.metrics.counts.get("SendPaced", 0) <= 20 * 3, w.metrics.counts.get("SendPaced")


# -- erasure -----------------------------------------------------------------------------------------------------


def test_an_erased_numbers_scheduled_message_is_never_sent() -> None:
    w = World()
    w.put(w.send("tomorrow", campaign=None, send_at=(w.clock() + timedelta(days=1)).isoformat()))
    w.drain()
    assert w.status("tomorrow") == "scheduled" and len(w.scheduler.schedules) == 1
    result = w.eraser().erase(MOBILE)
    # its schedule (whose input holds the number and the text) is gone with it, and its item is a tombstone
    assert result.counts.messages == 1 and result.counts.schedules == 1 and w.scheduler.schedules == {}
    tombstone = w.store.messages.get_message("tomorrow")
    assert tombstone is not None and tombstone.status == "erased" and tombstone.to is None
    w.clock.advance(days=1)
    w.fire()
    w.drain()
    assert w.aculab.sent == [], "the erased number was sent its scheduled message"


def test_an_erased_numbers_message_waiting_on_the_queue_is_never_sent() -> None:
    w = World()
    w.put(w.send("soon", campaign=None, send_at=(w.clock() + timedelta(minutes=10)).isoformat()))
    w.drain()
    assert w.status("soon") == "scheduled"
    w.eraser().erase(MOBILE)
    w.clock.advance(minutes=10)
    w.drain()
    assert w.aculab.sent == [], "the erased number was sent its queued message"


def test_a_pool_member_is_refused_as_one_of_our_own_numbers() -> None:
    w = World()
    pool_number = "+447700900777"
    w.store.pools.remember_pool_number("marketing", pool_number, w.clock())
    w.store.inbound.record_inbound({"msg_ref": "in-1", "from": MOBILE, "to": pool_number, "type": "sms",
                            "content": "hello", "received_at": "2026-11-25T08:59:00Z"}, w.clock())
    with pytest.raises(ValueError, match="sending numbers"):
        w.eraser().erase(pool_number)


def test_a_resend_to_an_erased_number_that_opted_out_is_still_blocked() -> None:
    w = World()
    w.store.blocked.set_blocked("+" + OURS, MOBILE, True, "inbound", "2026-11-25T08:00:00#stop")
    w.put(w.send("before", campaign=None))
    w.drain()
    w.eraser().erase(MOBILE)
    w.put(w.send("after", campaign=None))
    w.drain()
    assert w.status("after") == "blocked" and w.aculab.sent == []


@pytest.mark.parametrize("written", ["+44 7700 900123", "+44 (0)7700 900123", "0044 7700 900123", "447700900123"])
def test_the_erase_function_reads_any_international_form_of_the_number(written: str, monkeypatch: Any) -> None:
    from functions.erase import erase_function

    w = World()
    w.put(w.send("m-1", campaign=None))
    w.drain()
    monkeypatch.setattr(erase_function, "service", w.eraser)
    answer = erase_function.handler({"phone": written}, _Context())
    assert answer["complete"] and answer["counts"]["messages"] == 1
    assert w.store.messages.get_message("m-1").status == "erased"  # type: ignore[union-attr]


def test_the_erase_function_reads_a_number_as_the_send_path_did(monkeypatch: Any) -> None:
    from functions.erase import erase_function

    monkeypatch.setenv("DEFAULT_REGION", "US")
    w = World(default_region="US")
    w.put(w.send("m-1", campaign=None, to="2025550123"))
    w.drain()
    assert w.store.messages.get_message("m-1").to == "+12025550123"  # type: ignore[union-attr]
    monkeypatch.setattr(erase_function, "service", w.eraser)
    answer = erase_function.handler({"phone": "2025550123"}, _Context())
    assert answer.get("counts", {}).get("messages") == 1, answer


class _Context:
    function_name = "erase"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:erase"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 600_000


# -- quiet hours ---------------------------------------------------------------------------------------------------

LONDON = ZoneInfo("Europe/London")


def test_a_window_ending_in_the_spring_forward_gap_ends_when_the_gap_does() -> None:
    held = deferral(QuietWindow.parse("21:00-01:30"), "GB", utc(2026, 3, 29, 0, 30))
    assert held is not None and held.until.astimezone(LONDON).time().isoformat() == "02:00:00", held


def test_no_send_lands_in_the_window_during_the_fall_back_fold() -> None:
    at = utc(2026, 10, 25, 1, 10)
    window = QuietWindow.parse("21:00-01:30")
    assert window.quiet(at.astimezone(LONDON).time())
    assert deferral(window, "GB", at) is not None


@pytest.mark.parametrize("text", ["21:00-08:00", "22:00-07:00", "00:00-23:59", "23:59-00:00", "01:00-03:00",
                                  "02:00-02:30"])
@pytest.mark.parametrize(("country", "day"), [("GB", (2026, 3, 29)), ("GB", (2026, 10, 25)),
                                              ("US", (2026, 3, 8)), ("US", (2026, 11, 1))])
def test_a_deferral_always_ends_open_and_never_before_it_began(text: str, country: str,
                                                              day: tuple[int, int, int]) -> None:
    """Across the DST days, every 5 minutes: the end of a deferral is open in every zone (or, when the zones
    are never all open, in the principal one), and after the moment asked about."""
    window = QuietWindow.parse(text)
    assert window is not None
    zones = [ZoneInfo(z) for z in zones_of(country)]
    start = utc(*day) - timedelta(hours=12)
    for step in range(0, 48 * 12):
        at = start + timedelta(minutes=5 * step)
        held = deferral(window, country, at)
        if held is None:
            continue
        assert held.until > at
        everywhere = all(not window.quiet(held.until.astimezone(z).time()) for z in zones)
        assert everywhere or not window.quiet(held.until.astimezone(zones[0]).time()), (at, held)


@pytest.mark.parametrize(("to", "country"), [("+18765550123", "JM"), ("+12042345678", "CA"), ("+77012345678", "KZ"),
                                             ("+79123456789", "RU"), ("+16715550123", "GU"), ("+80012345678", None)])
def test_shared_calling_codes_take_the_numbers_own_country_and_zones(to: str, country: str | None) -> None:
    from aculab_messaging.logic.pumping_guard import country_of

    found = country_of(to)
    if country is None:  # a non-geographic number: no quiet hours at all
        assert zones_of(found) == () and deferral(QuietWindow.parse("00:00-23:59"), found, utc(2026, 11, 25)) is None
    else:
        assert found == country and zones_of(found)


def test_validity_ending_exactly_at_the_windows_end_expires_at_once_and_is_never_sent() -> None:
    w = World(quiet_hours=QuietWindow.parse("21:00-08:00"))
    w.clock.now = utc(2026, 11, 25, 22, 0)
    w.put(w.send("night", campaign=None, valid_until=utc(2026, 11, 26, 8, 0).isoformat()))
    w.drain()
    assert w.status("night") == "expired" and w.aculab.sent == []
    expired = [e for e in w.publisher.published if e.detail_type == ev.MESSAGE_EXPIRED]
    assert len(expired) == 1 and "quiet" in expired[0].detail["reason"]


def test_a_due_request_fired_late_into_the_window_is_held_to_the_morning() -> None:
    # scheduled for 20:50 London (open); its schedule fires at 21:05 (inside): its quiet hours hold it again
    w = World(quiet_hours=QuietWindow.parse("21:00-08:00"))
    w.put(w.send("evening", campaign=None, send_at=utc(2026, 11, 25, 20, 50).isoformat()))
    w.drain()
    assert w.status("evening") == "scheduled"
    w.clock.now = utc(2026, 11, 25, 21, 5)
    w.fire()
    w.drain()
    assert w.status("evening") == "scheduled" and w.aculab.sent == []
    ((at, _body),) = w.scheduler.schedules.values()
    assert at == utc(2026, 11, 26, 8, 0)
    w.clock.now = at
    w.fire()
    w.drain()
    assert w.status("evening") == "queued" and len(w.aculab.sent) == 1


def test_a_send_at_far_ahead_in_the_night_is_held_to_the_morning_of_that_day() -> None:
    w = World(quiet_hours=QuietWindow.parse("21:00-08:00"))
    w.put(w.send("next-summer", campaign=None, send_at=utc(2027, 7, 1, 23, 0).isoformat()))
    w.drain()
    ((at, body),) = w.scheduler.schedules.values()
    assert at == utc(2027, 7, 2, 7, 0)  # 08:00 BST
    assert parse_queue_message(body).action == "due"  # type: ignore[union-attr]
