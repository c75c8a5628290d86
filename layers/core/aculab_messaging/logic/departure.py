"""A send's way out to Aculab by the shared pace (logic/pacing.py): its slot, its last look at what may
have changed while it waited for it, and leaving at the slot itself.

The last look (the campaign's mark, a STOP; the validity and the recipient's quiet hours at the moment it
would leave) is taken a little before the slot, as far ahead as such looks took lately (``Pacer.look_ahead``),
so that nothing stands between the slot and msg_send. A send never leaves late into the next send's second:
one whose look ran past the slot's margin (``Pacer.in_time``) gives the slot up (a gap, never a crowd) and,
looking first this time, takes another; a send without the time left in its invocation for another try, or
whose recipient's quiet hours have begun, goes back to the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.pacing import PaceContended, Pacer
from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.ports import MetricsSink
from aculab_messaging.logic.record_outcome import RecordOutcome
from aculab_messaging.logic.scheduling import Timing

# what a send's last look finds (None: nothing stops it); ``True``: it waited, so what the batch read
# before (its opt-out) may have changed meanwhile; the campaign's mark is read again whatever
LastLook = Callable[[bool], "lc.Transition | None"]
SLOT_TRIES = 3
# what an invocation must have left after a slot: msg_send (its read timeout) and the writes after it
AFTER_SLOT_SECONDS = 15.0
MISSED = "pace slot missed"
QUIET = "the recipient's quiet hours began"


@dataclass(frozen=True)
class Departure:
    pacer: Pacer | None
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    metrics: MetricsSink
    policy: SendPolicy

    def leave(self, req: SendRequest, look: LastLook, held: Timing,
              deadline: datetime) -> datetime | lc.Transition | RecordOutcome:
        """The moment it leaves; a transition when its look finds it must not be sent; an outcome that
        puts it back on the queue when no slot is to be had in time. ``deadline``: its invocation's end."""
        if self.pacer is None:
            found = look(False)
            if found is not None:
                return found
            now = self.clock()
            stop = self._held_back(req, held, now, expiry=False)
            return now if stop is None else stop
        for tries in range(SLOT_TRIES):
            if tries:  # its look ran late: this time it looks first, then takes its slot
                if self._no_time_for_a_slot(self.pacer, deadline):
                    return RecordOutcome(reason=MISSED, delay_seconds=1)
                found = self._timed(self.pacer, look)
                if found is not None:
                    return found
            slot = self._reserve(self.pacer, req)
            if not isinstance(slot, datetime):
                return slot
            waits = slot > self.clock()
            if not tries:  # its look: just before its slot, or (nothing waited) only its campaign's mark, now
                if waits:
                    self._sleep_until(slot - timedelta(seconds=self.pacer.look_ahead()))
                found = self._timed(self.pacer, look) if waits else look(False)
                if found is not None:
                    return found
            stop = self._held_back(req, held, max(slot, self.clock()), expiry=bool(waits or tries))
            if stop is not None:
                return stop
            now = self._sleep_until(slot)
            if self.pacer.in_time(slot, now):
                return now
            self.metrics.count("PaceSlotMissed")
        return RecordOutcome(reason=MISSED, delay_seconds=1)

    def _reserve(self, pacer: Pacer, req: SendRequest) -> datetime | RecordOutcome:
        """Its slot by the shared pace (the stack's, its number's, its campaign's), or an outcome that
        puts it back on the queue for a while."""
        campaign = (req.campaign_id, req.campaign_max_per_second) if req.campaign_id and \
            req.campaign_max_per_second else None
        try:
            slot = pacer.reserve(req.from_, self.clock, campaign=campaign)
        except PaceContended:
            self.metrics.count("PaceContended")
            return RecordOutcome(reason="pace contended", delay_seconds=1)
        if slot is None:
            self.metrics.count("SendPaced")
            delay = self.policy.pace_retry_seconds
            if campaign is not None:  # back a little before its turn in the campaign's line (at most SQS's 15 min)
                turn = pacer.campaign_turn(campaign, self.clock) - pacer.policy.horizon_seconds / 2
                delay = max(delay, min(900, int(turn)))
            return RecordOutcome(reason="paced", delay_seconds=delay)
        return slot

    def _held_back(self, req: SendRequest, held: Timing, at: datetime, *,
                   expiry: bool) -> lc.Transition | RecordOutcome | None:
        """What keeps it from leaving at ``at``: its validity ran out while it waited (``expiry``), or its
        recipient's quiet hours have begun (it goes back to the queue, and waits stored for their end)."""
        if expiry and held.expired(at):
            return lc.EXPIRE
        if held.quieted(req, self.policy.quiet_hours, at).quiet is not None:
            self.metrics.count("QuietHoursBegan")
            return RecordOutcome(reason=QUIET, delay_seconds=1)
        return None

    def _timed(self, pacer: Pacer, look: LastLook) -> lc.Transition | None:
        started = self.clock()
        found = look(True)
        pacer.looked((self.clock() - started).total_seconds())
        return found

    def _no_time_for_a_slot(self, pacer: Pacer, deadline: datetime) -> bool:
        needed = pacer.policy.horizon_seconds + pacer.look_ahead() + AFTER_SLOT_SECONDS
        return (deadline - self.clock()).total_seconds() < needed

    def _sleep_until(self, moment: datetime) -> datetime:
        rest = (moment - self.clock()).total_seconds()
        if rest > 0:
            self.sleep(rest)
        return self.clock()
