"""In-memory parts of message items and the pending index (the ports PartWrites and PendingIndex,
logic/store_ports.py): statuses only forward, each write all or nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from aculab_messaging.dal.pools import pool_of
from aculab_messaging.logic.message_record import MessageRecord, PartWrite, PartWriteResult, history_entry
from aculab_messaging.logic.status import FINAL_RANK, Status
from tests.fakes.numbers import InMemoryPools
from tests.fakes.table import InMemoryTable, iso, record


class InMemoryParts:
    def __init__(self, table: InMemoryTable, pools: InMemoryPools) -> None:
        self.table = table
        self.pools = pools

    def write_part(self, write: PartWrite, now: datetime) -> PartWriteResult:
        item = self.table.message(write.message_id)
        if item is None:
            return PartWriteResult("missing", None)
        parts = item.get("parts") or {}
        if write.msg_ref not in parts:
            return PartWriteResult("missing", record(item))
        if write.single_part and item.get("part_count") != 1:
            if len(parts) > 1:
                return self.write_part(PartWrite(**{**write.__dict__, "single_part": False}), now)
            return PartWriteResult("stale", record(item))
        part = parts[write.msg_ref]
        if part["rank"] >= write.rank:
            self._learn_pool_number(item, write, now)
            return PartWriteResult("stale", record(item))
        part.update(status=write.status.value, rank=write.rank, provider_status=write.provider_status,
                    aculab_msg_err=write.aculab_msg_err, provider_ts=write.provider_timestamp,
                    **({"from_number": write.from_number} if write.from_number is not None else {}))
        self._learn_pool_number(item, write, now)
        item["updated_at"] = iso(now)
        item.setdefault("history", []).append(history_entry(
            iso(now), write.status.value, msgRef=write.msg_ref, providerStatus=write.provider_status,
            providerTimestamp=write.provider_timestamp))
        if write.single_part:
            item.update(status=write.status.value, rank=write.rank, aculab_msg_err=write.aculab_msg_err)
        if write.single_part and write.rank >= FINAL_RANK:
            item.pop("pending_pk", None)
            item.pop("pending_sk", None)
            self.table.still_pending_if_outbox(item, now)
        else:
            item["pending_sk"] = f"{iso(now)}#{write.message_id}"
        return PartWriteResult("advanced", record(item))

    def write_message_status(self, message_id: str, status: Status, rank: int, now: datetime,
                             reason: str | None = None) -> bool:
        item = self.table.message(message_id)
        if item is None or item["rank"] >= rank:
            return False
        item.update(status=status.value, rank=rank, updated_at=iso(now), **({"reason": reason} if reason else {}))
        item.setdefault("history", []).append(history_entry(iso(now), status.value, reason=reason))
        if rank >= FINAL_RANK:
            item.pop("pending_pk", None)
            item.pop("pending_sk", None)
            self.table.still_pending_if_outbox(item, now)
        return True

    def _learn_pool_number(self, item: Mapping[str, Any], write: PartWrite, now: datetime) -> None:
        pool = pool_of(item.get("from"), write.from_number)
        if pool is not None and write.from_number is not None:
            self.pools.remember_pool_number(pool, write.from_number, now)


class InMemoryPending:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table

    @property
    def shard_count(self) -> int:
        return 1

    def touch(self, message_id: str, now: datetime) -> bool:
        item = self.table.message(message_id)
        if item is None or "pending_pk" not in item:
            return False
        item["pending_sk"] = f"{iso(now)}#{message_id}"
        item.pop("replay", None)
        return True

    def requeue(self, message_id: str, now: datetime) -> bool:
        item = self.table.message(message_id)
        if item is None:
            return False
        item.update(pending_pk="PENDING#0", pending_sk=f"0000#{message_id}", replay=True)
        return True

    def clear_pending(self, message_id: str) -> bool:
        item = self.table.message(message_id)
        if item is None or item["rank"] < FINAL_RANK or item.get("outbox"):
            return False
        for name in ("pending_pk", "pending_sk", "replay"):
            item.pop(name, None)
        return True

    def stale_pages(self, shard: int, before: datetime, start_key: dict[str, Any] | None = None,
                    page_size: int = 100) -> Iterator[tuple[list[MessageRecord], dict[str, Any] | None, int]]:
        due = sorted((i for i in self.table.items.values() if i.get("pending_pk") == f"PENDING#{shard}"
                      and i["pending_sk"] < iso(before)), key=lambda i: i["pending_sk"])
        after = (start_key or {}).get("pending_sk")
        due = [i for i in due if after is None or i["pending_sk"] > after]
        for start in itertools.count(0, page_size):
            page = due[start:start + page_size]
            more = start + page_size < len(due)
            yield [record(i) for i in page], ({"pending_sk": page[-1]["pending_sk"]} if more else None), len(page)
            if not more:
                return
