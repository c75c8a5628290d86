"""The ports the services stand on: the store, the event publisher and Aculab.

The DynamoDB store (``dal``), the EventBridge publisher (``publisher``) and
the HTTP client (``aculab.client``) implement them in production; the unit
tests inject in-memory fakes (``tests/fakes.py``) that keep the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aculab_messaging.aculab.params import BlockedEntry, CancelResult, PartStatus, SendParams
    from aculab_messaging.contracts.events import Event
    from aculab_messaging.logic.lifecycle import Change, Moved
    from aculab_messaging.records import MessageRecord, PartWrite, PartWriteResult, StoredMedia
    from aculab_messaging.status import Status


class PublishError(RuntimeError):
    """Some events were not accepted; ``failed`` lists them."""

    def __init__(self, failed: Sequence[Event], reason: str) -> None:
        super().__init__(f"{len(failed)} event(s) not published: {reason}")
        self.failed = list(failed)


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Event]) -> None:
        """Every event out, or PublishError naming those that are not."""


class Readable(Protocol):
    """A file arriving: its content type, and read(n) until b""."""

    @property
    def content_type(self) -> str: ...
    def read(self, size: int = -1) -> bytes: ...


class MediaSource(Protocol):
    """Aculab's message media store."""

    def file_get(self, filename: str, filetype: str = "msg_media") -> AbstractContextManager[Readable]: ...


class MediaArchive(Protocol):
    """Where received media is kept (S3)."""

    @property
    def bucket(self) -> str: ...
    def stored(self, key: str) -> StoredMedia | None: ...
    def store(self, key: str, stream: Readable, content_type: str) -> StoredMedia: ...


class MessageReader(Protocol):
    def get_message(self, message_id: str) -> MessageRecord | None: ...


class Aculab(Protocol):
    def msg_send(self, params: SendParams) -> list[str]: ...
    def msg_cancel(self, msg_refs: Sequence[str]) -> dict[str, CancelResult]: ...
    def msg_status(self, msg_refs: Sequence[str]) -> dict[str, PartStatus]: ...
    def msg_list_blocked(self, *, to: str | None = None, from_: str | None = None) -> list[BlockedEntry]: ...


class SendQueue(Protocol):
    """The send queue, as the send path hands records back to it."""

    def later(self, body: str, delay_seconds: int) -> None:
        """The body again, as a fresh message visible after ``delay_seconds`` (<= 900): a wait
        (the pace, a send_at within 15 minutes, a busy claim) uses up no receive of a record."""

    def retry_after(self, record: Mapping[str, Any], seconds: int) -> None:
        """This record visible again after ``seconds`` (a retry after a failure: one receive)."""

    def dead_letter(self, record: Mapping[str, Any]) -> None:
        """The record onto the dead-letter queue (the caller then acknowledges it)."""


class Store(Protocol):
    """Every write is one atomic, conditional request: a False / a record
    back means the condition did not hold, never a half-done change."""

    @property
    def shard_count(self) -> int: ...

    # -- the lifecycle (logic/lifecycle.py): every move of a message, and its outbox
    def transition(self, change: Change) -> Moved: ...
    def record_submitted(self, change: Change, refs: Sequence[str], dlr: bool) -> Moved: ...
    def record_adopted(self, change: Change, old: MessageRecord, refs: Sequence[str], dlr: bool) -> Moved: ...
    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None: ...
    def clear_events(self, message_id: str, event_ids: Sequence[str]) -> None: ...
    def get_message(self, message_id: str) -> MessageRecord | None: ...

    # -- status updates: parts, refs, the pending index
    def find_by_ref(self, msg_ref: str) -> tuple[str, bool] | None: ...
    def write_part(self, write: PartWrite, now: datetime) -> PartWriteResult: ...
    def write_message_status(self, message_id: str, status: Status, rank: int, now: datetime,
                             reason: str | None = None) -> bool: ...
    def touch(self, message_id: str, now: datetime) -> bool: ...
    def requeue(self, message_id: str, now: datetime) -> bool: ...
    def clear_pending(self, message_id: str) -> bool: ...
    def stale_pages(self, shard: int, before: datetime, start_key: dict[str, Any] | None = None,
                    page_size: int = 100) -> Iterator[tuple[list[MessageRecord], dict[str, Any] | None, int]]: ...

    # -- inbound and opt-outs
    def record_inbound(self, item: Mapping[str, Any], now: datetime, *,
                       announce: bool = True) -> tuple[bool, dict[str, Any]]: ...
    def add_inbound_part(self, group: Mapping[str, Any], position: int, part: Mapping[str, Any], due: datetime,
                         now: datetime) -> dict[str, Any]: ...
    def finish_inbound_group(self, pk: str, how: str, verdict: Mapping[str, Any], now: datetime) -> bool: ...
    def revise_inbound_group(self, pk: str, position: int, part: Mapping[str, Any], verdict: Mapping[str, Any],
                             revision: int, now: datetime, *, complete: bool) -> tuple[bool, dict[str, Any]]: ...
    def due_inbound_groups(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]: ...
    def announced(self, pk: str, sk: str, revision: int | None = None) -> None: ...
    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]: ...
    def is_blocked(self, from_: str, to: str) -> bool: ...
    def blocked_among(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]: ...
    def set_blocked(self, from_: str, to: str, blocked: bool, source: str, version: str, *,
                    announce: bool = False) -> bool: ...
    def blocked_for(self, from_: str) -> dict[str, str]: ...  # blocked mobile -> the source of its block

    # -- message number pools: the numbers Aculab used for a pool's name (the part write learns them)
    def remember_pool_number(self, pool: str, number: str, now: datetime) -> None: ...
    def pools_of(self, number: str) -> list[str]: ...
    def pool_numbers(self) -> dict[str, list[str]]: ...  # number -> its pools

    # -- sending numbers and the reconciler's cursor
    def remember_sender(self, from_: str, now: datetime) -> None: ...
    def list_senders(self) -> list[str]: ...
    def get_cursor(self) -> dict[str, Any] | None: ...
    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None: ...

