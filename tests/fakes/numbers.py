"""In-memory items about numbers and campaigns (the ports BlockedReader/BlockedPairs, SendersSeen,
ReconcileCursor, PoolNumbers, CountryVelocity and CampaignMarks, logic/store_ports.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from aculab_messaging.dal.pools import POOL_NUMBERS
from aculab_messaging.logic.ids import MAX_SCHEDULE_AHEAD
from tests.fakes.table import ANNOUNCE, InMemoryTable, epoch, iso


class InMemoryBlocked:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table

    def _blocked(self, from_: str, to: str) -> bool:
        return bool(self.table.items.get((f"BLOCK#{from_}", f"TO#{to}"), {}).get("blocked"))

    def is_blocked(self, from_: str, to: str) -> bool:
        self.table.blocked_reads.append(1)
        return self._blocked(from_, to)

    def blocked_among(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        pairs = set(pairs)
        self.table.blocked_reads.append(len(pairs))
        return {pair for pair in pairs if self._blocked(*pair)}

    def set_blocked(self, from_: str, to: str, blocked: bool, source: str, version: str, *,
                    announce: bool = False) -> bool:
        key = (f"BLOCK#{from_}", f"TO#{to}")
        old = self.table.items.get(key)
        if old is not None and old["change_key"] >= version:
            return False
        item = {"pk": key[0], "sk": key[1], "from": from_, "to": to, "blocked": blocked, "source": source,
                "change_key": version}
        if announce:
            item.update(pending_pk=ANNOUNCE, pending_sk=f"0000#BLOCK#{from_}#{to}")
        self.table.items[key] = item
        return bool((old or {}).get("blocked", False)) != blocked

    def blocked_for(self, from_: str) -> dict[str, str]:
        return {str(i["to"]): str(i.get("source", "")) for (pk, _), i in self.table.items.items()
                if pk == f"BLOCK#{from_}" and i.get("blocked")}


class InMemorySenders:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table

    def remember_sender(self, from_: str, now: datetime) -> None:
        self.table.items[("SENDERS", from_)] = {"pk": "SENDERS", "sk": from_, "first_seen": iso(now)}

    def list_senders(self) -> list[str]:
        return sorted(sk for pk, sk in self.table.items if pk == "SENDERS")


class InMemoryCursor:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table

    def get_cursor(self) -> dict[str, Any] | None:
        item = self.table.items.get(("CURSOR", "reconcile"))
        return copy.deepcopy(item["cursor"]) if item else None

    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None:
        if cursor is None:
            self.table.items.pop(("CURSOR", "reconcile"), None)
        else:
            self.table.items[("CURSOR", "reconcile")] = {"cursor": copy.deepcopy(cursor), "saved_at": iso(now)}


class InMemoryPools:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table

    def remember_pool_number(self, pool: str, number: str, now: datetime) -> None:
        item = self.table.items.setdefault((POOL_NUMBERS, number), {"pk": POOL_NUMBERS, "sk": number,
                                                                    "pool_names": set(), "first_seen": iso(now)})
        item["pool_names"].add(pool)

    def pools_of(self, number: str) -> list[str]:
        return sorted(self.table.items.get((POOL_NUMBERS, number), {}).get("pool_names") or ())

    def pool_numbers(self) -> dict[str, list[str]]:
        return {sk: sorted(i["pool_names"]) for (pk, sk), i in sorted(self.table.items.items()) if pk == POOL_NUMBERS}


class InMemoryVelocity:
    def __init__(self, table: InMemoryTable) -> None:
        self.table = table

    def count_country_send(self, country: str, now: datetime, cap: int) -> bool:
        item = self.table.items.setdefault((f"VELOCITY#{country}", now.strftime("%Y-%m-%dT%H")), {"sends": 0})
        if item["sends"] >= cap:
            return False
        item["sends"] += 1
        return True


class InMemoryCampaigns:
    """A campaign's mark; the campaign index, read here from the message items. Moments a test may act at,
    each run once: ``on_mark_read`` right after a mark is read (the send path reads it before its claim),
    ``on_page`` right after a page of the index is read; ``frozen_page``: the index as it was read a moment
    ago (it is eventually consistent)."""

    def __init__(self, table: InMemoryTable) -> None:
        self.table = table
        self.on_mark_read: Callable[[], object] | None = None
        self.on_page: Callable[[], object] | None = None
        self.frozen_page: list[tuple[str, str]] | None = None

    @staticmethod
    def _once(hook: Callable[[], object] | None) -> None:
        if hook is not None:
            hook()

    def cancel_campaign(self, campaign_id: str, now: datetime, pass_id: str) -> str | None:
        key = (f"CAMPAIGN#{campaign_id}", "CAMPAIGN")
        mark = self.table.items.setdefault(key, {"pk": key[0], "sk": key[1], "cancelled_at": iso(now)})
        mark["expires_at"] = epoch(now + MAX_SCHEDULE_AHEAD + timedelta(days=2))
        passes: dict[str, str] = mark.setdefault("cancel_passes", {})
        return passes.get(pass_id)

    def advance_campaign_cancel(self, campaign_id: str, pass_id: str, through: str) -> bool:
        passes = self.table.items.get((f"CAMPAIGN#{campaign_id}", "CAMPAIGN"), {}).get("cancel_passes")
        if passes is None or passes.get(pass_id, "") >= through:
            return False
        passes[pass_id] = through
        return True

    def end_campaign_pass(self, campaign_id: str, pass_id: str) -> None:
        self.table.items.get((f"CAMPAIGN#{campaign_id}", "CAMPAIGN"), {}).get("cancel_passes", {}).pop(pass_id, None)

    def campaign_cancelled_at(self, campaign_id: str) -> str | None:
        found = self.table.items.get((f"CAMPAIGN#{campaign_id}", "CAMPAIGN"))
        hook, self.on_mark_read = self.on_mark_read, None
        self._once(hook)
        return found["cancelled_at"] if found else None

    def campaign_page(self, campaign_id: str, after: str | None, limit: int) -> tuple[list[tuple[str, str]],
                                                                                     str | None]:
        if self.frozen_page is not None:
            return self.frozen_page, None
        members = sorted((i["message_id"], i["status"]) for (_pk, sk), i in self.table.items.items()
                         if sk == "MSG" and i.get("campaign_id") == campaign_id and i["message_id"] > (after or ""))
        page = members[:limit]
        hook, self.on_page = self.on_page, None
        self._once(hook)
        return page, page[-1][0] if len(members) > limit else None
