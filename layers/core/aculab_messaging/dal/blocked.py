"""Blocked pairs (``BLOCK#<from>`` / ``TO#<to>``): opt-outs and opt-ins,
the change with the highest version winning."""

from __future__ import annotations

from aculab_messaging.dal.table import ANNOUNCE, Table


class Blocked(Table):
    def is_blocked(self, from_: str, to: str) -> bool:
        item = self._get({"pk": f"BLOCK#{from_}", "sk": f"TO#{to}"}, ProjectionExpression="blocked",
                         ConsistentRead=True)
        return bool((item or {}).get("blocked"))

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
        item = {"pk": f"BLOCK#{from_}", "sk": f"TO#{to}", "from": from_, "to": to, "blocked": blocked,
                "source": source, "change_key": version}
        if announce:
            item.update(pending_pk=ANNOUNCE, pending_sk=f"0000#BLOCK#{from_}#{to}")
        written, old = self._conditional_put(item, "attribute_not_exists(pk) OR change_key < :version",
                                             {":version": version})
        return written and bool((old or {}).get("blocked", False)) != blocked

    def blocked_for(self, from_: str) -> set[str]:
        """The mobiles ``from_`` may not send to, as we have them."""
        return {
            str(i["to"]) for i in self._query_all("pk = :pk", {":pk": f"BLOCK#{from_}"}) if i.get("blocked")
        }
