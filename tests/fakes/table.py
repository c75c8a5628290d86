"""The one in-memory table every kind's fake (tests/fakes/*.py) works on, as the DynamoDB kinds share
one table: the items by (pk, sk), and what the tests count (reads of blocked pairs, transitions asked)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aculab_messaging.logic.lifecycle import stamp
from aculab_messaging.logic.message_record import MessageRecord

ANNOUNCE = "ANNOUNCE"
Key = tuple[str, str]
iso = stamp  # how the table writes a moment: the lifecycle's own


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def record(item: Mapping[str, Any]) -> MessageRecord:
    return MessageRecord.from_item(copy.deepcopy(dict(item)))


@dataclass
class InMemoryTable:
    """One shard: every pending message is in shard 0."""

    items: dict[Key, dict[str, Any]] = field(default_factory=dict)
    blocked_reads: list[int] = field(default_factory=list)  # the pairs each is_blocked / blocked_among call read
    transitions: list[str] = field(default_factory=list)  # every transition asked for, by name

    def message(self, message_id: str) -> dict[str, Any] | None:
        return self.items.get((f"MSG#{message_id}", "MSG"))

    @staticmethod
    def still_pending_if_outbox(item: dict[str, Any], now: datetime) -> None:
        if item.get("outbox"):
            item.update(pending_pk="PENDING#0", pending_sk=f"{iso(now)}#{item['message_id']}")
