"""Erasure of one phone number (GDPR's right to erasure; GOV.UK Notify's data retention).

Every item of the table that holds the number (``to`` or ``from``) is found (``ErasureStore.holding``,
page by page) and deleted, each delete conditional on the number still being there, so a run cut short
(a crash, its time out) is finished by running it again, and a second run finds nothing:

- a message to or from it: its ref items first (``refs`` and ``earlier_refs``), then the message;
- an inbound message, or a long one's group: its archived media first (every version of every object under
  ``inbound/<day>/<message id>/``, the media archiver's keys), then the item;
- a blocked pair: **kept** while it blocks (the law requires honouring an opt-out, and the send path finds
  it by the number: ``is_blocked``), deleted when it is an opt-in (nothing to honour).

Deleting the item last means a run that stops half-way leaves the item that leads to what is left. The
erasure is recorded (``ErasureStore.record_erasure``) under a keyed hash of the number, never the number:
how many of each kind were removed, when, whether it is complete. Nothing here logs a number.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aculab_messaging.logic.inbound import parts_of
from aculab_messaging.logic.media import media_key
from aculab_messaging.logic.ports import MediaEraser
from aculab_messaging.logic.store_ports import ErasureStore

if TYPE_CHECKING:
    from aculab_messaging.logic.scheduling import Scheduler

log = logging.getLogger(__name__)

# a page is not started with less time than this left: its deletes and the record's write must fit
TIME_MARGIN_SECONDS = 20.0


@dataclass
class ErasureCounts:
    """What one erasure removed (and kept), by kind."""

    messages: int = 0
    refs: int = 0
    inbound_messages: int = 0
    inbound_groups: int = 0
    media_objects: int = 0
    opt_ins_removed: int = 0
    opt_outs_kept: int = 0
    schedules: int = 0  # a scheduled send's one-time schedule (its input holds the number and the text)
    other_kept: int = 0  # an item of a kind this tool does not know (its kind, never its key, is logged)

    def add(self, other: ErasureCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class ErasureResult:
    erasure_id: str
    number_hash: str
    complete: bool  # False: time ran out; run again with ``resume`` (and this erasure_id)
    counts: ErasureCounts
    resume: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"erasureId": self.erasure_id, "numberHash": self.number_hash, "complete": self.complete,
                "counts": asdict(self.counts), "resume": self.resume}


def media_prefixes(item: Mapping[str, Any]) -> set[str]:
    """Where the media archiver may have put an inbound message's files: ``inbound/<day>/<message id>/``
    (``logic/media.media_key``) for its msg_ref (a long message's: every part's), on the day Aculab
    stamped it and the days we stored it and the day after (an announcement without Aculab's time
    takes its own, which a reconciler run may make the next day)."""
    refs = {str(item["msg_ref"])} if item.get("msg_ref") else set()
    stamps = {str(item[k]) for k in ("received_at", "stored_at", "first_at") if item.get(k)}
    for _, part in parts_of(item):
        if part.get("msg_ref"):
            refs.add(str(part["msg_ref"]))
        if part.get("received_at"):
            stamps.add(str(part["received_at"]))
    days: set[str] = set()
    for stamp in stamps:
        try:
            day = datetime.fromisoformat(stamp.replace("Z", "+00:00")).date()
        except ValueError:
            continue
        days.update({day.isoformat(), (day + timedelta(days=1)).isoformat()})
    return {media_key(day, ref, 1, "x").rsplit("/", 1)[0] + "/" for ref in refs for day in days}


def number_hasher(key: Callable[[], str]) -> Callable[[str], str]:
    """HMAC-SHA256 of a number (E.164 with ``+``) under the stack's erasure key (a generated secret only
    the erase function reads). Keyed, not salted: the numbers a country uses are few enough (about 10^10)
    to hash every one of them in minutes, so a salted SHA-256 whose salt sits beside it hides nothing;
    without the key the hash names no number, and with it an operator can still answer "was +44... erased?"."""

    def hashed(number: str) -> str:
        return hmac.new(key().encode(), number.encode(), hashlib.sha256).hexdigest()

    return hashed


def _kind(pk: str) -> str:
    return pk.split("#", 1)[0] if "#" in pk else pk


@dataclass
class Eraser:
    store: ErasureStore
    media: MediaEraser
    number_hash: Callable[[str], str]  # a keyed hash (HMAC): the record names the number by it alone
    clock: Callable[[], datetime]
    time_margin: float = TIME_MARGIN_SECONDS
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    scheduler: Scheduler | None = None  # the number's scheduled sends' schedules are deleted with them
    own_numbers: frozenset[str] = frozenset()  # SendingNumbers: ours, never a person's
    default_region: str | None = None  # DefaultRegion: a national number reads as the send path read it

    def erase(self, number: str, *, erasure_id: str | None = None, resume: dict[str, Any] | None = None,
              seconds_left: Callable[[], float] = lambda: float("inf")) -> ErasureResult:
        """Erase ``number`` (E.164 with ``+``, as the table keeps numbers). ``resume`` and ``erasure_id``:
        where a run whose time ran out stopped, to go on from there under the same record."""
        if number in self.own_numbers or self.store.is_sender(number):
            raise ValueError("one of our sending numbers (or a pool's), not a person's")
        hashed = self.number_hash(number)
        erasure = erasure_id or self.new_id()
        total = ErasureCounts()
        self.store.record_erasure(hashed, erasure, ErasureCounts(), self.clock(), complete=False)
        recorded_complete = False
        for items, cursor in self.store.holding(number, resume):
            counts = ErasureCounts()
            for item in items:
                self._erase_item(item, number, counts)
            total.add(counts)
            recorded_complete = cursor is None
            self.store.record_erasure(hashed, erasure, counts, self.clock(), complete=recorded_complete)
            if cursor is not None and seconds_left() < self.time_margin:
                log.info("erasure paused: time is short", extra={"erasure_id": erasure, "counts": asdict(total)})
                return ErasureResult(erasure, hashed, False, total, cursor)
        if not recorded_complete:  # no page came back at all: nothing more to read
            self.store.record_erasure(hashed, erasure, ErasureCounts(), self.clock(), complete=True)
        log.info("erasure complete", extra={"erasure_id": erasure, "counts": asdict(total)})
        return ErasureResult(erasure, hashed, True, total)

    def _erase_item(self, item: Mapping[str, Any], number: str, counts: ErasureCounts) -> None:
        pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
        kind = _kind(pk)
        if kind == "BLOCK":
            if item.get("blocked"):
                counts.opt_outs_kept += 1  # the opt-out is honoured, so it stays
            elif self.store.delete_opt_in(pk, sk, number):
                counts.opt_ins_removed += 1
        elif kind == "MSG":
            message_id = str(item.get("message_id") or pk.removeprefix("MSG#"))
            if item.get("schedule_name") and self.scheduler is not None:
                counts.schedules += self.scheduler.unschedule(str(item["schedule_name"]))
            for ref in {*map(str, item.get("refs") or ()), *map(str, item.get("earlier_refs") or ())}:
                counts.refs += self.store.delete_ref(ref, message_id)
            # its key stays, as a tombstone: a copy of its request still on the queue is a duplicate, not sent
            counts.messages += self.store.erase_message(pk, sk, number, item, self.clock())
        elif kind in ("IN", "INMP"):
            for prefix in sorted(media_prefixes(item)):
                counts.media_objects += self.media.erase_prefix(prefix)
            deleted = self.store.delete_holding(pk, sk, number)
            if kind == "IN":
                counts.inbound_messages += deleted
            else:
                counts.inbound_groups += deleted
        else:
            counts.other_kept += 1
            log.warning("an item of a kind erasure does not know holds the number: kept", extra={"kind": kind})
