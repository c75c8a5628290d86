"""In-memory message items and ref items (the ports MessageMoves and RefIndex, logic/store_ports.py):
every move a transition of logic/lifecycle.py under its guards, all or nothing, as dal/messages.py
asks DynamoDB for it."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.lifecycle import ABSENT, Change, Guard, Moved, rank_of
from aculab_messaging.logic.message_record import MessageRecord
from aculab_messaging.logic.status import FINAL_RANK, OUTCOME_UNKNOWN, SENDING, Status
from tests.fakes.table import InMemoryTable, epoch, iso, record


class InMemoryRefs:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table

    def put(self, message_id: str, refs: Sequence[str], dlr: bool) -> None:
        for ref in refs:
            self.table.items[(f"REF#{ref}", "REF")] = {"pk": f"REF#{ref}", "sk": "REF", "message_id": message_id,
                                                       "dlr": dlr}

    def owner(self, msg_ref: str) -> str | None:
        return self.table.items.get((f"REF#{msg_ref}", "REF"), {}).get("message_id")

    def find_by_ref(self, msg_ref: str) -> tuple[str, bool] | None:
        item = self.table.items.get((f"REF#{msg_ref}", "REF"))
        return (str(item["message_id"]), bool(item.get("dlr", True))) if item else None


def holds(item: Mapping[str, Any] | None, change: Change) -> bool:
    """The transition's condition, as dal/messages.py asks DynamoDB for it."""
    t = change.transition
    if item is None:
        return ABSENT in t.sources
    if item["status"] not in t.sources:
        return False
    for guard in t.guards_for(item["status"]):
        if guard is Guard.OWN_LEASE and (change.lease_until is None
                                         or item.get("lease_id") != change.lease_token):
            return False
        if guard is Guard.LEASE_EXPIRED and item.get("lease_until", 0) >= epoch(change.now):
            return False
        if guard is Guard.DUE and not change.fired and item.get("due_at") is not None and item[
                "due_at"] > iso(change.now):
            return False
        if guard is Guard.VALID and item.get("valid_until") is not None and item["valid_until"] <= iso(change.now):
            return False
        if guard is Guard.SAME_REQUEST and change.request_hash is not None and item.get(
                "request_hash") not in (None, change.request_hash):
            return False
        if guard is Guard.OUTCOME_UNKNOWN and item.get("reason") != OUTCOME_UNKNOWN:
            return False
        if guard is Guard.RESENDS_LEFT and item.get("resends", 0) >= (change.resend_limit or 0):
            return False
    return True


def _lease(change: Change) -> datetime:
    if change.lease_until is None:
        raise ValueError(f"{change.transition.name} needs the attempt's lease")
    return change.lease_until


def _outbox(item: dict[str, Any], events: Sequence[Event]) -> None:
    for event in events:
        eid = str(event.detail["eventId"])
        item[f"ob_{eid}"] = {"t": event.detail_type, "d": json.dumps(event.detail)}
        item.setdefault("outbox", set()).add(eid)


def _apply(item: dict[str, Any], change: Change) -> None:
    t = change.transition
    item.update(status=t.target, rank=rank_of(t.target), updated_at=iso(change.now), message_id=change.message_id)
    item.setdefault("created_at", iso(change.now))
    if t.target == SENDING:
        item["lease_until"] = epoch(_lease(change))
        item["lease_id"] = change.lease_token
    else:
        item.pop("lease_until", None)
        item.pop("lease_id", None)
    for name, value in change.fields.items():
        if value is None:
            item.pop(name, None)
        else:
            item[name] = copy.deepcopy(value)
    for name, value in change.keep.items():
        if value is not None:
            item.setdefault(name, copy.deepcopy(value))
    if change.count_attempt:
        item["attempts"] = item.get("attempts", 0) + 1
    if t.name == "resend":
        item["resends"] = item.get("resends", 0) + 1
    if change.history is not None:
        item.setdefault("history", []).append(dict(change.history))
    item.update(pending_pk="PENDING#0", pending_sk=f"{iso(change.pending_at or change.now)}#{change.message_id}")
    _outbox(item, change.events)


class InMemoryMessages:
    def __init__(self, table: InMemoryTable, refs: InMemoryRefs) -> None:
        self.table = table
        self.refs = refs

    def get_message_item(self, message_id: str) -> dict[str, Any] | None:
        """The live item (not a copy): for a reader that only looks."""
        return self.table.message(message_id)

    def get_message(self, message_id: str) -> MessageRecord | None:
        item = self.table.message(message_id)
        return record(item) if item else None

    def transition(self, change: Change) -> Moved:
        self.table.transitions.append(change.transition.name)
        key = (f"MSG#{change.message_id}", "MSG")
        item = self.table.items.get(key)
        if not holds(item, change):
            return Moved(False, record(item) if item else None)
        if item is None:
            item = self.table.items[key] = {"pk": key[0], "sk": "MSG"}
        _apply(item, change)
        return Moved(True, record(item))

    def record_submitted(self, change: Change, refs: Sequence[str], dlr: bool) -> Moved:
        self.refs.put(change.message_id, refs, dlr)
        parts = {ref: {"status": Status.QUEUED.value, "rank": 10, "pos": i} for i, ref in enumerate(refs, 1)}
        moved = self.transition(change.with_fields(refs=list(refs), parts=parts, part_count=len(refs), reason=None,
                                                   submitted_at=iso(change.now)))
        if moved.done or moved.record is None:
            return moved
        return self._adopt_refs(change, moved.record, refs)

    def record_adopted(self, change: Change, old: MessageRecord, refs: Sequence[str], dlr: bool) -> Moved:
        if any(self.refs.owner(r) not in (None, change.message_id) for r in refs):
            return Moved(False, old)  # a ref of another message: nothing adopted
        self.refs.put(change.message_id, refs, dlr)
        return self._adopt_refs(change, old, refs)

    def _adopt_refs(self, change: Change, old: MessageRecord, refs: Sequence[str]) -> Moved:
        item = self.table.message(change.message_id)
        assert item is not None
        item_parts = item.setdefault("parts", {})
        new = [r for r in refs if r not in item_parts]
        for ref in new:
            item_parts[ref] = {"status": Status.QUEUED.value, "rank": 10, "pos": len(item_parts) + 1}
        item["refs"] = list(item.get("refs") or []) + new
        item.update(part_count=len(item_parts), updated_at=iso(change.now))
        adopt = change.adopting(old)
        if adopt is not None and holds(item, adopt):
            _apply(item, adopt)
            return Moved(True, record(item))
        return Moved(False, record(item))

    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None:
        item = self.table.message(message_id)
        if item is None or not events:
            return
        _outbox(item, events)
        item.update(pending_pk="PENDING#0", pending_sk=f"{iso(now)}#{message_id}")

    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        item = self.table.message(message_id)
        if item is None or not event_ids:
            return
        box = item.get("outbox", set())
        last = item["rank"] >= FINAL_RANK and box == set(event_ids)
        for eid in event_ids:
            item.pop(f"ob_{eid}", None)
            box.discard(eid)
        if not box:
            item.pop("outbox", None)
        if last:
            for name in ("pending_pk", "pending_sk", "replay"):
                item.pop(name, None)
