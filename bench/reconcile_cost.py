"""Reconcile over a table of many final and a few stale messages: DynamoDB items
read per stale message, and msg_status calls against ceil(stale / batch)."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import SIM_CREDENTIALS, Figure, servers
from tests import seeding


def _final_items(start: int, count: int, at: str) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": {
        "pk": {"S": f"MSG#final-{i}"}, "sk": {"S": "MSG"}, "message_id": {"S": f"final-{i}"},
        "status": {"S": "delivered"}, "rank": {"N": "40"}, "refs": {"L": [{"S": f"fref-{i}"}]},
        "created_at": {"S": at}, "updated_at": {"S": at}}}} for i in range(start, start + count)]


def run(final: int = 100_000, stale: int = 100, batch_size: int = 100) -> tuple[list[Figure], dict[str, float]]:
    from aculab_messaging.dal import TableStore
    from local.app import LocalApp

    with servers() as (aws, sim):
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS,
                       env_overrides={"STALE_AGE_SECONDS": "600", "STATUS_BATCH_SIZE": str(batch_size),
                                      "POWERTOOLS_LOG_LEVEL": "WARNING"})
        app.start_gateway()
        app.apply_environment("reconcile")
        ddb = app.stack.client("dynamodb")
        table = app.stack.refs["MessagesTable"]
        old = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
        started = time.monotonic()

        def write(start: int) -> None:
            ddb.batch_write_item(RequestItems={table: _final_items(start, min(25, final - start), old)})

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, range(0, final, 25)))
        seeded = time.monotonic() - started
        store = TableStore.on(ddb, table)
        at = datetime.now(UTC) - timedelta(hours=1)
        for i in range(stale):
            seeding.queued(store, f"stale-{i}", [f"sref-{i}"], at)
        calls_before = sim.control.stats().get("calls_msg_status", 0)
        started = time.perf_counter()
        report = app.run_reconcile()
        seconds = time.perf_counter() - started
        calls = sim.control.stats().get("calls_msg_status", 0) - calls_before
        app.stop()
    per_stale = report["items_read"] / stale
    expected = math.ceil(stale / batch_size)
    return ([
        Figure(f"reconcile: items read / stale ({final:,} final)", per_stale, "x", f"{stale} stale", per_stale,
               "<= 1.05", per_stale <= 1.05),
        Figure("reconcile: msg_status calls", calls, "calls", f"ceil({stale}/{batch_size}) = {expected}",
               calls / expected, f"= {expected}", calls == expected),
    ], {"reconcile_seconds": seconds, "seed_seconds": seeded, "stale": stale})
