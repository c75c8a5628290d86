"""Blocked pairs (``BLOCK#<from>`` / ``TO#<to>``): opt-outs and opt-ins,
the change with the highest version winning."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import batched

from aculab_messaging.dal.table import ANNOUNCE, Table, to_values

Pair = tuple[str, str]  # (from, to)


def _key(from_: str, to: str) -> dict[str, str]:
    return {"pk": f"BLOCK#{from_}", "sk": f"TO#{to}"}


class Blocked(Table):
    def is_blocked(self, from_: str, to: str) -> bool:
        item = self._get(_key(from_, to), ProjectionExpression="blocked", ConsistentRead=True)
        return bool((item or {}).get("blocked"))

    def blocked_among(self, pairs: Iterable[Pair]) -> set[Pair]:
        """Which of these (from, to) pairs are blocked, read as ``is_blocked``
        reads one (consistently), 100 to a BatchGetItem."""
        blocked: set[Pair] = set()
        for chunk in batched(sorted(set(pairs)), 100, strict=False):
            ask = [to_values(_key(*pair)) for pair in chunk]
            for item in self._batch_get(
                {"Keys": ask, "ConsistentRead": True, "ProjectionExpression": "pk, sk, blocked"}, "blocked pairs"
            ):
                if item.get("blocked"):
                    blocked.add((str(item["pk"]).removeprefix("BLOCK#"), str(item["sk"]).removeprefix("TO#")))
        return blocked

    def set_blocked(
        self, from_: str, to: str, blocked: bool, source: str, version: str, *, announce: bool = False
    ) -> bool:
        """Record an opt-out (blocked) or opt-in as of ``version``, a string that
        orders changes: ``<arrival time>#<msg_ref>`` for an inbound keyword.

        Order-independent and idempotent: a pair keeps the change with the
        highest version; a repeat of the same change is a no-op. Returns True
        when the pair's blocked state changed. ``announce``: the pair waits in
        the announce partition until its ``Opt-Out Changed`` is out.
        """
        item = {**_key(from_, to), "from": from_, "to": to, "blocked": blocked,
                "source": source, "change_key": version}
        if announce:
            item.update(pending_pk=self._spread(ANNOUNCE, f"{from_}#{to}"), pending_sk=f"0000#BLOCK#{from_}#{to}")
        written, old = self._conditional_put(item, "attribute_not_exists(pk) OR change_key < :version",
                                             {":version": version})
        return written and bool((old or {}).get("blocked", False)) != blocked

    def blocked_for(self, from_: str) -> dict[str, str]:
        """The mobiles ``from_`` may not send to, as we have them, each with
        the source of its block (``inbound``: a keyword; ``reconcile``:
        Aculab's list), which tells the reconciler whether it may lift it."""
        return {
            str(i["to"]): str(i.get("source", ""))
            for i in self._query_all("pk = :pk", {":pk": f"BLOCK#{from_}"}) if i.get("blocked")
        }
