"""The shared pace on an in-memory PACE item and a controllable clock."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import timedelta

from aculab_messaging.aculab.errors import AculabThrottledError
from aculab_messaging.contracts import events as ev
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy, SendPolicy
from aculab_messaging.logic.sending import SendService
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.pacing_world import PacedWorld
from tests.queue_fakes import InMemorySendQueue
from tests.timing_fakes import InMemoryPace

A, B = "447700900001", "447700900002"


def test_slots_are_evenly_spaced_and_none_beyond_the_horizon() -> None:
    # given 10 a second for the stack, and a 3-second horizon
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(max_per_second=10, horizon_seconds=3, margin=0, lead_seconds=0))
    # when 40 sends ask at the same moment
    slots = [pacer.reserve(A if i % 2 else B, clock) for i in range(40)]
    # then the first 31 go 0.1 s apart from now (0 to 3.0 s), the rest wait in the queue
    taken = [s for s in slots if s is not None]
    assert len(taken) == 31 and slots[31:] == [None] * 9
    gaps = {round((b - a).total_seconds(), 6) for a, b in itertools.pairwise(taken)}
    assert gaps == {0.1} and taken[0] == clock()


def test_a_number_keeps_its_own_pace_within_the_stacks() -> None:
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(max_per_second=10, max_per_number=2, margin=0, lead_seconds=0))
    a = [pacer.reserve(A, clock) for _ in range(3)]
    b = pacer.reserve(B, clock)
    assert [(s - clock()).total_seconds() for s in a if s] == [0.0, 0.5, 1.0]
    assert b is not None and (b - clock()).total_seconds() == 1.1  # after the stack's last slot, not A's


def test_a_429_halves_the_pace_and_it_climbs_back() -> None:
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(max_per_number=8, increase_per_second=1))
    assert pacer.throttled(A, clock()) == 4.0 and pacer.throttled(A, clock()) == 2.0
    assert pacer.number_rate(pace.pace_state(A), int(clock().timestamp() * 1e6)) == 2.0
    clock.advance(seconds=3)
    assert pacer.number_rate(pace.pace_state(A), int(clock().timestamp() * 1e6)) == 5.0
    clock.advance(seconds=10)
    assert pacer.number_rate(pace.pace_state(A), int(clock().timestamp() * 1e6)) == 8.0  # its limit again
    # a number with no limit is paced only after a 429, until it climbs back
    free = Pacer(pace, PacePolicy(unthrottled_rate=50))
    assert free.number_rate(pace.pace_state(B), 0) == 0
    free.throttled(B, clock())
    assert free.number_rate(pace.pace_state(B), int(clock().timestamp() * 1e6)) == 25.0


def test_each_interval_keeps_its_margin() -> None:
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(max_per_second=10))  # the default 5%
    first, second = pacer.reserve(A, clock), pacer.reserve(A, clock)
    assert first is not None and second is not None and (second - first).total_seconds() == 0.105


def test_concurrent_reservations_never_share_a_slot() -> None:
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(max_per_second=100, horizon_seconds=10))
    lock, slots = threading.Lock(), []

    def take() -> None:
        for _ in range(20):
            slot = pacer.reserve(A, clock)
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(slots)) == 100 and None not in slots


def test_the_send_service_waits_for_its_slot_and_backs_a_number_off_on_429() -> None:
    # given a stack paced at 5 a second, its clock moved by the waits
    store, publisher, aculab, clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock()
    pace = InMemoryPace()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds=seconds)

    service = SendService(store=store, publisher=publisher, aculab=aculab, queue=InMemorySendQueue(clock),
                          check_credentials=lambda: None, webhook_auth=lambda: ("u", "p"),
                          policy=SendPolicy(webhook_url="https://h.example/n", concurrency=1), clock=clock,
                          metrics=RecordingMetrics(), sleep=sleep,
                          pacer=Pacer(pace, PacePolicy(max_per_second=5, margin=0, lead_seconds=0)))
    records = [{"messageId": f"s{i}", "receiptHandle": "r", "body": json.dumps(
        {"message_id": f"m{i}", "to": "447700900123", "from": A, "content": "hi"}),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(clock().timestamp() * 1000))}}
        for i in range(4)]
    # when four sends go one after another
    service.process_batch(records)
    # then the first went at once, and each after it waited for its slot, 0.2 s apart
    assert [round(w, 6) for w in waits] == [0.2, 0.2, 0.2] and len(aculab.sent) == 4
    # and Aculab's 429 lowers that number's pace
    aculab.error = AculabThrottledError(429, "too many requests")
    service.process_batch([{**records[0], "messageId": "s9", "body": json.dumps(
        {"message_id": "m9", "to": "447700900123", "from": A, "content": "hi"})}])
    [(pk, rate)] = [(pk, item["r"]) for pk, item in pace.items.items() if "r" in item]
    assert pk.endswith(A) and rate["milli"] == 25000  # no number limit: from the unthrottled 50 a second, halved
    assert publisher.types().count(ev.MESSAGE_SUBMITTED) == 4


def test_a_send_that_need_not_wait_for_a_slot_reads_its_opt_out_once() -> None:
    # given a pacer with no limit (it grants "now"), and a store that counts the opt-out reads
    store, publisher, aculab, clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock()
    reads: list[str] = []
    is_blocked, blocked_among = store.blocked.is_blocked, store.blocked.blocked_among
    store.blocked.is_blocked = lambda f, t: reads.append("one") or is_blocked(f, t)  # type: ignore[method-assign]
    store.blocked.blocked_among = lambda pairs: reads.append("batch") or blocked_among(pairs)  # type: ignore[method-assign]
    service = SendService(store=store, publisher=publisher, aculab=aculab, queue=InMemorySendQueue(clock),
                          check_credentials=lambda: None, webhook_auth=lambda: ("u", "p"),
                          policy=SendPolicy(webhook_url="https://h.example/n", concurrency=1), clock=clock,
                          metrics=RecordingMetrics(), sleep=lambda s: clock.advance(seconds=s),
                          pacer=Pacer(InMemoryPace(), PacePolicy()))
    # when one send goes
    service.process_batch([{"messageId": "s1", "receiptHandle": "r", "attributes": {
        "ApproximateReceiveCount": "1", "SentTimestamp": str(int(clock().timestamp() * 1000))},
        "body": json.dumps({"message_id": "m1", "to": "447700900123", "from": A, "content": "hi"})}])
    # then its opt-out was read once: not again after its slot, as nothing waited between
    assert len(aculab.sent) == 1 and len(reads) == 1


def test_validity_that_runs_out_while_it_waits_for_its_slot_expires_it() -> None:
    # given a stack paced at 1 a second, and a code valid for 1.5 seconds behind a second one
    store, publisher, aculab, clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock()
    service = SendService(store=store, publisher=publisher, aculab=aculab, queue=InMemorySendQueue(clock),
                          check_credentials=lambda: None, webhook_auth=lambda: ("u", "p"),
                          policy=SendPolicy(webhook_url="https://h.example/n", concurrency=1), clock=clock,
                          metrics=RecordingMetrics(), sleep=lambda s: clock.advance(seconds=s),
                          pacer=Pacer(InMemoryPace(), PacePolicy(max_per_second=1, margin=0, lead_seconds=0)))
    sent_at = str(int(clock().timestamp() * 1000))

    def record(i: int, **fields: object) -> dict[str, object]:
        return {"messageId": f"s{i}", "receiptHandle": "r", "attributes": {"SentTimestamp": sent_at},
                "body": json.dumps({"message_id": f"m{i}", "to": "447700900123", "from": A, "content": "hi",
                                    **fields})}

    service.process_batch([record(1), record(2, valid_for_seconds=1), record(3, valid_for_seconds=5)])
    # then the second's slot (1 s) came after its validity: never sent; the third went at 2 s
    assert [p.content for p in aculab.sent] == ["hi", "hi"] and len(aculab.sent) == 2
    assert publisher.types() == [ev.MESSAGE_SUBMITTED, ev.MESSAGE_EXPIRED, ev.MESSAGE_SUBMITTED]
    assert store.messages.get_message("m2").status == "expired"  # type: ignore[union-attr]


def test_a_slot_write_costs_the_same_at_ten_thousand_numbers_as_at_one() -> None:
    # given both limits, so that each send moves its number's slot and the stack's
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(max_per_second=100_000, max_per_number=1, horizon_seconds=60, lead_seconds=0))
    pacer.reserve("447700000000", clock)
    at_one = list(pace.written)
    # when ten thousand numbers have sent
    for i in range(1, 10_000):
        assert pacer.reserve(f"44770{i:07d}", clock) is not None
    pace.written.clear()
    pacer.reserve("447710000000", clock)
    # then the next send's writes leave items of the same size as the first's: no item holds every number
    assert pace.written == at_one and len(at_one) == 2 and max(at_one) < 100
    assert len(pacer._numbers) == PacePolicy().numbers_kept  # a container keeps a bounded few


def test_a_numbers_slot_taken_before_the_stacks_write_failed_is_still_used() -> None:
    # given container 2 whose view of the stack's slot went stale while container 1 sent
    clock, pace = Clock(), InMemoryPace()
    policy = PacePolicy(max_per_second=10, max_per_number=1, margin=0, lead_seconds=0)
    one, two = Pacer(pace, policy), Pacer(pace, policy)
    assert two.reserve(B, clock) == clock()
    one.reserve(A, clock)
    one.reserve("447700900003", clock)
    clock.advance(seconds=1)
    writes = pace.writes
    # when container 2 sends from B again: B's slot is taken, the stack's write is refused (stale)
    slot = two.reserve(B, clock)
    # then it goes now, on the B slot it took, not one more interval later
    assert slot == clock() and pace.writes == writes + 3  # B's slot, then the stack's twice
    assert pace.pace_state(B)["n"] == int((clock().timestamp() + 1) * 1e6)


def test_without_limits_only_a_throttled_number_is_paced_and_others_read_no_number_item() -> None:
    clock, pace = Clock(), InMemoryPace()
    pacer = Pacer(pace, PacePolicy(unthrottled_rate=4, increase_per_second=1, margin=0, lead_seconds=0))
    assert [pacer.reserve(A, clock) for _ in range(3)] == [clock()] * 3
    assert pace.reads == [None] and pace.writes == 0  # the stack's item once a second, nothing written
    # when another container hears Aculab's 429 for B
    Pacer(pace, PacePolicy(unthrottled_rate=4)).throttled(B, clock())
    clock.advance(seconds=1)
    first, second = pacer.reserve(B, clock), pacer.reserve(B, clock)
    # then B is paced at its climbing rate (2 + 1 a second = 3), A still is not
    assert first == clock() and second is not None and round((second - first).total_seconds(), 6) == round(1 / 3, 6)
    assert pacer.reserve(A, clock) == clock()
    # and once B has climbed back (4 seconds at most) nobody reads a number's item
    clock.advance(seconds=5)
    reads = len(pace.reads)
    assert pacer.reserve(B, clock) == clock() and pace.reads[reads:] == [None]


def test_a_send_takes_its_last_look_before_its_slot_and_leaves_at_the_slot_itself() -> None:
    # given a stack paced at 5 a second (each interval 5% longer: 0.21 s), opt-out reads that each take 30 ms
    world = PacedWorld(PacePolicy(max_per_second=5, lead_seconds=0), opt_out=[0.03] * 10)
    # when four sends go one after another (each reads its opt-out before its claim, and again after waiting)
    for i in range(4):
        world.send(f"m{i}")
    # then the first left at once; the second looked at its slot (0.24 s) and left 30 ms late (within the
    # margin); the pacer learned how long a look takes, so the third and fourth looked ahead and left at
    # their slots themselves (0.45 s, 0.66 s), not a look's time after them
    assert world.departures == [0.03, 0.27, 0.45, 0.66]
    assert len(world.aculab.sent) == 4 and world.metrics.counts["PaceSlotMissed"] == 0


def test_a_send_whose_last_look_runs_past_its_slots_margin_takes_another_slot_a_gap_never_a_crowd() -> None:
    # given 5 a second, and opt-out reads that take no time but one: the second send's look after its wait, 100 ms
    world = PacedWorld(PacePolicy(max_per_second=5, lead_seconds=0), opt_out=[0.0, 0.0, 0.1])
    # when three sends go one after another
    for i in range(3):
        world.send(f"m{i}")
    # then the second, 100 ms past its slot (0.21 s) after its look, did not go then (the third's slot was
    # 110 ms later: a crowd), but at the next slot (0.42 s); the third at the one after (0.63 s)
    assert world.departures == [0.0, 0.42, 0.63]
    assert min(b - a for a, b in itertools.pairwise(world.departures)) >= 0.21
    assert len(world.aculab.sent) == 3 and world.metrics.counts["PaceSlotMissed"] == 1


def test_a_look_that_took_seconds_moves_the_next_looks_at_most_a_second_ahead_and_less_each_time() -> None:
    # given a pacer whose last look took 3 s (a throttled read retried), then looks of 10 ms
    pacer = Pacer(InMemoryPace(), PacePolicy(max_per_second=5))
    pacer.looked(3.0)
    # then the next send looks at most a second before its slot (a STOP after that is not seen by it) ...
    ahead = [pacer.look_ahead()]
    for _ in range(30):
        pacer.looked(0.01)
        ahead.append(pacer.look_ahead())
    # ... and each quick look brings it closer to the slot, down to what the looks take
    assert ahead[0] == 1.0 and all(b <= a for a, b in itertools.pairwise(ahead)) and ahead[-1] < 0.2


def test_without_a_margin_a_send_keeps_its_slot_only_within_a_millisecond() -> None:
    # given a pacer without a margin (its intervals exactly 1/rate: no room for a late send)
    pacer = Pacer(InMemoryPace(), PacePolicy(max_per_second=5, margin=0))
    slot = Clock()()
    # then a send waking half a millisecond after its slot (no real clock wakes exactly) keeps it; 3 ms does not
    assert pacer.in_time(slot, slot + timedelta(microseconds=500))
    assert not pacer.in_time(slot, slot + timedelta(milliseconds=3))


def test_a_secret_read_before_msg_send_never_makes_a_send_leave_late_into_the_next_ones_second() -> None:
    # given 5 a second, and the webhook's credentials (msg_send's status page password) read once in 150 ms (its
    # cache refreshed from Secrets Manager), by the second send
    world = PacedWorld(PacePolicy(max_per_second=5, lead_seconds=0))
    reads = iter([0.0, 0.15])

    def credentials() -> tuple[str, str]:
        world.clock.advance(seconds=next(reads, 0.0))
        return "aculab", "pw"

    world.service.webhook_auth = credentials
    # when three sends go one after another
    for i in range(3):
        world.send(f"m{i}")
    # then each left at its slot: the read came before the slot, not between it and msg_send (where it would
    # have sent the second at 0.36 s, 60 ms before the third)
    assert world.departures == [0.0, 0.21, 0.42]
    assert len(world.aculab.sent) == 3


def test_a_send_whose_credentials_cannot_be_read_goes_back_claim_released_without_taking_a_slot() -> None:
    # given 5 a second, and the webhook's credentials unreadable for the first send (Secrets Manager failing)
    world = PacedWorld(PacePolicy(max_per_second=5, lead_seconds=0))
    answers = iter([RuntimeError("secret unreadable")])

    def credentials() -> tuple[str, str]:
        failure = next(answers, None)
        if failure is not None:
            raise failure
        return "aculab", "pw"

    world.service.webhook_auth = credentials
    # when two sends go
    world.send("m0")
    world.send("m1")
    # then the first was not sent, its claim released for a retry; the second took the first slot (none wasted)
    assert world.status("m0") == "retryable" and [p.content for p in world.aculab.sent] == ["hi"]
    assert world.departures == [0.0]
