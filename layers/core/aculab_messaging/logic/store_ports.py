"""The store, as the services use it: one port per kind of item, and one per consumer made of the kinds it uses.

A kind's port is what the domain asks of one kind of item (dal/<kind>.py implements it on DynamoDB,
tests/fakes/ in memory). A consumer's port names, as read-only attributes, the kinds it touches, each
narrowed to the calls it makes. The DynamoDB store is composed in wiring (``dal.TableStore``: one object
per kind on one table), and so is the fake (``tests/fakes/store.py``). Every write is one atomic,
conditional request: a False / a record back means the condition did not hold, never a half-done change.
The lifecycle's transitions (logic/lifecycle.py) are the only writes that move a message from one state
to another.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aculab_messaging.contracts.events import Event
    from aculab_messaging.logic.erasure import ErasureCounts
    from aculab_messaging.logic.lifecycle import Change, Moved
    from aculab_messaging.logic.message_record import MessageRecord, PartWrite, PartWriteResult
    from aculab_messaging.logic.status import Status

# -- the kinds ------------------------------------------------------------------------------------


class MessageReader(Protocol):
    """Message items (``MSG#<id>``), read."""

    def get_message(self, message_id: str) -> MessageRecord | None: ...


class MessageMoves(MessageReader, Protocol):
    """Message items: a message's moves (dal/messages.py), and its outbox of events not yet out."""

    def transition(self, change: Change) -> Moved: ...
    def record_submitted(self, change: Change, refs: Sequence[str], dlr: bool) -> Moved: ...
    def record_adopted(self, change: Change, old: MessageRecord, refs: Sequence[str], dlr: bool) -> Moved: ...
    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None: ...
    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        """Published: out of the outbox. ``final``: whether the message may be final (its last events
        then take it off the pending index in the same write); False saves a refused write."""


class RefIndex(Protocol):
    """Ref items (``REF#<msg_ref>``, dal/refs.py): a status update's msg_ref to its message."""

    def find_by_ref(self, msg_ref: str) -> tuple[str, bool] | None: ...


class PartWrites(Protocol):
    """A message item's parts (dal/parts.py): what Aculab reports for each."""

    def write_part(self, write: PartWrite, now: datetime) -> PartWriteResult: ...
    def write_message_status(self, message_id: str, status: Status, rank: int, now: datetime,
                             reason: str | None = None) -> bool: ...


class Requeue(Protocol):
    """The pending index (dal/pending.py), as a message is handed to the reconciler at once."""

    def requeue(self, message_id: str, now: datetime) -> bool: ...


class PendingIndex(Requeue, Protocol):
    """The pending index (dal/pending.py): the messages not final yet, by last activity."""

    @property
    def shard_count(self) -> int: ...
    def stale_pages(self, shard: int, before: datetime, start_key: dict[str, Any] | None = None,
                    page_size: int = 100) -> Iterator[tuple[list[MessageRecord], dict[str, Any] | None, int]]: ...
    def touch(self, message_id: str, now: datetime) -> bool: ...
    def clear_pending(self, message_id: str) -> bool: ...


class InboundWrites(Protocol):
    """Inbound messages and long ones' groups of parts (dal/inbound.py), as they arrive."""

    def record_inbound(self, item: Mapping[str, Any], now: datetime, *,
                       announce: bool = True) -> tuple[bool, dict[str, Any]]: ...
    def add_inbound_part(self, group: Mapping[str, Any], position: int, part: Mapping[str, Any], due: datetime,
                         now: datetime) -> dict[str, Any]: ...
    def finish_inbound_group(self, pk: str, how: str, verdict: Mapping[str, Any], now: datetime) -> bool: ...
    def revise_inbound_group(self, pk: str, position: int, part: Mapping[str, Any], verdict: Mapping[str, Any],
                             revision: int, now: datetime, *, complete: bool) -> tuple[bool, dict[str, Any]]: ...
    def announced(self, pk: str, sk: str, revision: int | None = None) -> None: ...


class InboundItems(InboundWrites, Protocol):
    """Inbound items, and the reconciler's look at those whose events may not be out yet."""

    def due_inbound_groups(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]: ...
    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]: ...


class BlockedReader(Protocol):
    """Blocked pairs (``BLOCK#<from>`` / ``TO#<to>``, dal/blocked.py), read."""

    def is_blocked(self, from_: str, to: str) -> bool: ...
    def blocked_among(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]: ...


class BlockedPairs(Protocol):
    """Blocked pairs, as opt-outs and the blocked list's sync change them."""

    def set_blocked(self, from_: str, to: str, blocked: bool, source: str, version: str, *,
                    announce: bool = False) -> bool: ...
    def is_blocked(self, from_: str, to: str) -> bool: ...
    def blocked_for(self, from_: str) -> dict[str, str]: ...  # blocked mobile -> the source of its block


class SendersSeen(Protocol):
    """The sending numbers we have used (dal/senders.py)."""

    def remember_sender(self, from_: str, now: datetime) -> None: ...
    def list_senders(self) -> list[str]: ...


class ReconcileCursor(Protocol):
    """Where the last reconcile run stopped (dal/senders.py)."""

    def get_cursor(self) -> dict[str, Any] | None: ...
    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None: ...


class PoolNumbers(Protocol):
    """The numbers Aculab picked from our pools (dal/pools.py)."""

    def pools_of(self, number: str) -> list[str]: ...
    def pool_numbers(self) -> dict[str, list[str]]: ...  # number -> its pools


class CountryVelocity(Protocol):
    """Sends to a country in a clock hour (dal/velocity.py)."""

    def count_country_send(self, country: str, now: datetime, cap: int) -> bool: ...


class PaceStore(Protocol):
    """The pace items (dal/pace.py): the stack's, a number's and a campaign's GCRA slots."""

    def pace_state(self, number: str | None = None) -> dict[str, Any]: ...
    def take_pace_slot(self, number: str, seen_g: int | None, new_g: int | None, seen_n: int | None,
                       new_n: int | None, campaign: str | None = None, seen_c: int | None = None,
                       new_c: int | None = None) -> dict[str, Any] | None: ...
    def set_number_rate(self, number: str, milli: int, at: int) -> None: ...
    def book_campaign_turn(self, campaign: str, seen_v: int | None, new_v: int) -> dict[str, Any] | None: ...


class CampaignReader(Protocol):
    """A campaign's mark and its messages, from the table's ``campaign`` index (dal/campaigns.py)."""

    def campaign_page(self, campaign_id: str, after: str | None, limit: int) -> tuple[list[tuple[str, str]],
                                                                                     str | None]:
        """Up to ``limit`` (message_id, status) of the campaign after ``after``, in message_id order, and
        where the next page starts (None: no more)."""

    def campaign_cancelled_at(self, campaign_id: str) -> str | None: ...


class CampaignMarks(CampaignReader, Protocol):
    def cancel_campaign(self, campaign_id: str, now: datetime, pass_id: str) -> str | None:
        """Marked cancelled (the first cancel's time kept): its sends are withdrawn from then on, the mark
        kept until any message of it may fire. Where the pass ``pass_id`` over its messages has got to:
        the last message_id it did (None: a pass the mark does not know, which starts at the beginning)."""

    def advance_campaign_cancel(self, campaign_id: str, pass_id: str, through: str) -> bool:
        """The pass has done every message up to ``through``: kept only forward (False: a copy of it got
        further already)."""

    def end_campaign_pass(self, campaign_id: str, pass_id: str) -> None:
        """The pass is done: the mark forgets it."""


class ErasureStore(Protocol):
    """dal/erasure.py: every item holding a phone number, each deleted on its own, and the erasure's
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


# -- the consumers ----------------------------------------------------------------------------------


class ResendStore(Protocol):
    """logic/resending.py: a part failed temporarily, the message waits to go again."""

    @property
    def messages(self) -> MessageMoves: ...


class TrackingStore(ResendStore, Protocol):
    """logic/tracking.py: a status update for one part of a message we sent."""

    @property
    def refs(self) -> RefIndex: ...
    @property
    def parts(self) -> PartWrites: ...


class CancelStore(TrackingStore, Protocol):
    """logic/cancelling.py: a cancel, and the final states msg_cancel reports for parts."""


class OptOutStore(Protocol):
    """logic/inbound.py and logic/pools.py: a mobile's STOP or START, for a number and its pools."""

    @property
    def blocked(self) -> BlockedPairs: ...
    @property
    def pools(self) -> PoolNumbers: ...


class IngestStore(TrackingStore, OptOutStore, Protocol):
    """logic/ingest.py: what Aculab posts (status updates and inbound messages, long ones in parts)."""

    @property
    def pending(self) -> Requeue: ...
    @property
    def inbound(self) -> InboundWrites: ...


class LookupStore(Protocol):
    """api/messages.py: GET /messages/{message_id} and GET /campaigns/{campaign_id}."""

    @property
    def messages(self) -> MessageReader: ...
    @property
    def campaigns(self) -> CampaignReader: ...


class CampaignStore(CancelStore, Protocol):
    """logic/campaigns.py: a campaign's cancel, its stored messages cancelled a page at a time."""

    @property
    def campaigns(self) -> CampaignMarks: ...


class SendStore(CampaignStore, Protocol):
    """logic/sending.py and logic/send_flow.py: a send (or cancel) request off the queue."""

    @property
    def pending(self) -> Requeue: ...
    @property
    def blocked(self) -> BlockedReader: ...
    @property
    def senders(self) -> SendersSeen: ...
    @property
    def velocity(self) -> CountryVelocity: ...


class ReconcileStore(TrackingStore, OptOutStore, Protocol):
    """logic/reconcile.py: stale messages, unfinished inbound groups, unannounced changes, the blocked list."""

    @property
    def pending(self) -> PendingIndex: ...
    @property
    def inbound(self) -> InboundItems: ...
    @property
    def senders(self) -> SendersSeen: ...
    @property
    def cursor(self) -> ReconcileCursor: ...

