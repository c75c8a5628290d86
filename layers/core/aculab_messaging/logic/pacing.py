"""How fast we hand messages to Aculab: at most ``max_per_second`` for the
whole stack and ``max_per_number`` for each sending number, across every
concurrent send invocation; a campaign's send that asks for it, at most its
``campaign_max_per_second`` too (a third slot, on the campaign's own item).

Each send reserves a slot with conditional writes (dal/pace.py): the next
free slot of its number (on the number's own item), then of the stack (one
small shared item), each moved on by one interval (1 / rate) if still what the
send saw, so sends are evenly spaced, never in
bursts (GCRA, no burst allowance): no one-second window holds more than the
rate. Each interval keeps a margin (5%) for what the request's way to Aculab
adds or takes (a send whose slot came 20 ms late must not crowd the next
second at Aculab's end). A slot further ahead than ``horizon_seconds`` is not taken: the record
goes back to the queue for a few seconds and keeps no slot from anyone. The
caller waits for its slot (within the horizon): the pace is the shared
schedule's, not a sleep of one invocation's. A slot is worked out a little
ahead (``lead_seconds``) and dropped if the write that took it came back
after it had passed (``late_seconds``): a dropped slot is a gap, never a
crowd. A number's slot taken when the stack's write then failed stays this
send's to use: its next try starts from it.

An Aculab 429 halves that number's rate (multiplicative decrease); it climbs
back by ``increase_per_second`` each second (additive increase) to its limit,
or, for a number without one, until it is unlimited again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aculab_messaging.logic.policy import PacePolicy

if TYPE_CHECKING:
    from aculab_messaging.logic.store_ports import PaceStore

_US = 1_000_000


class PaceContended(RuntimeError):
    """Too many writers at once: the record goes back to the queue for a moment."""


@dataclass
class Pacer:
    store: PaceStore
    policy: PacePolicy
    # without limits, only a throttled number is paced: the stack's state is read at most once a second
    _seen: tuple[float, dict[str, Any]] | None = field(default=None, repr=False)
    # one reservation at a time in a container: its threads queue here, not in conditional-write retries
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # how long a slot write took lately (µs): slots are worked out that far ahead
    _write_us: float = field(default=0.0, repr=False)
    # the stack's state (g, t) as this container last saw or wrote it: the next reservation starts from
    # it (a stale one costs nothing more, its refused write answers with the state as it is)
    _last: dict[str, Any] | None = field(default=None, repr=False)
    # each number's state (n, r, and the stack's t when it was read) as this container last saw it
    _numbers: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict, repr=False)

    # how long a send's last look before it leaves (campaign mark, opt-out) took: the longest lately (µs)
    _look_us: float = field(default=0.0, repr=False)

    # each campaign's next slot as this container last saw or wrote it (a stale one: its write is refused)
    _campaigns: OrderedDict[str, int | None] = field(default_factory=OrderedDict, repr=False)
    # the end of each campaign's line of sends turned away, as this container last saw or wrote it
    _lines: dict[str, int | None] = field(default_factory=dict, repr=False)

    def reserve(self, number: str, now: Callable[[], datetime],
                campaign: tuple[str, float] | None = None) -> datetime | None:
        """The moment this send may go; None when that is beyond the horizon. ``campaign``: its id and
        its sends a second, a slot of its own beside the stack's and the number's."""
        with self._lock:
            return self._reserve(number, now, campaign)

    def _reserve(self, number: str, now: Callable[[], datetime],
                 campaign: tuple[str, float] | None) -> datetime | None:
        if campaign is None and not (self.policy.max_per_second or self.policy.max_per_number):
            at = now().timestamp()
            if self._seen is None or at - self._seen[0] >= 1.0:
                self._seen = (at, self.store.pace_state())
            micros = round(at * _US)
            if not self._may_be_throttled(self._seen[1], micros) or not self.number_rate(
                    self._state(number, self._seen[1], micros), micros):
                return _moment(micros)  # nothing limits it
        state = self._state(number, self._last, _micros(now()))
        campaign_id = campaign[0] if campaign else None
        interval_c = _interval(campaign[1], self.policy.margin) if campaign else None
        seen_c = self._campaigns.get(campaign_id) if campaign_id else None
        held: tuple[int, int] | None = None  # a slot of this number's that this reservation took: (start, end)
        for _ in range(self.policy.attempts):
            at = _micros(now())
            interval_g = _interval(self.policy.max_per_second, self.policy.margin)
            interval_n = _interval(self.number_rate(state, at), self.policy.margin)
            if interval_g is None and interval_n is None and interval_c is None:
                return _moment(at)  # nothing limits it
            seen_g, seen_n = _int(state.get("g")), _int(state.get("n"))
            # the number's slot this reservation took (the stack's write then failed) is its to use
            from_n = held[0] if held is not None and seen_n == held[1] else seen_n
            earliest = at + round(max(self.policy.lead_seconds * _US, 1.5 * self._write_us))
            slot = max(earliest, (seen_g or 0) if interval_g else 0, (from_n or 0) if interval_n else 0,
                       (seen_c or 0) if interval_c else 0)
            if slot - at > self.policy.horizon_seconds * _US:
                return None
            new_g = slot + interval_g if interval_g else None
            new_n = slot + interval_n if interval_n else None
            new_c = slot + interval_c if interval_c else None
            latest = self.store.take_pace_slot(number, seen_g, new_g, seen_n, new_n, campaign_id, seen_c, new_c)
            if campaign_id is not None:  # the campaign's slot as this write left it: moved on, or as it is
                seen_c = _int(latest["c"]) if latest is not None and "c" in latest else new_c
                self._keep_campaign(campaign_id, seen_c)
            done = _micros(now())
            self._write_us = 0.7 * self._write_us + 0.3 * (done - at)
            if latest is None:
                state = {**state, **({"g": new_g} if new_g is not None else {}),
                         **({"n": new_n} if new_n is not None else {})}
                self._keep(number, state)
                if done <= slot + round(self.policy.late_seconds * _US):
                    return _moment(slot)
                continue  # taken too late (the write waited): the slot goes unused, a gap, never a crowd
            if new_n is not None and latest.get("n") == new_n:
                held = (slot, new_n)
            state = {**state, **latest}
            self._keep(number, state)
        raise PaceContended(f"no slot after {self.policy.attempts} attempts")

    def look_ahead(self) -> float:
        """Seconds before its slot a send takes its last look, so that it leaves at the slot itself."""
        return min(1.25 * self._look_us / _US, self.policy.look_ahead_max_seconds)

    def looked(self, seconds: float) -> None:
        self._look_us = max(seconds * _US, 0.9 * self._look_us)

    def in_time(self, slot: datetime, now: datetime) -> bool:
        """Whether a send leaving now keeps its slot: within most of the margin a second of slots keeps
        (each interval ``margin`` longer), so no one-second window holds more than the rate (without a
        margin, within a millisecond: no real clock wakes exactly at a moment)."""
        return (now - slot).total_seconds() <= max(0.8 * self.policy.margin, 0.001)

    def campaign_turn(self, campaign: tuple[str, float], now: Callable[[], datetime]) -> float:
        """Seconds until the turn of a campaign's send turned away (its slot beyond the horizon): it books a
        place in the campaign's line (``v``, one interval a send, from the campaign's next slot on) and comes
        back then, not every second. A place is a hint, not a slot: it takes its slot as any send does."""
        campaign_id, interval = campaign[0], _interval(campaign[1], self.policy.margin) or 0
        with self._lock:
            seen = self._lines.get(campaign_id)
            for _ in range(self.policy.attempts):
                at = _micros(now())
                start = max(seen or 0, self._campaigns.get(campaign_id) or 0, at)
                refused = self.store.book_campaign_turn(campaign_id, seen, start + interval)
                if refused is None:
                    self._lines[campaign_id] = start + interval
                    return (start - at) / _US
                seen = _int(refused.get("v"))
            return 0.0  # contended: the usual short wait

    def _keep_campaign(self, campaign_id: str, slot: int | None) -> None:
        self._campaigns[campaign_id] = slot
        self._campaigns.move_to_end(campaign_id)
        while len(self._campaigns) > self.policy.numbers_kept:
            self._lines.pop(self._campaigns.popitem(last=False)[0], None)

    def _may_be_throttled(self, stack: Mapping[str, Any], at: int) -> bool:
        """Whether any number's rate may still be climbing back from a 429 (``t``: the last)."""
        if stack.get("t") is None:
            return False
        ceiling = self.policy.max_per_number or self.policy.unthrottled_rate
        if self.policy.increase_per_second <= 0:
            return True
        return at - int(stack["t"]) < ceiling / self.policy.increase_per_second * _US

    def _state(self, number: str, stack: Mapping[str, Any] | None, at: int) -> dict[str, Any]:
        """The stack's and the number's state: as last seen, read when this container has not
        seen the number since the stack's last 429 (a refused write answers with what changed)."""
        kept = self._numbers.get(number)
        if stack is not None and not self.policy.max_per_number and not self._may_be_throttled(stack, at):
            return {**stack, "n": None, "r": None}  # only the stack's slot: the number's item is not read
        if stack is None or kept is None or kept["seen_t"] != stack.get("t"):
            state = self.store.pace_state(number)
            self._keep(number, state)
            return state
        self._numbers.move_to_end(number)
        return {**stack, "n": kept["n"], "r": kept["r"]}

    def _keep(self, number: str, state: Mapping[str, Any]) -> None:
        self._last = {"g": state.get("g"), "t": state.get("t")}
        self._numbers[number] = {"n": state.get("n"), "r": state.get("r"), "seen_t": state.get("t")}
        self._numbers.move_to_end(number)
        while len(self._numbers) > self.policy.numbers_kept:
            self._numbers.popitem(last=False)

    def number_rate(self, state: Mapping[str, Any], at: int) -> float:
        """Sends a second this number (its ``r`` in ``state``) may have now (0: no limit)."""
        limit = self.policy.max_per_number
        throttled = state.get("r")
        if not throttled:
            return limit
        climbed = int(throttled["milli"]) / 1000 + (at - int(throttled["at"])) / _US * self.policy.increase_per_second
        ceiling = limit or self.policy.unthrottled_rate
        if climbed >= ceiling:
            return limit
        return max(self.policy.min_rate, climbed)

    def throttled(self, number: str, now: datetime) -> float:
        """Aculab answered 429 for this number: halve its rate. Returns the new rate."""
        at = _micros(now)
        current = self.number_rate(self.store.pace_state(number), at) or self.policy.unthrottled_rate
        rate = max(self.policy.min_rate, current * self.policy.decrease)
        self.store.set_number_rate(number, round(rate * 1000), at)
        return rate


def _interval(rate: float, margin: float) -> int | None:
    return round(_US / rate * (1 + margin)) if rate > 0 else None


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * _US)


def _moment(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / _US, UTC)
