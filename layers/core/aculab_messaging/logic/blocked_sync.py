"""The reconciler's blocked-list sync: our blocked pairs made equal to Aculab's
msg_list_blocked for every sending number, and each pool's pairs from its numbers' lists."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import is_e164, number_or_given
from aculab_messaging.contracts.events import opt_out_event, utc_now_iso
from aculab_messaging.logic.announcing import publish_announced
from aculab_messaging.logic.pools import pool_lists
from aculab_messaging.logic.ports import Aculab, EventPublisher
from aculab_messaging.logic.reconcile_report import ReconcileReport
from aculab_messaging.logic.store_ports import ReconcileStore

log = logging.getLogger(__name__)


@dataclass
class BlockedListSync:
    store: ReconcileStore
    aculab: Aculab
    publisher: EventPublisher
    sending_numbers: tuple[str, ...]

    def run(self, report: ReconcileReport, now: datetime, time_left: Callable[[], bool]) -> bool:
        """Add msg_list_blocked's pairs to ours and lift those of ours that came
        from it and left it, number by number while time is left (True: every
        number synced), then each pool's pairs from its numbers' lists together
        (logic/pools.py). Each change is written first, marked unannounced, and
        announced only once it took effect."""
        # our numbers in E.164 with '+', as the pairs are keyed (configured in any form; pool names left out),
        # and every number known to be a pool's
        found = (number_or_given(n) for n in (*self.sending_numbers, *self.store.senders.list_senders()))
        pool_numbers = self.store.pools.pool_numbers()
        lists: dict[str, set[str] | None] = {}
        for from_ in sorted({n for n in found if is_e164(n)} | pool_numbers.keys()):
            if not time_left():
                return False
            theirs = lists[from_] = self._blocked_list(from_, report)
            if theirs is not None:
                self._sync_pairs(from_, theirs, report, now)
        for pool, theirs in pool_lists(pool_numbers, lists).items():
            if not time_left():
                return False
            self._sync_pairs(pool, theirs, report, now)
        return True

    def _blocked_list(self, from_: str, report: ReconcileReport) -> set[str] | None:
        try:
            return {entry.to for entry in self.aculab.msg_list_blocked(from_=from_)}
        except AculabError as exc:
            report.failed_batches += 1
            log.warning("msg_list_blocked failed", extra={"error": type(exc).__name__})
            return None

    def _sync_pairs(self, from_: str, theirs: set[str], report: ReconcileReport, now: datetime) -> None:
        ours = self.store.blocked.blocked_for(from_)  # mobile -> the source of its block
        # Aculab's blocks are added; only blocks that came from Aculab's list are lifted when they leave
        # it: one of our keywords (e.g. a REVOKE Aculab does not know) is lifted by a START alone
        lifted = sorted(to for to, source in ours.items() if source == "reconcile" and to not in theirs)
        changes = [(to, True) for to in sorted(theirs - ours.keys())] + [(to, False) for to in lifted]
        stamp = f"{utc_now_iso(now)}#reconcile"
        events, written = [], []
        for to, blocked in changes:
            if self.store.blocked.set_blocked(from_, to, blocked, "reconcile", stamp, announce=True):
                report.blocked_added += int(blocked)
                report.blocked_removed += int(not blocked)
                events.append(opt_out_event(from_=from_, to=to, blocked=blocked, source="reconcile", now=now,
                                            identity=stamp))
                written.append((f"BLOCK#{from_}", f"TO#{to}"))
        publish_announced(self.store, self.publisher, events, written, report)
