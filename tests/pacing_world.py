"""The send path on the fakes with a shared pace and a controllable clock that each read, slot write and
sleep moves by what the test says it takes: where a paced send's moments (its departures) are tested."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy
from aculab_messaging.logic.sending import SendService
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_policy
from tests.timing_fakes import InMemoryPace

A, TO = "447700900001", "447700900123"


class PacedWorld:
    """The send service on the fakes with a shared pace, whose opt-out reads, campaign-mark reads and slot
    writes take the given times in turn (then none); ``departures``: each msg_send's moment, in seconds
    from the start. ``on_opt_out_read``: called after each opt-out read (its index), e.g. to store a STOP."""

    def __init__(self, pace: PacePolicy, *, opt_out: Iterable[float] = (), mark: Iterable[float] = (),
                 writes: Iterable[float] = (), on_opt_out_read: Callable[[int], None] | None = None,
                 on_sleep: Callable[[], None] | None = None) -> None:
        self.store, self.aculab, self.clock, self.metrics = InMemoryStore(), FakeAculab(), Clock(), RecordingMetrics()
        self.start, self.departures = self.clock(), list[float]()
        self.queue = InMemorySendQueue(self.clock)
        self.pace = InMemoryPace()
        opt_out_delays, mark_delays, write_delays = iter(opt_out), iter(mark), iter(writes)
        reads = itertools.count()
        is_blocked, cancelled_at = self.store.blocked.is_blocked, self.store.campaigns.campaign_cancelled_at
        take, send = self.pace.take_pace_slot, self.aculab.msg_send

        def slow_opt_out(from_: str, to: str) -> bool:
            found = is_blocked(from_, to)  # read at once, its answer comes back later
            self.clock.advance(seconds=next(opt_out_delays, 0.0))
            if on_opt_out_read is not None:
                on_opt_out_read(next(reads))
            return found

        def slow_mark(campaign_id: str) -> str | None:
            self.clock.advance(seconds=next(mark_delays, 0.0))
            return cancelled_at(campaign_id)

        def slow_write(*args: Any, **kwargs: Any) -> dict[str, Any] | None:
            found = take(*args, **kwargs)
            self.clock.advance(seconds=next(write_delays, 0.0))
            return found

        self.store.blocked.is_blocked = slow_opt_out  # type: ignore[method-assign]
        self.store.campaigns.campaign_cancelled_at = slow_mark  # type: ignore[method-assign]
        self.pace.take_pace_slot = slow_write  # type: ignore[method-assign]
        def departing(params: Any) -> list[str]:
            self.departures.append(self.at())
            return send(params)

        self.aculab.msg_send = departing  # type: ignore[method-assign]
        self.pacer = Pacer(self.pace, pace)

        def sleep(seconds: float) -> None:
            if on_sleep is not None:
                on_sleep()
            self.clock.advance(seconds=seconds)

        self.service = SendService(store=self.store, publisher=RecordingPublisher(), aculab=self.aculab,
                                   queue=self.queue, check_credentials=lambda: None,
                                   webhook_auth=lambda: ("u", "p"), policy=send_policy(),
                                   clock=self.clock, metrics=self.metrics, sleep=sleep,
                                   pacer=self.pacer)

    def at(self) -> float:
        return round((self.clock() - self.start).total_seconds(), 6)

    def moment(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def send(self, message_id: str, **more: Any) -> None:
        """One send as its own batch (each reads its own opt-out before its claim)."""
        body = {"message_id": message_id, "to": TO, "from": A, "content": "hi", **more}
        self.service.process_batch([{"messageId": f"s-{message_id}", "receiptHandle": "r", "attributes": {
            "ApproximateReceiveCount": "1", "SentTimestamp": str(int(self.clock().timestamp() * 1000))},
            "body": json.dumps(body)}])

    def drain(self, rounds: int) -> None:
        """What the queue holds, round after round, the clock moving on to the next visible record."""
        self.queue.put(json.dumps({"message_id": "m-late", "to": TO, "from": A, "content": "hi"}))
        for _ in range(rounds):
            visible = self.queue.next_visible()
            if visible is None:
                return
            if visible > self.clock():
                self.clock.now = visible
            records = self.queue.receive()
            outcomes = self.service.process_batch(records)
            self.queue.settle(records, {sid for sid, o in outcomes.items() if o.retry})

    def status(self, message_id: str) -> str | None:
        found = self.store.messages.get_message(message_id)
        return found.status if found else None


def busiest_second(departures: list[float]) -> int:
    """The most departures in any one-second window [d, d + 1) starting at a departure."""
    return max(sum(1 for e in departures if d <= e < d + 1) for d in departures)
