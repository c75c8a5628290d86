"""The send function's cost per sent message, in a warm batch of 10 through its
real handler (``LocalApp.invoke``: the deployed handler module, its own role's
credentials) on moto server (IAM enforced) and the simulator:

(a) AWS calls per sent message: every HTTP request botocore puts on the wire
    (retries included), counted at ``URLLib3Session.send``, against its floor:
    the claim and the refs write of each message, and a tenth of the batch's
    PutEvents and of its opt-out read (2.2). Target <= 1.2x.
(b) CPU (process) time per sent message, against the same AWS calls and
    msg_send requests made bare (botocore and requests, the calls recorded in
    a batch of the function and replayed on twin messages, each record's calls
    in a pool of 10 as the function makes them). Target <= 1.5x: a 512 MB
    function has about a third of a vCPU, so CPU per message bounds a
    container's throughput.

Rounds of the function and of the bare calls are interleaved; medians. moto
server and the simulator run in their own processes: their work is not in
this process's CPU time."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

from bench.common import SIM_CREDENTIALS, Figure, median, servers

BATCH = 10
FLOOR_CALLS = 2 + 2 / BATCH  # claim + refs write, a tenth each of PutEvents and the opt-out read
CALLS_TARGET = 1.2
CPU_TARGET = 1.5
Call = tuple[str, str, str, Any]  # thread, kind ("aws" service or "http"), operation or method+url, params


def _batch(size: int = BATCH) -> dict[str, Any]:
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": f"rh-{i}", "eventSource": "aws:sqs",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
        "body": json.dumps({"message_id": f"pm-{uuid.uuid4().hex}", "to": "447700900123", "from": "447700900001",
                            "content": "bench"})} for i in range(size)]}


@contextlib.contextmanager
def _wire_counted(counts: Counter[str]) -> Iterator[None]:
    """Every HTTP request botocore sends (a retry is one more), by its X-Amz-Target (the operation)."""
    from botocore.httpsession import URLLib3Session

    send = URLLib3Session.send

    def counted(self: URLLib3Session, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        counts.update([target.decode() if isinstance(target, bytes) else str(target or request.url)])
        return send(self, request)

    with mock.patch.object(URLLib3Session, "send", counted):
        yield


@contextlib.contextmanager
def record_calls(calls: list[Call], aculab_url: str) -> Iterator[None]:
    """Each AWS call (its parameters as made) and each Aculab request, with the thread that made it."""
    import botocore.client
    import requests

    make = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # private: the stubs leave it out
    request = requests.Session.request

    def noted_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append((threading.current_thread().name, self.meta.service_model.service_name, operation,
                      copy.deepcopy(params)))
        return make(self, operation, params)

    def noted_request(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        if url.startswith(aculab_url):
            calls.append((threading.current_thread().name, "http", f"{method} {url}",
                          {k: kwargs[k] for k in ("data", "auth") if k in kwargs}))
        return request(self, method, url, **kwargs)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", noted_call), \
            mock.patch.object(requests.Session, "request", noted_request):
        yield


def twins_of(calls: list[Call], message_ids: list[str], prefix: str) -> list[Call]:
    """The recorded calls about twin messages: each message_id and each msg_ref renamed, so that
    every write meets the state its original met (a fresh item, the claim's outbox ...)."""
    text = json.dumps(calls, default=list)
    refs = set(re.findall(r'"REF#([^"]+)"', text))
    for name in sorted(set(message_ids) | refs, key=len, reverse=True):
        text = text.replace(name, f"{prefix}{name}")
    return [tuple(c) for c in json.loads(text)]  # type: ignore[misc]


class Bare:
    """The recorded calls made with plain botocore clients and a requests Session (the function's
    client settings, none of its code): those its main thread made before its records, each
    worker thread's in order in a pool of 10, then the main thread's after."""

    def __init__(self, environment: dict[str, str]) -> None:
        import boto3
        import requests
        from botocore.config import Config
        from requests.adapters import HTTPAdapter

        session = boto3.Session(aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
                                aws_session_token=environment.get("AWS_SESSION_TOKEN"),
                                region_name=environment["AWS_DEFAULT_REGION"])
        config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3},
                        max_pool_connections=BATCH)
        self._session, self._config, self._endpoint = session, config, environment["AWS_ENDPOINT_URL"]
        self._clients: dict[str, Any] = {}
        self._http = requests.Session()
        self._http.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=BATCH, max_retries=0))
        self._pool = ThreadPoolExecutor(max_workers=BATCH, thread_name_prefix="bare")

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, config=self._config,  # type: ignore[call-overload]
                                                          endpoint_url=self._endpoint)
        return self._clients[service]

    def _make(self, calls: list[Call]) -> None:
        from botocore.exceptions import ClientError

        for _, kind, what, params in calls:
            if kind == "http":
                method, url = what.split(" ", 1)
                kwargs: dict[str, Any] = {k: tuple(v) if k == "auth" else v for k, v in params.items()}
                self._http.request(method, url, timeout=(2, 10), **kwargs).json()
                continue
            with contextlib.suppress(ClientError):  # a refused condition is a call made, as the function's was
                self.client(kind)._make_api_call(what, params)  # fresh from twins_of: nothing to copy

    def replay(self, calls: list[Call]) -> None:
        workers = [c for c in calls if c[0] != "MainThread"]
        first = calls.index(workers[0]) if workers else len(calls)
        before = [c for c in calls[:first] if c[0] == "MainThread"]
        after = [c for c in calls[first:] if c[0] == "MainThread"]
        self._make(before)
        by_thread: dict[str, list[Call]] = {}
        for call in workers:
            by_thread.setdefault(call[0], []).append(call)
        list(self._pool.map(self._make, by_thread.values()))
        self._make(after)

    def close(self) -> None:
        self._pool.shutdown()
        self._http.close()


def run(rounds: int = 7) -> tuple[list[Figure], dict[str, Any]]:
    from local.app import LocalApp

    wire: Counter[str] = Counter()
    calls: list[Call] = []
    function_cpu: list[float] = []
    bare_cpu: list[float] = []
    # the function logs as deployed (a line a message): to nowhere here, as the bench prints only its table
    with servers() as (aws, sim), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        sim.control.configure(latency_ms=0, step_seconds=3600)  # the sends alone: no status updates
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS)
        try:
            app.invoke("send", _batch())  # warm: init, secrets, connections
            event = _batch()
            with _wire_counted(wire), record_calls(calls, sim.base_url):
                result = app.invoke("send", event)
            assert not result["batchItemFailures"], result
            sent = sum(1 for c in calls if c[1] == "http" and c[2].endswith("/msg_send"))
            ids = [json.loads(r["body"])["message_id"] for r in event["Records"]]
            bare = Bare(app.environment("send"))
            bare.replay(twins_of(calls, ids, "warm-"))
            for i in range(rounds):
                started = time.process_time()
                result = app.invoke("send", _batch())
                function_cpu.append(time.process_time() - started)
                assert not result["batchItemFailures"], result
                twins = twins_of(calls, ids, f"t{i}-")
                started = time.process_time()
                bare.replay(twins)
                bare_cpu.append(time.process_time() - started)
            # what the replay left is what the function left: the last twin as its original
            table, message_key = app.stack.refs["MessagesTable"], {"sk": {"S": "MSG"}}
            statuses = tuple(app.stack.client("dynamodb").get_item(
                TableName=table, Key={"pk": {"S": f"MSG#{prefix}{ids[-1]}"}, **message_key}, ConsistentRead=True,
            ).get("Item", {}).get("status", {}).get("S") for prefix in ("", f"t{rounds - 1}-"))
            bare.close()
        finally:
            app.stop()
    per_message = sum(wire.values()) / sent
    cpu, floor = median(function_cpu) / sent, median(bare_cpu) / sent
    made = Counter(f"{c[1]}.{c[2]}" for c in calls if c[1] != "http")
    return ([Figure(f"send: AWS calls per sent message (warm batch of {BATCH})", per_message, "calls",
                    f"floor {FLOOR_CALLS:.1f}", per_message / FLOOR_CALLS, f"<= {CALLS_TARGET}x",
                    per_message / FLOOR_CALLS <= CALLS_TARGET),
             Figure(f"send: CPU per sent message (warm batch of {BATCH})", cpu * 1000, "ms",
                    f"{floor * 1000:.2f} ms (its calls made bare)", cpu / floor, f"<= {CPU_TARGET}x",
                    cpu / floor <= CPU_TARGET)],
            {"send_calls_per_message": per_message, "send_cpu_seconds_per_message": cpu,
             "bare_cpu_seconds_per_message": floor, "sent": sent, "calls_by_operation": dict(made),
             "wire_by_operation": dict(wire), "statuses": statuses})


if __name__ == "__main__":
    found, extra = run()
    for figure in found:
        print(f"{figure.name}: {figure.value:.2f} {figure.unit} = {figure.ratio:.2f}x of {figure.baseline}")
    print("AWS calls in the batch:", extra["calls_by_operation"])
