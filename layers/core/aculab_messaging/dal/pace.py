"""The shared pace of sends (``PACE`` / ``PACE``): one item every send
invocation reserves its slots on, with one conditional UpdateItem each
(logic/pacing.py decides the slot). Times are integer microseconds, so a
condition compares them exactly.

    g          the stack's next free slot
    n.<number> each sending number's next free slot
    r.<number> a number's throttled rate after an Aculab 429: {"milli": rate x 1000, "at": when set}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aculab_messaging.dal.table import Table, from_item, to_values

_KEY = {"pk": "PACE", "sk": "PACE"}


class Pace(Table):
    _pace_item_made = False

    def pace_state(self, *, prepare: bool = False) -> dict[str, Any]:
        """The state; ``prepare``: make the item first (once a container), before a slot is worked
        out, so that the first slot's write is not made late by it."""
        if prepare:
            self._make_pace_item()
        return self._get(_KEY, ConsistentRead=True) or {}

    def take_pace_slot(
        self, number: str, seen_g: int | None, new_g: int | None, seen_n: int | None, new_n: int | None
    ) -> dict[str, Any] | None:
        """Move the stack's and the number's next slot on, if they are still
        what the caller saw. None: done; else the state that stopped it."""
        sets: list[str] = []
        conditions: list[str] = []
        values: dict[str, Any] = {}
        for path, name, seen, new in (("g", "g", seen_g, new_g), ("n.#num", "n", seen_n, new_n)):
            if new is None:
                continue  # a scope that does not limit this send is left as it is
            sets.append(f"{path} = :{name}")
            values[f":{name}"] = new
            conditions.append(f"attribute_not_exists({path})" if seen is None else f"{path} = :seen_{name}")
            if seen is not None:
                values[f":seen_{name}"] = seen
        if not sets:
            return None
        return self._pace_update("SET " + ", ".join(sets), " AND ".join(conditions), values, number)

    def set_number_rate(self, number: str, milli: int, at: int) -> None:
        self._pace_update("SET r.#num = :r", "attribute_exists(pk)", {":r": {"milli": milli, "at": at}}, number)

    def _pace_update(self, expression: str, condition: str, values: Mapping[str, Any],
                     number: str) -> dict[str, Any] | None:
        self._make_pace_item()
        names = {"#num": number} if "#num" in expression + condition else {}
        try:
            self._db.update_item(
                TableName=self._table, Key=to_values(_KEY), UpdateExpression=expression,
                ConditionExpression=condition, ExpressionAttributeValues=to_values(values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD", **({"ExpressionAttributeNames": names} if names else {}),
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            return from_item(exc.response.get("Item")) or {}
        return None

    def _make_pace_item(self) -> None:
        """The item and its two maps, once (a map must exist before a path into it is set)."""
        if self._pace_item_made:
            return
        self._conditional_put({**_KEY, "n": {}, "r": {}}, "attribute_not_exists(pk)")
        self._pace_item_made = True
