"""Quiet hours: no send lands in the recipient's night.

A window ("21:00-08:00": from 21:00 up to 08:00 the next morning) is local time in the recipient's country:
libphonenumber's region of the number, and that country's zones as the IANA database lists them (``zone.tab``
of the tzdata package, which zoneinfo also reads where the system has no database, as on Lambda). A country
of several zones is quiet while any of them is: a send waits until the window is over in every one (the most
restrictive). Where no moment within two days is open in every zone (a country spread wider than the open
hours), it waits for the window of the country's first-listed zone instead (zone.tab's principal zone
of the country).

A number with no country (international freephone, satellite) has no quiet hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

# "HH:MM-HH:MM" (24-hour clock, local time) or "off"
QUIET_HOURS_PATTERN = r"^(off|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$"
OFF = "off"
_SEARCH = timedelta(days=2)


@dataclass(frozen=True)
class QuietWindow:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietWindow | None:
        """``"21:00-08:00"`` a window; ``"off"`` none. Raises ValueError for anything else."""
        if not re.match(QUIET_HOURS_PATTERN, text):
            raise ValueError(f"quiet hours are HH:MM-HH:MM or {OFF!r}, not {text!r}")
        if text == OFF:
            return None
        start, end = (time.fromisoformat(t) for t in text.split("-"))
        if start == end:
            raise ValueError(f"quiet hours {text!r} start and end at the same time: give {OFF!r} for none")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def quiet(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight

    def opens(self, at: datetime, zone: ZoneInfo) -> datetime:
        """The first moment from ``at`` that is outside the window in ``zone``."""
        local = at.astimezone(zone)
        if not self.quiet(local.time().replace(tzinfo=None)):
            return at
        day = local.date() + timedelta(days=1) if self.start > self.end and local.time() >= self.start \
            else local.date()
        # the end's wall time read both ways a clock change allows (fold 0 and 1): in a fall-back fold the
        # later reading is the one still ahead; in a spring-forward gap neither reading is that wall time,
        # and the window ends as the clock jumps over it (clock changes fall on whole minutes)
        wall = datetime.combine(day, self.end, tzinfo=zone)
        readings = sorted({wall.replace(fold=f).astimezone(at.tzinfo) for f in (0, 1)})
        if all(r.astimezone(zone).time() != self.end for r in readings):
            moment = max(at, readings[0])
            moment = moment.replace(second=0, microsecond=0) + (timedelta(minutes=1) if moment.second
                                                                or moment.microsecond else timedelta(0))
            while moment < readings[-1] and self.quiet(moment.astimezone(zone).time()):
                moment += timedelta(minutes=1)
            return moment
        return next((r for r in readings if r > at), at)


@dataclass(frozen=True)
class Deferral:
    """A send held back by the recipient's quiet hours, until ``until``: the window opened last in ``zone``."""

    until: datetime
    zone: str
    window: QuietWindow


def deferral(window: QuietWindow | None, country: str, at: datetime) -> Deferral | None:
    """When a send due ``at`` to a number of ``country`` may go, if its quiet hours hold it back."""
    zones = zones_of(country) if window else ()
    if window is None or not zones:
        return None
    from zoneinfo import ZoneInfo

    found = _open_everywhere(window, [ZoneInfo(z) for z in zones], at)
    if found is None:  # open hours that never meet across the country's zones: its principal zone's
        found = window.opens(at, ZoneInfo(zones[0])), zones[0]
    until, zone = found
    return Deferral(until, zone, window) if until > at else None


def _open_everywhere(window: QuietWindow, zones: list[ZoneInfo], at: datetime) -> tuple[datetime, str] | None:
    """The first moment from ``at`` outside the window in every zone, and the zone that opened last."""
    moment, last = at, str(zones[0])
    while moment - at <= _SEARCH:
        opened = [(window.opens(moment, z), str(z)) for z in zones]
        latest = max(opened, key=lambda o: o[0])
        if latest[0] == moment:
            return moment, last
        moment, last = latest
    return None


@cache
def zones_of(country: str) -> tuple[str, ...]:
    """The IANA zones of an ISO 3166 country, in ``zone.tab``'s order (its principal zone first); () unknown."""
    from importlib.resources import files

    rows = files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8").splitlines()
    return tuple(row.split("\t")[2] for row in rows
                 if row and not row.startswith("#") and row.split("\t")[0] == country.upper())
