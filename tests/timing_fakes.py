"""In-memory fakes of the send path's timing ports: the shared pace (the
PACE item) and EventBridge Scheduler."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.logic.pacing import PaceStore
from aculab_messaging.logic.scheduling import Scheduler


class InMemoryPace:
    """The PaceStore port (logic/pacing.py): the PACE item, each write conditional on what was seen."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"n": {}, "r": {}}
        self.writes = 0

    def pace_state(self, *, prepare: bool = False) -> dict[str, Any]:
        return copy.deepcopy(self.state)

    def take_pace_slot(self, number: str, seen_g: int | None, new_g: int | None, seen_n: int | None,
                       new_n: int | None) -> dict[str, Any] | None:
        if (new_g is not None and self.state.get("g") != seen_g) or (
                new_n is not None and self.state["n"].get(number) != seen_n):
            return self.pace_state()
        if new_g is not None:
            self.state["g"] = new_g
        if new_n is not None:
            self.state["n"][number] = new_n
        self.writes += 1
        return None

    def set_number_rate(self, number: str, milli: int, at: int) -> None:
        self.state["r"][number] = {"milli": milli, "at": at}


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
