"""Message number pools (``POOLNUMBERS`` / ``<number>``): the pools each
number Aculab sent a pool's message from belongs to, learnt from status
updates and msg_status answers (the part write), read by the blocked-list
sync (every pool number) and by an inbound keyword (the pools of the number
it was sent to)."""

from __future__ import annotations

from datetime import datetime

from aculab_messaging.aculab.params import is_e164, is_pool_name
from aculab_messaging.dal.table import Table, TableAccess, iso, to_values

POOL_NUMBERS = "POOLNUMBERS"


def pool_of(from_: str | None, number: str | None) -> str | None:
    """The pool a message's part teaches ``number`` belongs to: its ``from`` when that is a
    pool's name and Aculab named a phone number it used; else None."""
    if from_ and is_pool_name(from_) and is_e164(number):
        return from_.strip()
    return None


class Pools(Table):
    def __init__(self, access: TableAccess) -> None:
        super().__init__(access)
        self._known_pool_numbers: set[tuple[str, str]] = set()  # (pool, number) written by this container

    def remember_pool_number(self, pool: str, number: str, now: datetime) -> None:
        """``number`` belongs to ``pool``: one idempotent UpdateItem (ADD to a string set),
        once per container for each pair."""
        if (pool, number) in self._known_pool_numbers:
            return
        self._db.update_item(
            TableName=self._table,
            Key=to_values({"pk": POOL_NUMBERS, "sk": number}),
            UpdateExpression="ADD pool_names :pool SET first_seen = if_not_exists(first_seen, :now)",
            ExpressionAttributeValues=to_values({":pool": {pool}, ":now": iso(now)}),
        )
        self._known_pool_numbers.add((pool, number))

    def pools_of(self, number: str) -> list[str]:
        """The pools ``number`` is known to belong to (none for a number never seen used for one)."""
        item = self._get({"pk": POOL_NUMBERS, "sk": number}, ProjectionExpression="pool_names", ConsistentRead=True)
        return sorted((item or {}).get("pool_names") or ())

    def pool_numbers(self) -> dict[str, list[str]]:
        """Every number known to belong to a pool, with its pools."""
        return {str(item["sk"]): sorted(item.get("pool_names") or ())
                for item in self._query_all("pk = :pk", {":pk": POOL_NUMBERS})}
