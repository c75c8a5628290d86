"""Adversary tests of a paced send's departure (logic/departure.py, SendFlow._last_look, Pacer.look_ahead /
looked / in_time): a send that should not leave, a second holding more than the rate, a send never leaving.
All on the controllable clock: each read, slot write and sleep moves it by what the test says it takes."""

from __future__ import annotations

import itertools

from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy, SendPolicy
from tests.pacing_world import TO, A, PacedWorld, busiest_second
from tests.timing_fakes import InMemoryPace

# -- (b) more than the rate in one second --------------------------------------------------------------------


def test_a_campaign_send_whose_slot_passed_during_its_write_does_not_leave_late_by_its_mark_read() -> None:
    # given 5 a second (each interval 0.21 s), a slot write that comes back 25 ms after it was sent (5 ms past
    # its slot, within late_seconds), and a campaign-mark read that takes 100 ms (moto's median read)
    world = PacedWorld(PacePolicy(max_per_second=5), writes=[0.025], mark=[0.0, 0.1])
    # when a campaign's send goes (no wait: its look, only the campaign's mark, read right after its slot was
    # taken, comes back 105 ms past the slot), then five plain sends
    world.send("m0", campaign_id="spring")
    for i in range(1, 6):
        world.send(f"m{i}")
    # then the campaign's send did not leave late by its mark read (before the fix: 0.125 s, and six sends in
    # [0.125, 1.125)): it gave the slot up, looked first and left at the next (0.23 s); each plain send at its slot
    assert world.departures == [0.23, 0.44, 0.65, 0.86, 1.07, 1.28]
    assert world.metrics.counts["PaceSlotMissed"] == 1
    assert busiest_second(world.departures) <= 5


def test_without_a_margin_a_send_kept_a_few_milliseconds_late_does_not_put_six_into_one_second_at_five() -> None:
    # given 5 a second without a margin (slots exactly 0.2 s apart) and looks (opt-out re-reads) of 5 ms:
    # each send reads its opt-out before its claim (no time), and again in its look (5 ms)
    world = PacedWorld(PacePolicy(max_per_second=5, margin=0, lead_seconds=0),
                       opt_out=[0.0, 0.0, 0.005] + [0.0, 0.005] * 6)
    # when seven sends go one after another (the second's look, taken at its slot, runs 5 ms past it: without
    # a margin the slot is given up; looking first, it takes the next)
    for i in range(7):
        world.send(f"m{i}")
    assert world.departures == [0.0, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4]  # before the fix: 0.205 kept, 6 in a second
    # then no one second holds more than five
    assert busiest_second(world.departures) <= 5 and world.metrics.counts["PaceSlotMissed"] == 1


def test_with_the_margin_a_look_running_late_within_it_never_puts_more_than_the_rate_into_a_second() -> None:
    # given 5 a second with the 5% margin, and looks (opt-out re-reads after the wait) each longer than those
    # before it, so that the look-ahead learned is always too short and the send leaves late (within 40 ms)
    looks = [0.001, 0.005, 0.02, 0.039, 0.0, 0.0, 0.03, 0.039, 0.045, 0.05, 0.06, 0.075, 0.09] + [0.0] * 16
    reads = [0.0, *itertools.chain.from_iterable((0.0, look) for look in looks)]  # the first send does not wait
    world = PacedWorld(PacePolicy(max_per_second=5, lead_seconds=0), opt_out=reads)
    # when thirty sends go one after another
    for i in range(30):
        world.send(f"m{i}")
    # then some left late (within 40 ms), none missed its slot, and no second holds more than five
    slots = [round(0.21 * k, 6) for k in range(30)]
    late = [round(d - s, 6) for d, s in zip(world.departures, slots, strict=True)]
    assert len(world.aculab.sent) == 30 and world.metrics.counts.get("PaceSlotMissed", 0) == 0
    assert max(late) > 0 and max(late) <= 0.04
    assert busiest_second(world.departures) <= 5


def test_a_look_running_past_the_margin_is_a_gap_and_the_send_looking_first_leaves_at_the_next_slot() -> None:
    # given 5 a second, a first send gone, and a second whose looks (opt-out re-reads) take 150, 300 and 500 ms
    # (each longer than the look-ahead the one before taught: 1.25 x)
    world = PacedWorld(PacePolicy(max_per_second=5), opt_out=[0.0, 0.0, 0.0, 0.15, 0.3, 0.5])
    world.send("m0")
    # when the second send goes
    world.send("m1")
    # then it missed its slot (0.23 s) by its 150 ms look, looked first (300 ms) and left at the slot it then
    # took (0.7 s: a gap, never a crowd); no third try, no trip back to the queue
    assert world.departures == [0.02, 0.7] and world.metrics.counts["PaceSlotMissed"] == 1
    assert world.status("m1") == "queued" and world.queue.later_calls == []


# -- (a) a send that should not leave ------------------------------------------------------------------------


def test_a_send_whose_first_slot_was_missed_is_not_sent_after_its_valid_until() -> None:
    # given 5 a second; a first send gone; a second valid for one second, whose look after its wait (its
    # opt-out re-read) takes 2 s (a read retried), and whose second slot write comes back 25 ms after it was
    # sent (5 ms past the slot, within late_seconds)
    world = PacedWorld(PacePolicy(max_per_second=5), opt_out=[0.0, 0.0, 0.0, 2.0], writes=[0.0, 0.0, 0.025])
    world.send("m0")
    # when the second send goes: its look runs 2 s, past its first slot (0.23 s) and past its validity
    world.send("m1", valid_until=world.moment(1.0).isoformat())
    assert world.metrics.counts["PaceSlotMissed"] == 0  # its validity is judged when the look is back: no 2nd slot
    # then it was not handed to Aculab 1.2 s after its validity ended: it expired
    assert world.departures == [0.02], world.departures  # before the fix: [0.02, 2.255]
    assert world.status("m1") == "expired"


def test_a_stop_stored_two_seconds_before_a_send_leaves_after_a_missed_slot_stops_it() -> None:
    # given 5 a second; a first send gone; a second whose look after its wait reads its opt-out (not blocked),
    # then takes 2 s to come back (a read retried), a STOP stored just after the read; its second slot write
    # comes back 5 ms past the slot
    def stop_after_the_look(read: int) -> None:
        if read == 3:  # the second send's look: its read found no STOP; one is stored as the answer comes back
            world.store.blocked.set_blocked("+" + A, "+" + TO, True, "inbound", "2026-11-25T09:00:01Z")

    world = PacedWorld(PacePolicy(max_per_second=5), opt_out=[0.0, 0.0, 0.0, 2.0], writes=[0.0, 0.0, 0.025],
                   on_opt_out_read=stop_after_the_look)
    world.send("m0")
    # when the second send goes (its first slot missed, the second taken at once)
    world.send("m1")
    # then, the STOP stored more than a second (the look-ahead's cap) before it would leave, it is blocked
    assert world.departures == [0.02], world.departures  # before the fix: [0.02, 2.255], the STOP stored at 2.23
    assert world.status("m1") == "blocked"


def test_a_campaign_cancelled_while_a_send_waited_for_its_slot_withdraws_it() -> None:
    # given 5 a second and a first send gone; a campaign's send whose slot is 0.21 s ahead, its campaign
    # cancelled while it waits (after its claim, before its look)
    def cancel() -> None:
        world.store.campaigns.cancel_campaign("spring", world.clock(), "p")

    world = PacedWorld(PacePolicy(max_per_second=5, lead_seconds=0), on_sleep=cancel)
    world.send("m0")
    # when the campaign's send goes
    world.send("m1", campaign_id="spring")
    # then it was not sent: withdrawn
    assert world.departures == [0.0] and world.status("m1") == "cancelled"


# -- (d) a send that never leaves ----------------------------------------------------------------------------


def test_a_send_whose_looks_always_take_a_little_over_a_second_still_leaves() -> None:
    # given 5 a second, and opt-out reads that take 1.1 s each (a slow table: the README's bench saw 613 ms)
    world = PacedWorld(PacePolicy(max_per_second=5), opt_out=[1.1] * 1000)
    # when a send goes round the queue for 40 rounds (more than a minute of the clock)
    world.drain(40)
    # then it left: its first look ran past its slot, the next looked first and then took its slot (before
    # the fix: three misses a round, a fresh copy a second later, for ever)
    assert world.metrics.counts["PaceSlotMissed"] >= 1
    assert world.departures, (world.at(), world.metrics.counts["PaceSlotMissed"], world.queue.later_calls[:3])


def test_a_send_on_a_busy_stack_whose_looks_are_slow_ends_within_its_invocation() -> None:
    # given 5 a second, the stack busy (other containers keep its slots taken 4.6 s ahead), and looks
    # that take 6.5 s (an opt-out read that timed out at 5 s, read_timeout, and was retried)
    others = Pacer(InMemoryPace(), PacePolicy(max_per_second=5, horizon_seconds=4.6))

    def fill_the_horizon(_read: int = 0) -> None:
        others.store = world.pace
        while others.reserve("447700900999", world.clock) is not None:
            pass

    world = PacedWorld(PacePolicy(max_per_second=5), opt_out=[0.0, 6.5, 6.5, 6.5], on_opt_out_read=fill_the_horizon)
    fill_the_horizon()
    # when a send goes
    world.send("m1")
    # then it missed its slot, and with no time left in its invocation for another wait, a look and msg_send,
    # it went back on the queue (its claim released) well within its invocation (before the fix: three tries,
    # done at 31.42 s)
    assert world.metrics.counts["PaceSlotMissed"] == 1 and world.queue.later_calls == [1]
    assert world.at() <= SendPolicy(webhook_url="https://h.example/n").invocation_seconds, world.at()


def test_a_campaign_send_that_waits_for_its_slot_reads_its_campaigns_mark_once_on_its_way_out() -> None:
    # given 5 a second, a first send gone, and the campaign's mark reads counted
    world = PacedWorld(PacePolicy(max_per_second=5, lead_seconds=0))
    reads: list[str] = []
    cancelled_at = world.store.campaigns.campaign_cancelled_at
    world.store.campaigns.campaign_cancelled_at = lambda c: reads.append(c) or cancelled_at(c)  # type: ignore[method-assign]
    world.send("m0")
    # when a campaign's send goes, waiting 0.21 s for its slot
    world.send("m1", campaign_id="spring")
    # then its mark was read twice: at first sight (before its claim) and in its last look before the slot
    assert world.departures == [0.0, 0.21] and reads == ["spring", "spring"]

