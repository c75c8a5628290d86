"""In-memory fakes of the services' ports (logic/ports.py): the store, the
event publisher and Aculab. They keep the rules the real adapters keep (every
store write conditional and all-or-nothing, statuses only forward, put-if-
absent), so a service tested against them behaves as it does on DynamoDB;
``tests/integration/test_store_contract.py`` runs the same steps on both."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import BlockedEntry, CancelResult, PartStatus, SendParams
from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.ports import Aculab, EventPublisher, PublishError, Store
from aculab_messaging.records import MessageRecord, PartWrite, PartWriteResult, history_entry
from aculab_messaging.status import FINAL_RANK, OUTCOME_UNKNOWN, RETRYABLE, SENDING, Status, rank

ANNOUNCE = "ANNOUNCE"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class InMemoryStore:
    """The Store port on a dict. One shard: every pending message is in shard 0."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.blocked_reads: list[int] = []  # the pairs each is_blocked / blocked_among call read

    @property
    def shard_count(self) -> int:
        return 1

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

    # -- the send path ------------------------------------------------------------

    def claim(self, *, message_id: str, to: str, from_: str, type_: str, metadata: Mapping[str, Any], dlr: bool,
              now: datetime, lease_until: datetime) -> MessageRecord | None:
        old = self._msg(message_id)
        if old is not None and old["status"] == Status.SCHEDULED.value:  # its send_at came: the timeline stays
            old.update(status=SENDING, rank=0, lease_until=_epoch(lease_until), updated_at=_iso(now))
            old.pop("schedule_name", None)
            return None
        if old is not None and old["status"] != RETRYABLE:
            return self._record(old)
        self._new_message(message_id, SENDING, 0, now, to=to, **{"from": from_}, type=type_, dlr=dlr,
                          metadata=dict(metadata), lease_until=_epoch(lease_until))
        return None

    def schedule_message(self, *, message_id: str, to: str, from_: str, type_: str, metadata: Mapping[str, Any],
                         dlr: bool, due_at: datetime, valid_until: datetime | None, schedule_name: str | None,
                         now: datetime) -> MessageRecord | None:
        old = self._msg(message_id)
        if old is not None:
            return self._record(old)
        item = self._new_message(message_id, Status.SCHEDULED.value, rank(Status.SCHEDULED), now, to=to,
                                 **{"from": from_}, type=type_, dlr=dlr, metadata=dict(metadata), due_at=_iso(due_at),
                                 valid_until=_iso(valid_until) if valid_until else None, schedule_name=schedule_name)
        self._log(item, now, Status.SCHEDULED.value, dueAt=_iso(due_at))
        return None

    def _finish_unsent(self, item: dict[str, Any], status: Status, reason: str, now: datetime) -> bool:
        item.update(status=status.value, rank=FINAL_RANK, reason=reason, updated_at=_iso(now))
        item.pop("lease_until", None)
        item.pop("schedule_name", None)
        self._log(item, now, status.value, reason=reason)
        return True

    def cancel_scheduled(self, message_id: str, now: datetime) -> bool:
        item = self._msg(message_id)
        if item is None or item["status"] != Status.SCHEDULED.value:
            return False
        return self._finish_unsent(item, Status.CANCELLED, "cancelled before sending", now)

    def expire_unsent(self, message_id: str, reason: str, now: datetime, lease_until: datetime | None = None) -> bool:
        item = self._msg(message_id)
        if item is None:
            return False
        ours = lease_until is not None and item["status"] == SENDING and item.get("lease_until") == _epoch(lease_until)
        if item["status"] not in (Status.SCHEDULED.value, RETRYABLE) and not ours:
            return False
        return self._finish_unsent(item, Status.EXPIRED, reason, now)

    def _lease_expired(self, item: Mapping[str, Any], now: datetime) -> bool:
        return bool(item["status"] == SENDING and item.get("lease_until", 0) < _epoch(now))

    def reclaim_expired(self, message_id: str, now: datetime, lease_until: datetime) -> bool:
        item = self._msg(message_id)
        if item is None or not self._lease_expired(item, now):
            return False
        item.update(lease_until=_epoch(lease_until), updated_at=_iso(now))
        return True

    def record_submitted(self, message_id: str, refs: Sequence[str], dlr: bool, now: datetime) -> bool:
        for ref in refs:
            self.items[(f"REF#{ref}", "REF")] = {"pk": f"REF#{ref}", "sk": "REF", "message_id": message_id, "dlr": dlr}
        item = self._msg(message_id)
        if item is None:
            raise KeyError(message_id)
        if item["status"] == SENDING:
            item.update(status=Status.QUEUED.value, rank=10, refs=list(refs), part_count=len(refs),
                        parts={ref: {"status": Status.QUEUED.value, "rank": 10, "pos": i}
                               for i, ref in enumerate(refs, 1)}, updated_at=_iso(now))
            self._log(item, now, Status.QUEUED.value, msgRefs=list(refs))
            item.pop("reason", None)
            item.pop("lease_until", None)
            self._pending(item, message_id, now)
            return True
        parts = item.setdefault("parts", {})
        known, added = list(item.get("refs") or []), []
        for ref in refs:
            if ref not in parts:
                parts[ref] = {"status": Status.QUEUED.value, "rank": 10, "pos": len(parts) + 1}
                known.append(ref)
                added.append(ref)
        requeue = (item["status"] in (SENDING, RETRYABLE) or item.get("reason") == OUTCOME_UNKNOWN
                   or not item.get("refs"))
        item.update(refs=known, part_count=len(parts))
        self._pending(item, message_id, now)
        if requeue:
            item.update(status=Status.QUEUED.value, rank=10)
            self._log(item, now, Status.QUEUED.value, msgRefs=added)
            item.pop("reason", None)
            item.pop("lease_until", None)
        return requeue

    def release_claim(self, message_id: str, reason: str, now: datetime) -> None:
        item = self._msg(message_id)
        if item is not None and item["status"] == SENDING:
            item.update(status=RETRYABLE, reason=reason, updated_at=_iso(now))
            item.pop("lease_until", None)

    def _fail(self, item: dict[str, Any] | None, reason: str, now: datetime, code: str | None) -> bool:
        if item is None:
            return False
        item.update(status=Status.FAILED.value, rank=FINAL_RANK, reason=reason, updated_at=_iso(now))
        self._log(item, now, Status.FAILED.value, reason=reason)
        if code:
            item["aculab_error_code"] = code
        item.pop("lease_until", None)
        return True

    def fail_unsent(self, message_id: str, reason: str, now: datetime, aculab_code: str | None = None) -> bool:
        item = self._msg(message_id)
        return self._fail(item if item and item["status"] in (SENDING, RETRYABLE) else None, reason, now, aculab_code)

    def fail_expired_claim(self, message_id: str, reason: str, now: datetime) -> bool:
        item = self._msg(message_id)
        return self._fail(item if item and self._lease_expired(item, now) else None, reason, now, None)

    def cancel_unsent(self, message_id: str, now: datetime) -> bool:
        item = self._msg(message_id)
        if item is None or item["status"] != RETRYABLE:
            return False
        item.update(status=Status.CANCELLED.value, rank=FINAL_RANK, reason="cancelled before sending",
                    updated_at=_iso(now))
        self._log(item, now, Status.CANCELLED.value, reason="cancelled before sending")
        return True

    def create_final(self, *, message_id: str, status: Status, reason: str, now: datetime, to: str | None = None,
                     from_: str | None = None, metadata: Mapping[str, Any] | None = None) -> MessageRecord | None:
        old = self._msg(message_id)
        if old is not None:
            return self._record(old)
        item = self._new_message(message_id, status.value, FINAL_RANK, now, to=to, **{"from": from_},
                                 reason=reason, metadata=dict(metadata or {}))
        self._log(item, now, status.value, reason=reason)
        return None

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
            return PartWriteResult("stale", self._record(item))
        part.update(status=write.status.value, rank=write.rank, provider_status=write.provider_status,
                    aculab_msg_err=write.aculab_msg_err, provider_ts=write.provider_timestamp)
        item["updated_at"] = _iso(now)
        self._log(item, now, write.status.value, msgRef=write.msg_ref, providerStatus=write.provider_status,
                  providerTimestamp=write.provider_timestamp)
        if write.single_part:
            item.update(status=write.status.value, rank=write.rank, aculab_msg_err=write.aculab_msg_err)
        if write.single_part and write.rank >= FINAL_RANK:
            item.pop("pending_pk", None)
            item.pop("pending_sk", None)
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
        return True

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
        if item is None or not (item["rank"] >= FINAL_RANK or item["status"] == RETRYABLE):
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

    def due_inbound_groups(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        due = sorted((i for i in self.items.values() if i.get("pending_pk") == "ASSEMBLE"
                      and i["pending_sk"] < _iso(before)), key=lambda i: i["pending_sk"])
        return copy.deepcopy(due[:limit])

    def announced(self, pk: str, sk: str) -> None:
        item = self.items.get((pk, sk))
        if item is not None and item.get("pending_pk") == ANNOUNCE:
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

    def blocked_for(self, from_: str) -> set[str]:
        return {str(i["to"]) for (pk, _), i in self.items.items() if pk == f"BLOCK#{from_}" and i.get("blocked")}

    # -- senders and the cursor -------------------------------------------------------

    def remember_sender(self, from_: str, now: datetime) -> None:
        self.items[("SENDERS", from_)] = {"pk": "SENDERS", "sk": from_, "first_seen": _iso(now)}

    def list_senders(self) -> list[str]:
        return sorted(sk for pk, sk in self.items if pk == "SENDERS")

    def get_cursor(self) -> dict[str, Any] | None:
        item = self.items.get(("CURSOR", "reconcile"))
        return copy.deepcopy(item["cursor"]) if item else None

    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None:
        if cursor is None:
            self.items.pop(("CURSOR", "reconcile"), None)
        else:
            self.items[("CURSOR", "reconcile")] = {"cursor": copy.deepcopy(cursor), "saved_at": _iso(now)}


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

    def msg_send(self, params: SendParams) -> list[str]:
        if self.error:
            raise self.error
        self.sent.append(params)
        return [f"ref-{next(self._refs)}" for _ in range(self.parts)]

    def msg_cancel(self, msg_refs: Sequence[str]) -> dict[str, CancelResult]:
        self.cancelled.append(list(msg_refs))
        return dict.fromkeys(msg_refs, CancelResult.SUCCESS)

    def msg_status(self, msg_refs: Sequence[str]) -> dict[str, PartStatus]:
        self.status_calls.append(list(msg_refs))
        return {ref: self.statuses[ref] for ref in msg_refs if ref in self.statuses}

    def msg_list_blocked(self, *, to: str | None = None, from_: str | None = None) -> list[BlockedEntry]:
        return [BlockedEntry(to=mobile, from_=from_ or "") for mobile in self.blocked.get(from_ or "", [])]


class Clock:
    """A controllable clock."""

    def __init__(self, start: datetime = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _conforms(store: InMemoryStore, publisher: RecordingPublisher, aculab: FakeAculab) -> tuple[Store, EventPublisher,
                                                                                                 Aculab]:
    """mypy checks here that each fake keeps its port's signatures."""
    return store, publisher, aculab
