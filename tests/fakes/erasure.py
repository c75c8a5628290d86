"""In-memory erasure (the ports ErasureStore and MediaEraser): the items holding a number read in pages
of ``page_size`` in key order (as a Scan reads on while items are deleted), each delete conditional as on
DynamoDB; and a versioned media bucket."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aculab_messaging.dal.pools import POOL_NUMBERS
from aculab_messaging.logic.status import FINAL_RANK
from tests.fakes.table import InMemoryTable, iso

if TYPE_CHECKING:
    from aculab_messaging.logic.erasure import ErasureCounts  # its media_key loads the media events


def _holds_number(item: Mapping[str, Any], number: str) -> bool:
    return number in (item.get("to"), item.get("from"))


class InMemoryErasure:
    def __init__(self, table: InMemoryTable, page_size: int = 2) -> None:
        self.items = table.items
        self.page_size = page_size

    def holding(self, number: str, start: dict[str, Any] | None = None) -> Iterator[
            tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        after = (str(start["pk"]), str(start["sk"])) if start else None
        while True:
            keys = sorted(k for k in self.items if after is None or k > after)
            page, rest = keys[:self.page_size], keys[self.page_size:]
            found = [copy.deepcopy(self.items[k]) for k in page if k in self.items
                     and _holds_number(self.items[k], number)]
            cursor = {"pk": page[-1][0], "sk": page[-1][1]} if rest else None
            yield found, cursor
            if cursor is None:
                return
            after = page[-1]

    def is_sender(self, number: str) -> bool:
        return ("SENDERS", number) in self.items or (POOL_NUMBERS, number) in self.items

    def erase_message(self, pk: str, sk: str, number: str, item: Mapping[str, Any], now: datetime) -> bool:
        found = self.items.get((pk, sk))
        if found is None or not _holds_number(found, number):
            return False
        self.items[(pk, sk)] = {**{k: v for k, v in found.items() if k in ("pk", "sk", "message_id", "expires_at")},
                                "status": "erased", "rank": FINAL_RANK, "erased_at": iso(now)}
        return True

    def delete_holding(self, pk: str, sk: str, number: str) -> bool:
        item = self.items.get((pk, sk))
        if item is None or not _holds_number(item, number):
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
        if item is None or not _holds_number(item, number) or item.get("blocked"):
            return False
        del self.items[(pk, sk)]
        return True

    def record_erasure(self, number_hash: str, erasure_id: str, counts: ErasureCounts, now: datetime, *,
                       complete: bool) -> None:
        key = (f"ERASURE#{number_hash}", erasure_id)
        item = self.items.setdefault(key, {"pk": key[0], "sk": key[1], "started_at": iso(now)})
        for name, value in asdict(counts).items():
            item[name] = item.get(name, 0) + value
        item.update(updated_at=iso(now), complete=complete, **({"completed_at": iso(now)} if complete else {}))


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
