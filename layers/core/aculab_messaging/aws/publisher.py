"""EventBridge publishing: PutEvents in chunks of 10, raising on any failed entry
so callers never acknowledge work whose event did not go out."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import batched
from typing import TYPE_CHECKING

from aculab_messaging.contracts.events import Event
from aculab_messaging.logic.ports import EventPublisher, PublishError

if TYPE_CHECKING:
    from types_boto3_events.client import EventBridgeClient

MAX_ENTRIES_PER_CALL = 10


class EventBridgePublisher:
    """EventPublisher on EventBridge."""

    def __init__(self, client: EventBridgeClient, bus_name: str, source: str) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source

    def publish(self, events: Sequence[Event]) -> None:
        failed: list[Event] = []
        reasons: set[str] = set()
        for chunk in batched(list(events), MAX_ENTRIES_PER_CALL, strict=False):
            entries = [e.entry(self._bus_name, self._source) for e in chunk]
            try:
                response = self._client.put_events(Entries=entries)
            except Exception as exc:  # noqa: BLE001 - any failure of the call fails its whole chunk
                failed.extend(chunk)
                reasons.add(type(exc).__name__)
                continue
            if response.get("FailedEntryCount", 0):
                for event, result in zip(chunk, response.get("Entries", []), strict=False):
                    if result.get("ErrorCode") or not result.get("EventId"):
                        failed.append(event)
                        reasons.add(str(result.get("ErrorCode", "unknown")))
        if failed:
            raise PublishError(failed, ", ".join(sorted(reasons)))


__all__ = ["EventBridgePublisher", "EventPublisher", "PublishError"]
