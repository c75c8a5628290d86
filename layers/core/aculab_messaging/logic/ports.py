"""The ports the services stand on: the store (one port per consumer), the event publisher and Aculab.

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
    from aculab_messaging.logic.message_record import MessageRecord, PartWrite, PartWriteResult, StoredMedia
    from aculab_messaging.logic.status import Status


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


# -- the store, as each consumer uses it --------------------------------------------------------
# One port per consumer, holding only the calls it makes. The DynamoDB store (``dal.MessageStore``)
# and the in-memory one (``tests/fakes.py``) implement them all: one table, as in DynamoDB. Every write
# is one atomic, conditional request: a False / a record back means the condition did not hold, never
# a half-done change. The lifecycle's transitions (logic/lifecycle.py) are the only writes that move a
# message from one state to another.


class MessageLifecycle(MessageReader, Protocol):
    """A message's moves, and its outbox of events not yet out."""

    def transition(self, change: Change) -> Moved: ...
    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None: ...
    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        """Published: out of the outbox. ``final``: whether the message may be final (its last events
        then take it off the pending index in the same write); False saves a refused write."""


class ResendStore(Protocol):
    """logic/resending.py: a part failed temporarily, the message waits to go again."""

    def transition(self, change: Change) -> Moved: ...


class TrackingStore(ResendStore, Protocol):
    """logic/tracking.py: a status update for one part of a message we sent."""

    def find_by_ref(self, msg_ref: str) -> tuple[str, bool] | None: ...
    def write_part(self, write: PartWrite, now: datetime) -> PartWriteResult: ...
    def write_message_status(self, message_id: str, status: Status, rank: int, now: datetime,
                             reason: str | None = None) -> bool: ...
    def record_adopted(self, change: Change, old: MessageRecord, refs: Sequence[str], dlr: bool) -> Moved: ...


class CancelStore(MessageReader, TrackingStore, Protocol):
    """logic/cancelling.py: a cancel, and the final states msg_cancel reports for parts."""

    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None: ...


class OptOutStore(Protocol):
    """logic/inbound.py and logic/pools.py: a mobile's STOP or START, for a number and its pools."""

    def set_blocked(self, from_: str, to: str, blocked: bool, source: str, version: str, *,
                    announce: bool = False) -> bool: ...
    def pools_of(self, number: str) -> list[str]: ...


class IngestStore(TrackingStore, OptOutStore, Protocol):
    """logic/ingest.py: what Aculab posts (status updates and inbound messages, long ones in parts)."""

    def requeue(self, message_id: str, now: datetime) -> bool: ...
    def record_inbound(self, item: Mapping[str, Any], now: datetime, *,
                       announce: bool = True) -> tuple[bool, dict[str, Any]]: ...
    def add_inbound_part(self, group: Mapping[str, Any], position: int, part: Mapping[str, Any], due: datetime,
                         now: datetime) -> dict[str, Any]: ...
    def finish_inbound_group(self, pk: str, how: str, verdict: Mapping[str, Any], now: datetime) -> bool: ...
    def revise_inbound_group(self, pk: str, position: int, part: Mapping[str, Any], verdict: Mapping[str, Any],
                             revision: int, now: datetime, *, complete: bool) -> tuple[bool, dict[str, Any]]: ...
    def announced(self, pk: str, sk: str, revision: int | None = None) -> None: ...


class CampaignReader(Protocol):
    """A campaign's messages, from the table's ``campaign`` index (logic/campaigns.py)."""

    def campaign_page(self, campaign_id: str, after: str | None, limit: int) -> tuple[list[tuple[str, str]],
                                                                                     str | None]:
        """Up to ``limit`` (message_id, status) of the campaign after ``after``, in message_id order, and
        where the next page starts (None: no more)."""

    def campaign_cancelled_at(self, campaign_id: str) -> str | None: ...


class LookupStore(MessageReader, CampaignReader, Protocol):
    """api/messages.py: GET /messages/{message_id} and GET /campaigns/{campaign_id}."""


class CampaignStore(CampaignReader, CancelStore, Protocol):
    def cancel_campaign(self, campaign_id: str, now: datetime) -> None:
        """Marked cancelled (the first cancel's time kept): its sends are withdrawn from then on."""


class SendStore(MessageLifecycle, CampaignStore, Protocol):
    """logic/sending.py and logic/send_flow.py: a send (or cancel) request off the queue."""

    def record_submitted(self, change: Change, refs: Sequence[str], dlr: bool) -> Moved: ...
    def requeue(self, message_id: str, now: datetime) -> bool: ...
    def is_blocked(self, from_: str, to: str) -> bool: ...
    def blocked_among(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]: ...
    def remember_sender(self, from_: str, now: datetime) -> None: ...
    def count_country_send(self, country: str, now: datetime, cap: int) -> bool: ...


class ReconcileStore(MessageLifecycle, TrackingStore, OptOutStore, Protocol):
    """logic/reconcile.py: stale messages, unfinished inbound groups, unannounced changes, the blocked list."""

    @property
    def shard_count(self) -> int: ...
    def stale_pages(self, shard: int, before: datetime, start_key: dict[str, Any] | None = None,
                    page_size: int = 100) -> Iterator[tuple[list[MessageRecord], dict[str, Any] | None, int]]: ...
    def touch(self, message_id: str, now: datetime) -> bool: ...
    def requeue(self, message_id: str, now: datetime) -> bool: ...
    def clear_pending(self, message_id: str) -> bool: ...
    def due_inbound_groups(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]: ...
    def finish_inbound_group(self, pk: str, how: str, verdict: Mapping[str, Any], now: datetime) -> bool: ...
    def announced(self, pk: str, sk: str, revision: int | None = None) -> None: ...
    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]: ...
    def blocked_for(self, from_: str) -> dict[str, str]: ...  # blocked mobile -> the source of its block
    def pool_numbers(self) -> dict[str, list[str]]: ...  # number -> its pools
    def list_senders(self) -> list[str]: ...
    def get_cursor(self) -> dict[str, Any] | None: ...
    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None: ...


# -- erasure (logic/erasure.py) --------------------------------------------------------------------

if TYPE_CHECKING:
    from aculab_messaging.logic.erasure import ErasureCounts


class ErasureStore(Protocol):
    """logic/erasure.py: every item holding a phone number, each deleted on its own, and the erasure's
    record (the number named by its keyed hash alone). Every delete is conditional on the number still
    being in the item: True when this call deleted it, False when it was gone already (a re-run)."""

    def holding(self, number: str, start: dict[str, Any] | None = None) -> Iterator[
            tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        """Pages of the items whose ``to`` or ``from`` is ``number``: (items, where the next page starts;
        None after the last), from ``start`` (a page's cursor) or the beginning."""
        ...

    def is_sender(self, number: str) -> bool: ...  # one of our sending numbers: never erased
    def delete_holding(self, pk: str, sk: str, number: str) -> bool: ...
    def delete_ref(self, msg_ref: str, message_id: str) -> bool: ...
    def erase_message(self, pk: str, sk: str, number: str, item: Mapping[str, Any], now: datetime) -> bool:
        """A message item holding ``number`` made a tombstone: its key, ``status`` "erased", when, and its
        expiry; every other attribute (``item``'s, as read) removed."""
        ...

    def delete_opt_in(self, pk: str, sk: str, number: str) -> bool:
        """A blocked pair of ``number`` that no longer blocks (an opt-in): deleted only while it does not."""
        ...

    def record_erasure(self, number_hash: str, erasure_id: str, counts: ErasureCounts, now: datetime, *,
                       complete: bool) -> None:
        """Add ``counts`` to the erasure's record (created at its first write); ``complete`` once done."""
        ...


class MediaEraser(Protocol):
    """The media archive, as an erasure removes a message's files from it."""

    def erase_prefix(self, prefix: str) -> int:
        """Every version of every object under ``prefix`` deleted: how many objects there were."""
        ...
