"""In-memory fakes of the services' ports (logic/ports.py): the store, the
event publisher and Aculab. They keep the rules the real adapters keep (every
store write conditional and all-or-nothing, statuses only forward, put-if-
absent), so a service tested against them behaves as it does on DynamoDB;
``tests/integration/test_store_contract.py`` runs the same steps on both."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import BlockedEntry, CancelResult, PartStatus, SendParams, aculab_sender
from aculab_messaging.contracts.events import Event
from aculab_messaging.dal.pools import POOL_NUMBERS, pool_of
from aculab_messaging.logic.lifecycle import ABSENT, Change, Guard, Moved, rank_of
from aculab_messaging.logic.message_record import MessageRecord, PartWrite, PartWriteResult, history_entry
from aculab_messaging.logic.ports import (
    Aculab,
    CancelStore,
    ErasureStore,
    EventPublisher,
    IngestStore,
    MediaEraser,
    PublishError,
    ReconcileStore,
    SendStore,
)
from aculab_messaging.logic.status import FINAL_RANK, OUTCOME_UNKNOWN, SENDING, Status

if TYPE_CHECKING:
    from aculab_messaging.logic.erasure import ErasureCounts  # its media_key loads the media events

ANNOUNCE = "ANNOUNCE"


class WholeStore(SendStore, IngestStore, ReconcileStore, Protocol):
    """Every consumer's port at once: the one table as the contract tests drive it. The DynamoDB store
    and InMemoryStore both implement it; no service depends on it."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class InMemoryStore:
    """The Store port on a dict. One shard: every pending message is in shard 0."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.blocked_reads: list[int] = []  # the pairs each is_blocked / blocked_among call read
        self.transitions: list[str] = []  # every transition asked for, by name

    @property
    def shard_count(self) -> int:
        return 1

    # -- campaigns (dal/campaigns.py: its mark; the campaign index, read here from the items) ------------

    def cancel_campaign(self, campaign_id: str, now: datetime) -> None:
        self.items.setdefault((f"CAMPAIGN#{campaign_id}", "CAMPAIGN"), {"cancelled_at": _iso(now)})

    def campaign_cancelled_at(self, campaign_id: str) -> str | None:
        found = self.items.get((f"CAMPAIGN#{campaign_id}", "CAMPAIGN"))
        return found["cancelled_at"] if found else None

    def campaign_page(self, campaign_id: str, after: str | None, limit: int) -> tuple[list[tuple[str, str]],
                                                                                     str | None]:
        members = sorted((i["message_id"], i["status"]) for (_pk, sk), i in self.items.items()
                         if sk == "MSG" and i.get("campaign_id") == campaign_id and i["message_id"] > (after or ""))
        page = members[:limit]
        return page, page[-1][0] if len(members) > limit else None

    # -- helpers ----------------------------------------------------------------

    def _msg(self, message_id: str) -> dict[str, Any] | None:
        return self.items.get((f"MSG#{message_id}", "MSG"))

    def _record(self, item: Mapping[str, Any]) -> MessageRecord:
        return MessageRecord.from_item(copy.deepcopy(dict(item)))

    def _new_message(self, message_id: str, status: str, rank: int, now: datetime, **extra: Any) -> dict[str, Any]:
        item = {"pk": f"MSG#{message_id}", "sk": "MSG", "message_id": message_id, "status": status, "rank": rank,
                "created_at": _iso(now), "updated_at": _iso(now), **{k: v for k, v in extra.items() if v is not None}}
        self.items[(item["pk"], "MSG")] = item
        return item

    @staticmethod
    def _log(item: dict[str, Any], now: datetime, status: str, **detail: Any) -> None:
        item.setdefault("history", []).append(history_entry(_iso(now), status, **detail))

    @staticmethod
    def _pending(item: dict[str, Any], message_id: str, now: datetime) -> None:
        item.update(pending_pk="PENDING#0", pending_sk=f"{_iso(now)}#{message_id}")

    # -- the lifecycle: every move a transition of logic/lifecycle.py ---------------------

    def _holds(self, item: Mapping[str, Any] | None, change: Change) -> bool:
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
            if guard is Guard.LEASE_EXPIRED and item.get("lease_until", 0) >= _epoch(change.now):
                return False
            if guard is Guard.DUE and not change.fired and item.get("due_at") is not None and item[
                    "due_at"] > _iso(change.now):
                return False
            if guard is Guard.VALID and item.get("valid_until") is not None and item["valid_until"] <= _iso(
                    change.now):
                return False
            if guard is Guard.SAME_REQUEST and change.request_hash is not None and item.get(
                    "request_hash") not in (None, change.request_hash):
                return False
            if guard is Guard.OUTCOME_UNKNOWN and item.get("reason") != OUTCOME_UNKNOWN:
                return False
            if guard is Guard.RESENDS_LEFT and item.get("resends", 0) >= (change.resend_limit or 0):
                return False
        return True

    @staticmethod
    def _lease(change: Change) -> datetime:
        if change.lease_until is None:
            raise ValueError(f"{change.transition.name} needs the attempt's lease")
        return change.lease_until

    def transition(self, change: Change) -> Moved:
        self.transitions.append(change.transition.name)
        key = (f"MSG#{change.message_id}", "MSG")
        item = self.items.get(key)
        if not self._holds(item, change):
            return Moved(False, self._record(item) if item else None)
        if item is None:
            item = self.items[key] = {"pk": key[0], "sk": "MSG"}
        self._apply(item, change)
        return Moved(True, self._record(item))

    def _apply(self, item: dict[str, Any], change: Change) -> None:
        t = change.transition
        item.update(status=t.target, rank=rank_of(t.target), updated_at=_iso(change.now),
                    message_id=change.message_id)
        item.setdefault("created_at", _iso(change.now))
        if t.target == SENDING:
            item["lease_until"] = _epoch(self._lease(change))
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
        item.update(pending_pk="PENDING#0", pending_sk=f"{_iso(change.pending_at or change.now)}#{change.message_id}")
        self._outbox(item, change.events)

    @staticmethod
    def _outbox(item: dict[str, Any], events: Sequence[Event]) -> None:
        for event in events:
            eid = str(event.detail["eventId"])
            item[f"ob_{eid}"] = {"t": event.detail_type, "d": json.dumps(event.detail)}
            item.setdefault("outbox", set()).add(eid)

    def record_submitted(self, change: Change, refs: Sequence[str], dlr: bool) -> Moved:
        for ref in refs:
            self.items[(f"REF#{ref}", "REF")] = {"pk": f"REF#{ref}", "sk": "REF", "message_id": change.message_id,
                                                 "dlr": dlr}
        parts = {ref: {"status": Status.QUEUED.value, "rank": 10, "pos": i} for i, ref in enumerate(refs, 1)}
        moved = self.transition(change.with_fields(refs=list(refs), parts=parts, part_count=len(refs), reason=None,
                                                   submitted_at=_iso(change.now)))
        if moved.done or moved.record is None:
            return moved
        return self._adopt_refs(change, moved.record, refs)

    def record_adopted(self, change: Change, old: MessageRecord, refs: Sequence[str], dlr: bool) -> Moved:
        if any(self.items.get((f"REF#{r}", "REF"), {}).get("message_id", change.message_id) != change.message_id
               for r in refs):
            return Moved(False, old)  # a ref of another message: nothing adopted
        for ref in refs:
            self.items[(f"REF#{ref}", "REF")] = {"pk": f"REF#{ref}", "sk": "REF", "message_id": change.message_id,
                                                 "dlr": dlr}
        return self._adopt_refs(change, old, refs)

    def _adopt_refs(self, change: Change, old: MessageRecord, refs: Sequence[str]) -> Moved:
        item = self._msg(change.message_id)
        assert item is not None
        item_parts = item.setdefault("parts", {})
        new = [r for r in refs if r not in item_parts]
        for ref in new:
            item_parts[ref] = {"status": Status.QUEUED.value, "rank": 10, "pos": len(item_parts) + 1}
        item["refs"] = list(item.get("refs") or []) + new
        item.update(part_count=len(item_parts), updated_at=_iso(change.now))
        adopt = change.adopting(old)
        if adopt is not None and self._holds(item, adopt):
            self._apply(item, adopt)
            return Moved(True, self._record(item))
        return Moved(False, self._record(item))

    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None:
        item = self._msg(message_id)
        if item is None or not events:
            return
        self._outbox(item, events)
        item.update(pending_pk="PENDING#0", pending_sk=f"{_iso(now)}#{message_id}")

    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        item = self._msg(message_id)
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

    def get_message(self, message_id: str) -> MessageRecord | None:
        item = self._msg(message_id)
        return self._record(item) if item else None

    # -- status updates -------------------------------------------------------------

    def find_by_ref(self, msg_ref: str) -> tuple[str, bool] | None:
        item = self.items.get((f"REF#{msg_ref}", "REF"))
        return (str(item["message_id"]), bool(item.get("dlr", True))) if item else None

    def write_part(self, write: PartWrite, now: datetime) -> PartWriteResult:
        item = self._msg(write.message_id)
        if item is None:
            return PartWriteResult("missing", None)
        parts = item.get("parts") or {}
        if write.msg_ref not in parts:
            return PartWriteResult("missing", self._record(item))
        if write.single_part and item.get("part_count") != 1:
            if len(parts) > 1:
                return self.write_part(PartWrite(**{**write.__dict__, "single_part": False}), now)
            return PartWriteResult("stale", self._record(item))
        part = parts[write.msg_ref]
        if part["rank"] >= write.rank:
            self._learn_pool_number(item, write, now)
            return PartWriteResult("stale", self._record(item))
        part.update(status=write.status.value, rank=write.rank, provider_status=write.provider_status,
                    aculab_msg_err=write.aculab_msg_err, provider_ts=write.provider_timestamp,
                    **({"from_number": write.from_number} if write.from_number is not None else {}))
        self._learn_pool_number(item, write, now)
        item["updated_at"] = _iso(now)
        self._log(item, now, write.status.value, msgRef=write.msg_ref, providerStatus=write.provider_status,
                  providerTimestamp=write.provider_timestamp)
        if write.single_part:
            item.update(status=write.status.value, rank=write.rank, aculab_msg_err=write.aculab_msg_err)
        if write.single_part and write.rank >= FINAL_RANK:
            item.pop("pending_pk", None)
            item.pop("pending_sk", None)
            self._still_pending_if_outbox(item, now)
        else:
            item["pending_sk"] = f"{_iso(now)}#{write.message_id}"
        return PartWriteResult("advanced", self._record(item))

    def write_message_status(self, message_id: str, status: Status, rank: int, now: datetime,
                             reason: str | None = None) -> bool:
        item = self._msg(message_id)
        if item is None or item["rank"] >= rank:
            return False
        item.update(status=status.value, rank=rank, updated_at=_iso(now), **({"reason": reason} if reason else {}))
        self._log(item, now, status.value, reason=reason)
        if rank >= FINAL_RANK:
            item.pop("pending_pk", None)
            item.pop("pending_sk", None)
            self._still_pending_if_outbox(item, now)
        return True

    @staticmethod
    def _still_pending_if_outbox(item: dict[str, Any], now: datetime) -> None:
        if item.get("outbox"):
            item.update(pending_pk="PENDING#0", pending_sk=f"{_iso(now)}#{item['message_id']}")

    def touch(self, message_id: str, now: datetime) -> bool:
        item = self._msg(message_id)
        if item is None or "pending_pk" not in item:
            return False
        item["pending_sk"] = f"{_iso(now)}#{message_id}"
        item.pop("replay", None)
        return True

    def requeue(self, message_id: str, now: datetime) -> bool:
        item = self._msg(message_id)
        if item is None:
            return False
        item.update(pending_pk="PENDING#0", pending_sk=f"0000#{message_id}", replay=True)
        return True

    def clear_pending(self, message_id: str) -> bool:
        item = self._msg(message_id)
        if item is None or item["rank"] < FINAL_RANK or item.get("outbox"):
            return False
        for name in ("pending_pk", "pending_sk", "replay"):
            item.pop(name, None)
        return True

    def stale_pages(self, shard: int, before: datetime, start_key: dict[str, Any] | None = None,
                    page_size: int = 100) -> Iterator[tuple[list[MessageRecord], dict[str, Any] | None, int]]:
        due = sorted((i for i in self.items.values() if i.get("pending_pk") == f"PENDING#{shard}"
                      and i["pending_sk"] < _iso(before)), key=lambda i: i["pending_sk"])
        after = (start_key or {}).get("pending_sk")
        due = [i for i in due if after is None or i["pending_sk"] > after]
        for start in itertools.count(0, page_size):
            page = due[start:start + page_size]
            more = start + page_size < len(due)
            yield [self._record(i) for i in page], ({"pending_sk": page[-1]["pending_sk"]} if more else None), len(page)
            if not more:
                return

    # -- inbound and opt-outs ---------------------------------------------------------

    def record_inbound(self, item: Mapping[str, Any], now: datetime, *,
                       announce: bool = True) -> tuple[bool, dict[str, Any]]:
        key = (f"IN#{item['msg_ref']}", "IN")
        if key in self.items:
            return False, copy.deepcopy(self.items[key])
        data = {**{k: v for k, v in item.items() if v is not None}, "pk": key[0], "sk": "IN", "stored_at": _iso(now)}
        if announce:
            data.update(pending_pk=ANNOUNCE, pending_sk=f"{_iso(now)}#IN#{item['msg_ref']}")
        self.items[key] = data
        return True, copy.deepcopy(data)

    def add_inbound_part(self, group: Mapping[str, Any], position: int, part: Mapping[str, Any], due: datetime,
                         now: datetime) -> dict[str, Any]:
        pk = f"INMP#{group['to']}#{group['from']}#{group['uid']}"
        item = self.items.get((pk, "GROUP"))
        if item is not None and ("completed_at" in item or "closed_at" in item):
            return copy.deepcopy(item)
        if item is None:
            item = self.items[(pk, "GROUP")] = {"pk": pk, "sk": "GROUP", "first_at": _iso(now),
                                                "pending_pk": "ASSEMBLE", "pending_sk": f"{_iso(due)}#{pk}"}
        item.setdefault(f"p{position}", dict(part))
        item.update({"part_count": int(group["count"]), "from": group["from"], "to": group["to"],
                     "uid": group["uid"], "type": group["type"]})
        return copy.deepcopy(item)

    def finish_inbound_group(self, pk: str, how: str, verdict: Mapping[str, Any], now: datetime) -> bool:
        item = self.items.get((pk, "GROUP"))
        if item is None or "completed_at" in item or "closed_at" in item:
            return False
        item.update({how: _iso(now), "opt_out": verdict.get("opt_out"), "keyword": verdict.get("keyword"),
                     "pending_pk": ANNOUNCE, "pending_sk": f"{_iso(now)}#{pk}"})
        return True

    def revise_inbound_group(self, pk: str, position: int, part: Mapping[str, Any], verdict: Mapping[str, Any],
                             revision: int, now: datetime, *, complete: bool) -> tuple[bool, dict[str, Any]]:
        item = self.items.get((pk, "GROUP"))
        if (item is None or "closed_at" not in item or "completed_at" in item
                or int(item.get("revision", 0)) != revision - 1):
            return False, copy.deepcopy(item or {})
        item.setdefault(f"p{position}", dict(part))
        item.update({"revision": revision, "opt_out": verdict.get("opt_out"),
                     "keyword": verdict.get("keyword"), "pending_pk": ANNOUNCE, "pending_sk": f"{_iso(now)}#{pk}"})
        if complete:
            item["completed_at"] = _iso(now)
        return True, copy.deepcopy(item)

    def due_inbound_groups(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        due = sorted((i for i in self.items.values() if i.get("pending_pk") == "ASSEMBLE"
                      and i["pending_sk"] < _iso(before)), key=lambda i: i["pending_sk"])
        return copy.deepcopy(due[:limit])

    def announced(self, pk: str, sk: str, revision: int | None = None) -> None:
        item = self.items.get((pk, sk))
        if (item is not None and item.get("pending_pk") == ANNOUNCE
                and (revision is None or int(item.get("revision", 0)) == revision)):
            item.pop("pending_pk")
            item.pop("pending_sk")

    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        due = sorted((i for i in self.items.values() if i.get("pending_pk") == ANNOUNCE
                      and i["pending_sk"] < _iso(before)), key=lambda i: i["pending_sk"])
        return copy.deepcopy(due[:limit])

    def _blocked(self, from_: str, to: str) -> bool:
        return bool(self.items.get((f"BLOCK#{from_}", f"TO#{to}"), {}).get("blocked"))

    def is_blocked(self, from_: str, to: str) -> bool:
        self.blocked_reads.append(1)
        return self._blocked(from_, to)

    def blocked_among(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        pairs = set(pairs)
        self.blocked_reads.append(len(pairs))
        return {pair for pair in pairs if self._blocked(*pair)}

    def set_blocked(self, from_: str, to: str, blocked: bool, source: str, version: str, *,
                    announce: bool = False) -> bool:
        key = (f"BLOCK#{from_}", f"TO#{to}")
        old = self.items.get(key)
        if old is not None and old["change_key"] >= version:
            return False
        item = {"pk": key[0], "sk": key[1], "from": from_, "to": to, "blocked": blocked, "source": source,
                "change_key": version}
        if announce:
            item.update(pending_pk=ANNOUNCE, pending_sk=f"0000#BLOCK#{from_}#{to}")
        self.items[key] = item
        return bool((old or {}).get("blocked", False)) != blocked

    def blocked_for(self, from_: str) -> dict[str, str]:
        return {str(i["to"]): str(i.get("source", "")) for (pk, _), i in self.items.items()
                if pk == f"BLOCK#{from_}" and i.get("blocked")}

    # -- senders and the cursor -------------------------------------------------------

    def remember_sender(self, from_: str, now: datetime) -> None:
        self.items[("SENDERS", from_)] = {"pk": "SENDERS", "sk": from_, "first_seen": _iso(now)}

    def list_senders(self) -> list[str]:
        return sorted(sk for pk, sk in self.items if pk == "SENDERS")

    def count_country_send(self, country: str, now: datetime, cap: int) -> bool:
        item = self.items.setdefault((f"VELOCITY#{country}", now.strftime("%Y-%m-%dT%H")), {"sends": 0})
        if item["sends"] >= cap:
            return False
        item["sends"] += 1
        return True

    def get_cursor(self) -> dict[str, Any] | None:
        item = self.items.get(("CURSOR", "reconcile"))
        return copy.deepcopy(item["cursor"]) if item else None

    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None:
        if cursor is None:
            self.items.pop(("CURSOR", "reconcile"), None)
        else:
            self.items[("CURSOR", "reconcile")] = {"cursor": copy.deepcopy(cursor), "saved_at": _iso(now)}

    # -- message number pools ----------------------------------------------------------

    def _learn_pool_number(self, item: Mapping[str, Any], write: PartWrite, now: datetime) -> None:
        pool = pool_of(item.get("from"), write.from_number)
        if pool is not None and write.from_number is not None:
            self.remember_pool_number(pool, write.from_number, now)

    def remember_pool_number(self, pool: str, number: str, now: datetime) -> None:
        item = self.items.setdefault((POOL_NUMBERS, number), {"pk": POOL_NUMBERS, "sk": number,
                                                              "pool_names": set(), "first_seen": _iso(now)})
        item["pool_names"].add(pool)

    def pools_of(self, number: str) -> list[str]:
        return sorted(self.items.get((POOL_NUMBERS, number), {}).get("pool_names") or ())

    def pool_numbers(self) -> dict[str, list[str]]:
        return {sk: sorted(i["pool_names"]) for (pk, sk), i in sorted(self.items.items()) if pk == POOL_NUMBERS}


@dataclass
class RecordingPublisher:
    """The EventPublisher port: keeps what it published; ``failing`` makes it refuse everything."""

    published: list[Event] = field(default_factory=list)
    failing: bool = False

    def publish(self, events: Sequence[Event]) -> None:
        if self.failing and events:
            raise PublishError(events, "Throttled")
        self.published.extend(events)

    def types(self) -> list[str]:
        return [e.detail_type for e in self.published]


@dataclass
class FakeAculab:
    """The Aculab port: refs for each msg_send, answers set by the test, every call recorded."""

    parts: int = 1
    error: AculabError | None = None
    statuses: dict[str, PartStatus] = field(default_factory=dict)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # from -> the mobiles Aculab blocks
    sent: list[SendParams] = field(default_factory=list)
    cancelled: list[list[str]] = field(default_factory=list)
    status_calls: list[list[str]] = field(default_factory=list)
    _refs: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # the error comes after Aculab queued the message (a 502 from its gateway, a read timeout): refs in queued_refs
    error_after_queueing: bool = False
    queued_refs: list[str] = field(default_factory=list)

    def msg_send(self, params: SendParams) -> list[str]:
        if self.error and not self.error_after_queueing:
            raise self.error
        self.sent.append(params)
        refs = [f"ref-{next(self._refs)}" for _ in range(self.parts)]
        self.queued_refs += refs
        if self.error:
            raise self.error
        return refs

    def msg_cancel(self, msg_refs: Sequence[str]) -> dict[str, CancelResult]:
        self.cancelled.append(list(msg_refs))
        return dict.fromkeys(msg_refs, CancelResult.SUCCESS)

    def msg_status(self, msg_refs: Sequence[str]) -> dict[str, PartStatus]:
        self.status_calls.append(list(msg_refs))
        return {ref: self.statuses[ref] for ref in msg_refs if ref in self.statuses}

    def msg_list_blocked(self, *, to: str | None = None, from_: str | None = None) -> list[BlockedEntry]:
        """Aculab's rows (numbers without '+') parsed as the client parses them; ``blocked`` in either form."""
        if from_ is None:
            return []
        ours = aculab_sender(from_)
        mobiles = [m for number, found in self.blocked.items() if aculab_sender(number) == ours for m in found]
        return [BlockedEntry.from_json({"to": aculab_sender(m), "from": ours}) for m in mobiles]


class Clock:
    """A controllable clock."""

    def __init__(self, start: datetime = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _conforms(store: InMemoryStore, publisher: RecordingPublisher, aculab: FakeAculab) -> tuple[
        SendStore, CancelStore, IngestStore, ReconcileStore, WholeStore, EventPublisher, Aculab]:
    """mypy checks here that each fake keeps its ports' signatures."""
    return store, store, store, store, store, publisher, aculab


# -- erasure (logic/erasure.py) ----------------------------------------------------------------------


class InMemoryErasureStore(InMemoryStore):
    """InMemoryStore with the erasure's port: the items holding a number read in pages of ``page_size``
    in key order (as a Scan reads on while items are deleted), each delete conditional as on DynamoDB."""

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size

    @staticmethod
    def _holds_number(item: Mapping[str, Any], number: str) -> bool:
        return number in (item.get("to"), item.get("from"))

    def holding(self, number: str, start: dict[str, Any] | None = None) -> Iterator[
            tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        after = (str(start["pk"]), str(start["sk"])) if start else None
        while True:
            keys = sorted(k for k in self.items if after is None or k > after)
            page, rest = keys[:self.page_size], keys[self.page_size:]
            found = [copy.deepcopy(self.items[k]) for k in page if k in self.items
                     and self._holds_number(self.items[k], number)]
            cursor = {"pk": page[-1][0], "sk": page[-1][1]} if rest else None
            yield found, cursor
            if cursor is None:
                return
            after = page[-1]

    def is_sender(self, number: str) -> bool:
        return ("SENDERS", number) in self.items or (POOL_NUMBERS, number) in self.items

    def erase_message(self, pk: str, sk: str, number: str, item: Mapping[str, Any], now: datetime) -> bool:
        found = self.items.get((pk, sk))
        if found is None or not self._holds_number(found, number):
            return False
        self.items[(pk, sk)] = {**{k: v for k, v in found.items() if k in ("pk", "sk", "message_id", "expires_at")},
                                "status": "erased", "rank": FINAL_RANK, "erased_at": _iso(now)}
        return True

    def delete_holding(self, pk: str, sk: str, number: str) -> bool:
        item = self.items.get((pk, sk))
        if item is None or not self._holds_number(item, number):
            return False
        del self.items[(pk, sk)]
        return True

    def delete_ref(self, msg_ref: str, message_id: str) -> bool:
        item = self.items.get((f"REF#{msg_ref}", "REF"))
        if item is None or item.get("message_id") != message_id:
            return False
        del self.items[(f"REF#{msg_ref}", "REF")]
        return True

    def delete_opt_in(self, pk: str, sk: str, number: str) -> bool:
        item = self.items.get((pk, sk))
        if item is None or not self._holds_number(item, number) or item.get("blocked"):
            return False
        del self.items[(pk, sk)]
        return True

    def record_erasure(self, number_hash: str, erasure_id: str, counts: ErasureCounts, now: datetime, *,
                       complete: bool) -> None:
        key = (f"ERASURE#{number_hash}", erasure_id)
        item = self.items.setdefault(key, {"pk": key[0], "sk": key[1], "started_at": _iso(now)})
        for name, value in asdict(counts).items():
            item[name] = item.get(name, 0) + value
        item.update(updated_at=_iso(now), complete=complete, **({"completed_at": _iso(now)} if complete else {}))


class InMemoryMediaVersions:
    """The MediaEraser port on a versioned bucket: each key's versions (a delete marker is ``None``)."""

    def __init__(self) -> None:
        self.versions: dict[str, list[bytes | None]] = {}

    def put(self, key: str, body: bytes = b"x") -> None:
        self.versions.setdefault(key, []).append(body)

    def erase_prefix(self, prefix: str) -> int:
        keys = [k for k in self.versions if k.startswith(prefix)]
        objects = sum(1 for k in keys if any(v is not None for v in self.versions[k]))
        for key in keys:
            del self.versions[key]
        return objects


def _conforms_to_erasure(store: InMemoryErasureStore, media: InMemoryMediaVersions) -> tuple[
        ErasureStore, MediaEraser, WholeStore]:
    """mypy checks here that the erasure's fakes keep its ports' signatures."""
    return store, media, store
