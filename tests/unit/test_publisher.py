from __future__ import annotations

from typing import Any

import pytest

from aculab_messaging.aws.publisher import EventBridgePublisher, PublishError
from aculab_messaging.contracts.events import Event


class FakeEvents:
    def __init__(self, fail_indices: set[int] | None = None, raise_on_call: int | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._fail = fail_indices or set()
        self._raise_on = raise_on_call

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self._raise_on == len(self.calls):
            raise ConnectionError("boom")
        offset = sum(len(c) for c in self.calls[:-1])
        results = [{"ErrorCode": "Throttled"} if offset + i in self._fail else {"EventId": f"e{offset + i}"}
                   for i in range(len(Entries))]
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}


def events(n: int) -> list[Event]:
    return [Event("Message Submitted", {"messageId": f"m{i}"}) for i in range(n)]


def test_publish_chunks_entries_by_ten() -> None:
    client = FakeEvents()
    EventBridgePublisher(client, "bus", "src").publish(events(23))
    assert [len(c) for c in client.calls] == [10, 10, 3]
    assert client.calls[0][0]["EventBusName"] == "bus"
    assert client.calls[0][0]["Source"] == "src"


def test_publish_raises_on_failed_entry_count_naming_the_failed() -> None:
    client = FakeEvents(fail_indices={3, 12})
    with pytest.raises(PublishError) as caught:
        EventBridgePublisher(client, "bus", "src").publish(events(15))
    assert [e.detail["messageId"] for e in caught.value.failed] == ["m3", "m12"]
    assert len(client.calls) == 2  # the other chunk still went out


def test_publish_raises_when_a_call_fails() -> None:
    client = FakeEvents(raise_on_call=1)
    with pytest.raises(PublishError) as caught:
        EventBridgePublisher(client, "bus", "src").publish(events(12))
    assert len(caught.value.failed) == 10


def test_publish_nothing_makes_no_call() -> None:
    client = FakeEvents()
    EventBridgePublisher(client, "bus", "src").publish([])
    assert client.calls == []
