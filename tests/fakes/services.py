"""In-memory fakes of the services' other ports (logic/ports.py): the event publisher and Aculab, and a
controllable clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import BlockedEntry, CancelResult, PartStatus, SendParams, aculab_sender
from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.ports import Aculab, EventPublisher, PublishError


@dataclass
class RecordingPublisher:
    """The EventPublisher port: keeps what it published; ``failing`` makes it refuse everything."""

    published: list[Event] = field(default_factory=list)
    failing: bool = False

    def publish(self, events: Sequence[Event]) -> None:
        if self.failing and events:
            raise PublishError(events, "Throttled")
        self.published.extend(events)

    def types(self) -> list[str]:
        return [e.detail_type for e in self.published]


@dataclass
class FakeAculab:
    """The Aculab port: refs for each msg_send, answers set by the test, every call recorded."""

    parts: int = 1
    error: AculabError | None = None
    statuses: dict[str, PartStatus] = field(default_factory=dict)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # from -> the mobiles Aculab blocks
    sent: list[SendParams] = field(default_factory=list)
    cancelled: list[list[str]] = field(default_factory=list)
    status_calls: list[list[str]] = field(default_factory=list)
    _refs: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # the error comes after Aculab queued the message (a 502 from its gateway, a read timeout): refs in queued_refs
    error_after_queueing: bool = False
    queued_refs: list[str] = field(default_factory=list)

    def msg_send(self, params: SendParams) -> list[str]:
        if self.error and not self.error_after_queueing:
            raise self.error
        self.sent.append(params)
        refs = [f"ref-{next(self._refs)}" for _ in range(self.parts)]
        self.queued_refs += refs
        if self.error:
            raise self.error
        return refs

    def msg_cancel(self, msg_refs: Sequence[str]) -> dict[str, CancelResult]:
        self.cancelled.append(list(msg_refs))
        return dict.fromkeys(msg_refs, CancelResult.SUCCESS)

    def msg_status(self, msg_refs: Sequence[str]) -> dict[str, PartStatus]:
        self.status_calls.append(list(msg_refs))
        return {ref: self.statuses[ref] for ref in msg_refs if ref in self.statuses}

    def msg_list_blocked(self, *, to: str | None = None, from_: str | None = None) -> list[BlockedEntry]:
        """Aculab's rows (numbers without '+') parsed as the client parses them; ``blocked`` in either form."""
        if from_ is None:
            return []
        ours = aculab_sender(from_)
        mobiles = [m for number, found in self.blocked.items() if aculab_sender(number) == ours for m in found]
        return [BlockedEntry.from_json({"to": aculab_sender(m), "from": ours}) for m in mobiles]


class Clock:
    """A controllable clock."""

    def __init__(self, start: datetime = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _conforms(publisher: RecordingPublisher, aculab: FakeAculab) -> tuple[EventPublisher, Aculab]:
    """mypy checks here that each fake keeps its ports' signatures."""
    return publisher, aculab
