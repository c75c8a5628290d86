"""The shared pace of sends: small items every send invocation reserves its
slots on, with one conditional UpdateItem each (logic/pacing.py decides the
slot). Times are integer microseconds, so a condition compares them exactly.

    PACE / PACE           g   the stack's next free slot
                          t   when Aculab last throttled any number (a send
                              reads a number's rate only while one may still be climbing back)
    PACE#<number> / PACE  n   the number's next free slot
                          r   its throttled rate after an Aculab 429: {"milli": rate x 1000, "at": when set}
                          expires_at  a day after its last write: an idle number's item goes (a
                              past slot limits nothing, a day-old rate has long climbed back)
    CAMPAIGN#<id> / PACE  c   the campaign's next free slot (a send that gives campaign_max_per_second)
                          v   the end of its line: a send turned away (its slot beyond the horizon) books a
                              place and comes back at it, not every second
                          expires_at  a day after its last write

Each number has its own item, so no item grows with the number of numbers
that send: a slot write costs the same at one number as at ten thousand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aculab_messaging.dal.table import Table, failed_item, to_values

_KEY = {"pk": "PACE", "sk": "PACE"}
_US = 1_000_000
_NUMBER_ITEM_DAYS = 1


def number_key(number: str) -> dict[str, str]:
    return {"pk": f"PACE#{number}", "sk": "PACE"}


def campaign_key(campaign_id: str) -> dict[str, str]:
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": "PACE"}


def _expiry(micros: int) -> int:
    return micros // _US + _NUMBER_ITEM_DAYS * 86_400


class Pace(Table):
    def pace_state(self, number: str | None = None) -> dict[str, Any]:
        """The stack's ``g`` and ``t``; with ``number``, its ``n`` and ``r`` too (one consistent read)."""
        keys = [_KEY, *([number_key(number)] if number is not None else [])]
        state: dict[str, Any] = {"g": None, "t": None, **({"n": None, "r": None} if number is not None else {})}
        ask = [to_values(k) for k in keys]
        for item in self._batch_get({"Keys": ask, "ConsistentRead": True, "ProjectionExpression": "pk, g, t, n, r"},
                                    "pace state"):
            state.update({k: item.get(k) for k in (("g", "t") if item["pk"] == "PACE" else ("n", "r"))})
        return state

    def take_pace_slot(
        self, number: str, seen_g: int | None, new_g: int | None, seen_n: int | None, new_n: int | None,
        campaign: str | None = None, seen_c: int | None = None, new_c: int | None = None,
    ) -> dict[str, Any] | None:
        """Move the campaign's (if asked), the number's and then the stack's next slot on, each if still
        what the caller saw. None: done; else what stopped it, as it is now
        (``c``; ``n`` and ``r``; or ``g`` and ``t`` with the number's ``n`` as this call
        moved it: the number's write went through, the stack's did not)."""
        moved: dict[str, Any] = {}
        if campaign is not None and new_c is not None:
            refused = self._move(campaign_key(campaign), "c", seen_c, new_c, ", expires_at = :exp",
                                 {":exp": _expiry(new_c)})
            if refused is not None:
                return {"c": refused.get("c")}
        if new_n is not None:
            refused = self._move(number_key(number), "n", seen_n, new_n, ", expires_at = :exp",
                                 {":exp": _expiry(new_n)})
            if refused is not None:
                return {"n": refused.get("n"), "r": refused.get("r")}
            moved["n"] = new_n
        if new_g is not None:
            # REMOVE: the n and r maps an earlier version kept on this item go with its first write
            refused = self._move(_KEY, "g", seen_g, new_g, " REMOVE n, r", {})
            if refused is not None:
                return {"g": refused.get("g"), "t": refused.get("t"), **moved}
        return None

    def book_campaign_turn(self, campaign: str, seen_v: int | None, new_v: int) -> dict[str, Any] | None:
        """Move the end of the campaign's line (``v``) on, if still what the caller saw. None: done; else
        ``v`` as it is."""
        refused = self._move(campaign_key(campaign), "v", seen_v, new_v, ", expires_at = :exp",
                             {":exp": _expiry(new_v)})
        return None if refused is None else {"v": refused.get("v")}

    def set_number_rate(self, number: str, milli: int, at: int) -> None:
        self._db.update_item(TableName=self._table, Key=to_values(number_key(number)),
                             UpdateExpression="SET r = :r, expires_at = :exp",
                             ExpressionAttributeValues=to_values({":r": {"milli": milli, "at": at},
                                                                  ":exp": _expiry(at)}))
        # the stack's item tells every send that a number's rate may be climbing back
        self._move(_KEY, "t", None, at, "", {}, later=True)

    def _move(self, key: Mapping[str, str], name: str, seen: int | None, new: int, more: str,
              values: Mapping[str, Any], *, later: bool = False) -> dict[str, Any] | None:
        """SET ``name`` to ``new`` if it is ``seen`` (None: absent), or, ``later``,
        if it is absent or before ``new``. None: done; else the item that stopped it."""
        if later:
            condition = f"attribute_not_exists({name}) OR {name} < :new"
        elif seen is None:
            condition = f"attribute_not_exists({name})"
        else:
            condition = f"{name} = :seen"
        expression = f"SET {name} = :new{more}"
        all_values = {":new": new, **({":seen": seen} if seen is not None and not later else {}), **values}
        try:
            self._db.update_item(
                TableName=self._table, Key=to_values(key), UpdateExpression=expression,
                ConditionExpression=condition, ExpressionAttributeValues=to_values(all_values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            return failed_item(exc) or {}
        return None
