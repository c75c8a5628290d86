"""In-memory inbound messages and long ones' groups of parts (the port InboundItems,
logic/store_ports.py), each write conditional as dal/inbound.py's."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tests.fakes.table import ANNOUNCE, InMemoryTable, iso


class InMemoryInbound:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table
        self.items = table.items

    def record_inbound(self, item: Mapping[str, Any], now: datetime, *,
                       announce: bool = True) -> tuple[bool, dict[str, Any]]:
        key = (f"IN#{item['msg_ref']}", "IN")
        if key in self.items:
            return False, copy.deepcopy(self.items[key])
        data = {**{k: v for k, v in item.items() if v is not None}, "pk": key[0], "sk": "IN", "stored_at": iso(now)}
        if announce:
            data.update(pending_pk=ANNOUNCE, pending_sk=f"{iso(now)}#IN#{item['msg_ref']}")
        self.items[key] = data
        return True, copy.deepcopy(data)

    def add_inbound_part(self, group: Mapping[str, Any], position: int, part: Mapping[str, Any], due: datetime,
                         now: datetime) -> dict[str, Any]:
        pk = f"INMP#{group['to']}#{group['from']}#{group['uid']}"
        item = self.items.get((pk, "GROUP"))
        if item is not None and ("completed_at" in item or "closed_at" in item):
            return copy.deepcopy(item)
        if item is None:
            item = self.items[(pk, "GROUP")] = {"pk": pk, "sk": "GROUP", "first_at": iso(now),
                                                "pending_pk": "ASSEMBLE", "pending_sk": f"{iso(due)}#{pk}"}
        item.setdefault(f"p{position}", dict(part))
        item.update({"part_count": int(group["count"]), "from": group["from"], "to": group["to"],
                     "uid": group["uid"], "type": group["type"]})
        return copy.deepcopy(item)

    def finish_inbound_group(self, pk: str, how: str, verdict: Mapping[str, Any], now: datetime) -> bool:
        item = self.items.get((pk, "GROUP"))
        if item is None or "completed_at" in item or "closed_at" in item:
            return False
        item.update({how: iso(now), "opt_out": verdict.get("opt_out"), "keyword": verdict.get("keyword"),
                     "pending_pk": ANNOUNCE, "pending_sk": f"{iso(now)}#{pk}"})
        return True

    def revise_inbound_group(self, pk: str, position: int, part: Mapping[str, Any], verdict: Mapping[str, Any],
                             revision: int, now: datetime, *, complete: bool) -> tuple[bool, dict[str, Any]]:
        item = self.items.get((pk, "GROUP"))
        if (item is None or "closed_at" not in item or "completed_at" in item
                or int(item.get("revision", 0)) != revision - 1):
            return False, copy.deepcopy(item or {})
        item.setdefault(f"p{position}", dict(part))
        item.update({"revision": revision, "opt_out": verdict.get("opt_out"),
                     "keyword": verdict.get("keyword"), "pending_pk": ANNOUNCE, "pending_sk": f"{iso(now)}#{pk}"})
        if complete:
            item["completed_at"] = iso(now)
        return True, copy.deepcopy(item)

    def _due(self, partition: str, before: datetime, limit: int) -> list[dict[str, Any]]:
        due = sorted((i for i in self.items.values() if i.get("pending_pk") == partition
                      and i["pending_sk"] < iso(before)), key=lambda i: i["pending_sk"])
        return copy.deepcopy(due[:limit])

    def due_inbound_groups(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        return self._due("ASSEMBLE", before, limit)

    def announced(self, pk: str, sk: str, revision: int | None = None) -> None:
        item = self.items.get((pk, sk))
        if (item is not None and item.get("pending_pk") == ANNOUNCE
                and (revision is None or int(item.get("revision", 0)) == revision)):
            item.pop("pending_pk")
            item.pop("pending_sk")

    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        return self._due(ANNOUNCE, before, limit)
