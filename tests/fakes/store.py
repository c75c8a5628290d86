"""The in-memory store: one fake per kind of item on one in-memory table, put together as wiring puts
the DynamoDB kinds together (``dal.TableStore``). They keep the rules the real kinds keep (every write
conditional and all-or-nothing, statuses only forward, put-if-absent), so a service tested on them
behaves as it does on DynamoDB; ``tests/integration/test_store_contract.py`` runs the same steps on both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from aculab_messaging.dal import TableStore
from aculab_messaging.logic.store_ports import (
    BlockedPairs,
    BlockedReader,
    CampaignMarks,
    CampaignStore,
    CancelStore,
    CountryVelocity,
    ErasureStore,
    InboundItems,
    IngestStore,
    LookupStore,
    MessageMoves,
    PartWrites,
    PendingIndex,
    PoolNumbers,
    ReconcileCursor,
    ReconcileStore,
    RefIndex,
    SendersSeen,
    SendStore,
)
from tests.fakes.erasure import InMemoryErasure
from tests.fakes.inbound import InMemoryInbound
from tests.fakes.messages import InMemoryMessages, InMemoryRefs
from tests.fakes.numbers import (
    InMemoryBlocked,
    InMemoryCampaigns,
    InMemoryCursor,
    InMemoryPools,
    InMemorySenders,
    InMemoryVelocity,
)
from tests.fakes.parts import InMemoryParts, InMemoryPending
from tests.fakes.table import InMemoryTable, Key


class AllBlocked(BlockedReader, BlockedPairs, Protocol):
    pass


class WholeStore(Protocol):
    """Every kind at once: the one table as the contract tests drive it. ``dal.TableStore`` and
    InMemoryStore both are one; no service depends on it."""

    @property
    def messages(self) -> MessageMoves: ...
    @property
    def refs(self) -> RefIndex: ...
    @property
    def parts(self) -> PartWrites: ...
    @property
    def pending(self) -> PendingIndex: ...
    @property
    def inbound(self) -> InboundItems: ...
    @property
    def blocked(self) -> AllBlocked: ...
    @property
    def senders(self) -> SendersSeen: ...
    @property
    def cursor(self) -> ReconcileCursor: ...
    @property
    def pools(self) -> PoolNumbers: ...
    @property
    def velocity(self) -> CountryVelocity: ...
    @property
    def campaigns(self) -> CampaignMarks: ...


@dataclass
class InMemoryStore:
    """Every kind's fake on one table (one shard: every pending message is in shard 0)."""

    table: InMemoryTable = field(default_factory=InMemoryTable)
    erasure_page_size: int = 2

    def __post_init__(self) -> None:
        self.refs = InMemoryRefs(self.table)
        self.pools = InMemoryPools(self.table)
        self.messages = InMemoryMessages(self.table, self.refs)
        self.parts = InMemoryParts(self.table, self.pools)
        self.pending = InMemoryPending(self.table)
        self.inbound = InMemoryInbound(self.table)
        self.blocked = InMemoryBlocked(self.table)
        self.senders = InMemorySenders(self.table)
        self.cursor = InMemoryCursor(self.table)
        self.velocity = InMemoryVelocity(self.table)
        self.campaigns = InMemoryCampaigns(self.table)
        self.erasure = InMemoryErasure(self.table, self.erasure_page_size)

    @property
    def items(self) -> dict[Key, dict[str, Any]]:
        return self.table.items

    @property
    def blocked_reads(self) -> list[int]:
        return self.table.blocked_reads

    @property
    def transitions(self) -> list[str]:
        return self.table.transitions


def _conforms(store: InMemoryStore, table: TableStore) -> tuple[WholeStore, WholeStore, ErasureStore]:
    """mypy checks here that each fake keeps its ports' signatures, as the DynamoDB kinds do."""
    return store, table, store.erasure


def _serves_every_consumer(store: WholeStore) -> tuple[SendStore, CancelStore, CampaignStore, IngestStore,
                                                        ReconcileStore, LookupStore]:
    """... and that the whole store is each consumer's."""
    return store, store, store, store, store, store
