"""Messages put in a store through the lifecycle's own transitions, as the send
path would leave them: for tests (and benchmarks) that start from a given state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import history_entry
from aculab_messaging.logic.store_ports import SendStore

MOBILE, OURS = "447700900123", "447700900001"


def first_sight(to: str = MOBILE, from_: str = OURS, metadata: Mapping[str, Any] | None = None,
                dlr: bool = True, **more: Any) -> dict[str, Any]:
    return {"to": to, "from": from_, "type": "sms", "dlr": dlr, "metadata": dict(metadata or {}), **more}


def claimed(store: SendStore, message_id: str, now: datetime, *, lease: timedelta = timedelta(seconds=90),
            **sight: Any) -> datetime:
    """Claimed by an attempt (``sending``); returns its lease."""
    lease_until = now + lease
    moved = store.messages.transition(lc.Change(lc.CLAIM, message_id, now, keep=first_sight(**sight),
                                                lease_until=lease_until))
    assert moved.done, moved
    return lease_until


def queued(store: SendStore, message_id: str, refs: Sequence[str], now: datetime, **sight: Any) -> None:
    """At Aculab: claimed, then submitted with ``refs`` (one per part)."""
    lease_until = claimed(store, message_id, now, **sight)
    change = lc.Change(lc.SUBMIT, message_id, now, lease_until=lease_until, count_attempt=True,
                       history=history_entry(lc.stamp(now), "queued", msgRefs=list(refs)))
    assert store.messages.record_submitted(change, refs, bool(sight.get("dlr", True))).done


def waiting(store: SendStore, message_id: str, now: datetime, reason: str, **sight: Any) -> None:
    """Claimed, then released after a failure that did not reach Aculab."""
    lease_until = claimed(store, message_id, now, **sight)
    assert store.messages.transition(lc.Change(lc.RELEASE, message_id, now, fields={"reason": reason},
                                      lease_until=lease_until)).done


def blocked(store: SendStore, message_id: str, now: datetime, reason: str, **sight: Any) -> None:
    assert store.messages.transition(lc.Change(lc.BLOCK, message_id, now, fields={"reason": reason},
                                               keep=first_sight(**sight),
                                               history=history_entry(lc.stamp(now), "blocked", reason=reason))).done


def scheduled(store: SendStore, message_id: str, now: datetime, due_at: datetime, *, schedule_name: str | None = None,
              valid_until: datetime | None = None, **sight: Any) -> None:
    keep = first_sight(**sight, due_at=lc.stamp(due_at), schedule_name=schedule_name,
                       valid_until=lc.stamp(valid_until) if valid_until else None)
    assert store.messages.transition(lc.Change(lc.SCHEDULE, message_id, now, keep=keep, pending_at=due_at,
                                      history=history_entry(lc.stamp(now), "scheduled",
                                                            dueAt=lc.stamp(due_at)))).done
