"""A DynamoDB batch call is repeated for what DynamoDB hands back unprocessed
(throttled, over size), backing off, and fails after its tries: on a fake
client, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aculab_messaging.dal import TableStore
from aculab_messaging.dal import table as table_module


class ThrottlingClient:
    """Answers BatchGetItem / BatchWriteItem, leaving the first ``leave`` answers' last key or item unprocessed."""

    def __init__(self, leave: int, blocked: set[str]) -> None:
        self.leave, self.blocked = leave, blocked
        self.asked: list[int] = []  # how many keys or items each call carried

    def _answer(self, request: dict[str, Any], kind: str) -> tuple[list[Any], dict[str, Any]]:
        table, ask = next(iter(request.items()))
        entries = list(ask["Keys"] if kind == "keys" else ask)
        self.asked.append(len(entries))
        if self.leave > 0:
            self.leave -= 1
            left = entries[-1:]
            return entries[:-1], {table: {**ask, "Keys": left} if kind == "keys" else left}
        return entries, {}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        done, left = self._answer(RequestItems, "keys")
        items = [{**key, "blocked": {"BOOL": True}} for key in done if key["sk"]["S"][3:] in self.blocked]
        return {"Responses": {"t": items}, "UnprocessedKeys": left}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        _, left = self._answer(RequestItems, "items")
        return {"UnprocessedItems": left}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(table_module.time, "sleep", waits.append)
    return waits


def test_keys_left_unprocessed_are_asked_again_after_a_backoff(no_backoff: list[float]) -> None:
    # given DynamoDB leaves one key of the first two answers unprocessed
    client = ThrottlingClient(leave=2, blocked={"447700900124", "447700900126"})
    store = TableStore.on(client, "t")
    # when three pairs are read together
    pairs = [("447700900001", to) for to in ("447700900124", "447700900125", "447700900126")]
    found = store.blocked.blocked_among(pairs)
    # then every key was answered in the end, the left ones asked again after growing waits
    assert found == {("447700900001", "447700900124"), ("447700900001", "447700900126")}
    assert client.asked == [3, 1, 1] and no_backoff == [0.05, 0.1]


def test_a_batch_write_still_unprocessed_after_its_tries_is_an_error(no_backoff: list[float]) -> None:
    # given DynamoDB keeps leaving an item of the ref writes unprocessed
    client = ThrottlingClient(leave=100, blocked=set())
    store = TableStore.on(client, "t")
    # when a message's refs are written / then it fails after five tries (the record is retried)
    with pytest.raises(RuntimeError, match="ref items left unprocessed"):
        store.refs.put_refs("m-1", [f"r-{n}" for n in range(6)], True, datetime.now(UTC))
    assert client.asked == [6, 1, 1, 1, 1] and no_backoff == [0.05, 0.1, 0.2, 0.4]
