"""In-memory fakes of the send path's timing ports: the shared pace (the
PACE items) and EventBridge Scheduler."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.logic.scheduling import Scheduler
from aculab_messaging.logic.store_ports import PaceStore
from bench.fleet import item_size


class InMemoryPace:
    """The PaceStore port (logic/pacing.py) on the items dal/pace.py keeps: ``PACE`` (g, t) and one
    ``PACE#<number>`` per number (n, r), each write conditional on what was seen. ``written``: the
    size in bytes (as DynamoDB bills it) of the item each write left; ``reads``: the number each read
    asked for (None: the stack's item alone)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.writes = 0
        self.written: list[int] = []
        self.reads: list[str | None] = []  # the number each read asked for, if any

    def pace_state(self, number: str | None = None) -> dict[str, Any]:
        self.reads.append(number)
        stack = self.items.get("PACE", {})
        state = {"g": stack.get("g"), "t": stack.get("t")}
        if number is not None:
            item = self.items.get(f"PACE#{number}", {})
            state.update(n=item.get("n"), r=copy.deepcopy(item.get("r")))
        return state

    def take_pace_slot(self, number: str, seen_g: int | None, new_g: int | None, seen_n: int | None,
                       new_n: int | None, campaign: str | None = None, seen_c: int | None = None,
                       new_c: int | None = None) -> dict[str, Any] | None:
        moved: dict[str, Any] = {}
        if campaign is not None and new_c is not None:
            item = self.items.get(f"CAMPAIGN#{campaign}/PACE", {})
            if item.get("c") != seen_c:
                return {"c": item.get("c")}
            self._write(f"CAMPAIGN#{campaign}/PACE", c=new_c, expires_at=new_c // 1_000_000 + 86_400)
        if new_n is not None:
            item = self.items.get(f"PACE#{number}", {})
            if item.get("n") != seen_n:
                return {"n": item.get("n"), "r": copy.deepcopy(item.get("r"))}
            self._write(f"PACE#{number}", n=new_n, expires_at=new_n // 1_000_000 + 86_400)
            moved["n"] = new_n
        if new_g is not None:
            stack = self.items.get("PACE", {})
            if stack.get("g") != seen_g:
                return {"g": stack.get("g"), "t": stack.get("t"), **moved}
            self._write("PACE", g=new_g)
        return None

    def book_campaign_turn(self, campaign: str, seen_v: int | None, new_v: int) -> dict[str, Any] | None:
        item = self.items.get(f"CAMPAIGN#{campaign}/PACE", {})
        if item.get("v") != seen_v:
            return {"v": item.get("v")}
        self._write(f"CAMPAIGN#{campaign}/PACE", v=new_v, expires_at=new_v // 1_000_000 + 86_400)
        return None

    def set_number_rate(self, number: str, milli: int, at: int) -> None:
        self._write(f"PACE#{number}", r={"milli": milli, "at": at}, expires_at=at // 1_000_000 + 86_400)
        if self.items.get("PACE", {}).get("t") is None or self.items["PACE"]["t"] < at:
            self._write("PACE", t=at)

    def _write(self, pk: str, **attributes: Any) -> None:
        item = self.items.setdefault(pk, {"pk": pk, "sk": "PACE"})
        item.update(attributes)
        self.writes += 1
        self.written.append(item_size(item))


@dataclass
class FakeScheduler:
    """The Scheduler port: schedules by name (at, body); ``fire_due`` delivers what is due."""

    schedules: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    def schedule(self, name: str, at: datetime, body: str) -> None:
        self.schedules.setdefault(name, (at, body))

    def unschedule(self, name: str) -> bool:
        return self.schedules.pop(name, None) is not None

    def fire_due(self, now: datetime) -> list[str]:
        due = [name for name, (at, _) in self.schedules.items() if at <= now]
        return [self.schedules.pop(name)[1] for name in due]


def _conforms(pace: InMemoryPace, scheduler: FakeScheduler) -> tuple[PaceStore, Scheduler]:
    return pace, scheduler  # mypy: the fakes are the ports
