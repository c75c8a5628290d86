"""Sending numbers (``SENDERS`` / ``<from>``), for the blocked-list sync, and
the reconciler's cursor (``CURSOR`` / ``reconcile``): two kinds, two objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aculab_messaging.dal.table import Table, TableAccess, iso, to_item, to_values


class Senders(Table):
    def __init__(self, access: TableAccess) -> None:
        super().__init__(access)
        self._known_senders: set[str] = set()  # written by this container

    def remember_sender(self, from_: str, now: datetime) -> None:
        """Record a sending number once per container (for the blocked-list sync)."""
        if from_ in self._known_senders:
            return
        self._db.put_item(
            TableName=self._table,
            Item=to_item({"pk": "SENDERS", "sk": from_, "first_seen": iso(now)}),
        )
        self._known_senders.add(from_)

    def list_senders(self) -> list[str]:
        return [str(item["sk"]) for item in self._query_all("pk = :pk", {":pk": "SENDERS"})]


class Cursor(Table):
    def get_cursor(self) -> dict[str, Any] | None:
        item = self._get({"pk": "CURSOR", "sk": "reconcile"}, ConsistentRead=True)
        return item.get("cursor") if item else None

    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None:
        key = {"pk": "CURSOR", "sk": "reconcile"}
        if cursor is None:
            self._db.delete_item(TableName=self._table, Key=to_values(key))
        else:
            item = to_item({**key, "cursor": cursor, "saved_at": iso(now)})
            self._db.put_item(TableName=self._table, Item=item)
