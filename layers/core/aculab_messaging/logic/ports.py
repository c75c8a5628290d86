"""The ports the services stand on, besides the store (logic/store_ports.py): the event publisher,
Aculab, the send queue, metrics and media.

The DynamoDB store (``dal``), the EventBridge publisher (``publisher``) and
the HTTP client (``aculab.client``) implement them in production; the unit
tests inject in-memory fakes (``tests/fakes/``) that keep the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aculab_messaging.aculab.params import BlockedEntry, CancelResult, PartStatus, SendParams
    from aculab_messaging.contracts.events import Event
    from aculab_messaging.logic.message_record import StoredMedia


class MetricsSink(Protocol):
    """Counting what happened (runtime/metrics.py ships it)."""

    def count(self, name: str, value: int = 1) -> None: ...


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


class MediaEraser(Protocol):
    """The media archive, as an erasure removes a message's files from it."""

    def erase_prefix(self, prefix: str) -> int:
        """Every version of every object under ``prefix`` deleted: how many objects there were."""
        ...
