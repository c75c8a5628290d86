"""The SQS side of the send path: what becomes of one record (its events,
whether SQS delivers it again, after how long, or to the dead-letter queue),
and the policy that decides retries and backoff."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aculab_messaging.contracts.events import Event


@dataclass
class RecordOutcome:
    """What became of one SQS record: events to publish, and whether SQS
    should deliver it again (``retry``)."""

    events: list[Event] = field(default_factory=list)
    retry: bool = False
    reason: str | None = None
    # back on the queue after this many seconds instead of the backoff (a copy meeting a live claim)
    delay_seconds: int | None = None
    # the retry window ran out: to the dead-letter queue once its events are out
    dead_letter: bool = False
    # a fresh copy of the record went back on the queue (a wait): never retry this one too
    requeued: bool = False
    # events that wait in a message's outbox (message_id -> eventIds): cleared once published
    outbox: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def stored(cls, message_id: str, events: list[Event], *, retry: bool = False, reason: str | None = None,
               dead_letter: bool = False, requeued: bool = False) -> RecordOutcome:
        """Events that a transition stored in ``message_id``'s outbox."""
        ids = [str(e.detail["eventId"]) for e in events]
        return cls(list(events), retry=retry, reason=reason, dead_letter=dead_letter, requeued=requeued,
                   outbox={message_id: ids} if ids else {})


@dataclass(frozen=True)
class KnownBlocked:
    """The opt-outs of a batch's sends, read together before the batch fans out. Good only
    until the batch's first msg_send: a STOP stored after that must stop the batch's later
    sends, so from then on each send reads its own."""

    read: frozenset[tuple[str, str]]
    blocked: frozenset[tuple[str, str]]
    _stale: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)

    def get(self, from_: str, to: str) -> bool | None:
        """Whether the (from, to) pair is blocked; None for a pair not read (or read too long ago)."""
        if self._stale.is_set():
            return None
        return (from_, to) in self.blocked if (from_, to) in self.read else None

    def sending(self) -> None:
        """A send of the batch is leaving: what was read may be out of date from now on."""
        self._stale.set()


def partial_batch_response(outcomes: Mapping[str, RecordOutcome]) -> dict[str, list[dict[str, str]]]:
    """SQS's partial batch response: the records it must deliver again."""
    return {"batchItemFailures": [{"itemIdentifier": sqs_id} for sqs_id, o in outcomes.items() if o.retry]}


def receive_count(record: Mapping[str, Any]) -> int:
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
