"""Sized for a fleet: what a write costs when many numbers send and many
messages arrive (moto server, the stack from template.yaml).

- The pace write (dal/pace.py) at 10,000 sending numbers against 1: the size
  of the items a send's slot writes leave (DynamoDB bills a write by the
  item's size, 1 KB a unit, and refuses an item over 400 KB). Both limits are
  set, so each send moves its number's slot and the stack's. The first 50
  numbers send through the pacer, the next 9,949 numbers' items are put as
  those sends left theirs (a write takes ~25 ms on moto server), the last
  number's send is measured.
- Inbound messages, opt-outs and long messages' parts through the webhook:
  the largest share of the writes that put an item on the pending index held
  by one partition key (before the announce and assemble partitions were
  sharded, every one of them went to ANNOUNCE or ASSEMBLE)."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench.common import SIM_CREDENTIALS, Figure, servers

NUMBERS = 10_000
SENT = 50  # numbers whose sends go through the pacer; the others' items are put as those sends left them
SHARE_TARGET = 0.30  # 1/4 of the default 4 shards, plus what hashing leaves uneven at a few hundred writes


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it for write units: each attribute's name
    and value in UTF-8, a number about one byte per two digits, plus one, a map
    three bytes and one per element, with its names and values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        digits = str(abs(value)).replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, Mapping):
        return 3 + sum(1 + len(str(k).encode()) + _value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(1 + _value_size(v) for v in value)
    raise TypeError(type(value))


def pace_write_bytes(numbers: int = NUMBERS) -> tuple[int, int, float]:
    """(bytes after 1 number, bytes after ``numbers``, seconds): the largest item the next send's pace writes left."""
    from aculab_messaging.dal import TableStore
    from aculab_messaging.dal.pace import number_key
    from aculab_messaging.dal.table import from_item, to_item
    from aculab_messaging.logic.pacing import Pacer
    from aculab_messaging.logic.policy import PacePolicy
    from local.app import LocalApp

    with servers() as (aws, sim):
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS)
        ddb, table = app.stack.client("dynamodb"), app.stack.refs["MessagesTable"]
        keys: list[dict[str, Any]] = []
        ddb.meta.events.register("provide-client-params.dynamodb.UpdateItem",
                                 lambda params, **_: keys.append(params["Key"]))
        # a slot every microsecond for the stack, one a second for each number: none beyond the horizon
        pacer = Pacer(TableStore.on(ddb, table).pace, PacePolicy(max_per_second=1_000_000, max_per_number=1))

        def next_write(number: str) -> int:
            keys.clear()
            assert pacer.reserve(number, lambda: datetime.now(UTC)) is not None
            return max(item_size(from_item(ddb.get_item(TableName=table, Key=key)["Item"]) or {}) for key in keys)

        started = time.perf_counter()
        at_one = next_write("447000000000")
        for i in range(1, SENT):
            pacer.reserve(f"447{i:09d}", lambda: datetime.now(UTC))
        # the other numbers' pace items as those sends left them (every one sent through moto: ~25 minutes)
        sent = from_item(ddb.get_item(TableName=table, Key=to_item(number_key("447000000001")))["Item"]) or {}
        for start in range(SENT, numbers - 1, 25):
            ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": to_item({
                **sent, **number_key(f"447{i:09d}")})}} for i in range(start, min(numbers - 1, start + 25))]})
        at_many = next_write(f"447{numbers - 1:09d}")
        seconds = time.perf_counter() - started
        app.stop()
    return at_one, at_many, seconds


@contextmanager
def _placements(table: str) -> Iterator[Counter[str]]:
    """Every pending-index partition key that a DynamoDB write made in this process puts an item on."""
    from botocore.client import BaseClient

    placed: Counter[str] = Counter()
    original = BaseClient._make_api_call  # type: ignore[attr-defined]  # private: the stubs leave it out

    def recording(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if params.get("TableName") == table and operation == "PutItem" and "pending_pk" in params["Item"]:
            placed[params["Item"]["pending_pk"]["S"]] += 1
        elif params.get("TableName") == table and operation == "UpdateItem":
            found = re.search(r"pending_pk = (?:if_not_exists\(pending_pk, )?(:\w+)", params["UpdateExpression"])
            if found:
                placed[params["ExpressionAttributeValues"][found.group(1)]["S"]] += 1
        return original(client, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[attr-defined]
    try:
        yield placed
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]


def inbound_shares(messages: int = 120) -> tuple[float, int, int]:
    """(the largest share on one key, writes, keys): ``messages`` inbound notifications to the
    webhook, a third plain texts, a third STOP/START keywords, a third parts of two-part messages."""
    import requests

    from local.app import LocalApp

    with servers() as (aws, sim):
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS, env_overrides={"POWERTOOLS_LOG_LEVEL": "ERROR"})
        app.start_gateway()
        app.apply_environment()
        try:
            with _placements(app.stack.refs["MessagesTable"]) as placed:
                for i in range(messages):
                    mobile = f"4477009{i:05d}"
                    body: dict[str, Any] = {"msg_ref": f"fleet-{i}", "status": "received", "to": "447700900001",
                                            "from": mobile, "direction": "receive", "type": "sms",
                                            "content": "hello", "timestamp": "2026-11-25_10:02:00"}
                    if i % 3 == 1:
                        body["content"] = "STOP" if i % 2 else "START"
                    elif i % 3 == 2:
                        body.update(content=f"part {i % 2}", multipart_uid=f"uid-{i // 6}",
                                    multipart_pos=1 + (i // 3) % 2, multipart_count=2, **{"from": "447700900123"})
                    requests.post(app.inbound_url, json=body, timeout=30).raise_for_status()
        finally:
            app.stop()
    total = sum(placed.values())
    return max(placed.values()) / total, total, len(placed)


def run(numbers: int = NUMBERS, messages: int = 120) -> tuple[list[Figure], dict[str, float]]:
    at_one, at_many, seconds = pace_write_bytes(numbers)
    print(f"fleet: pace write {at_one} B at 1 number, {at_many} B at {numbers:,} ({seconds:.1f} s)", flush=True)
    share, writes, keys = inbound_shares(messages)
    print(f"fleet: {writes} inbound writes to the pending index over {keys} keys, largest share {share:.2f}",
          flush=True)
    return [
        Figure(f"fleet: pace write at {numbers:,} numbers", at_many, "B", f"{at_one} B at 1 number",
               at_many / at_one, "= 1.0x", at_many == at_one),
        Figure("fleet: largest share of inbound writes on one key", share, "", "unsharded: 2 keys",
               share * 4, f"<= 1/4 (hashed: <= {SHARE_TARGET})", share <= SHARE_TARGET),
    ], {"pace_write_bytes": at_many}


if __name__ == "__main__":
    for figure in run()[0]:
        print(figure)
