"""An HTTP proxy in front of moto server that injects AWS failures on demand,
so tests exercise our real error paths over the wire (no patching)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

import requests

from local.http_handler import QuietHandler

# (operation, response) -> a fault: decides per request whether to fail it
Rule = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]] | None]


def operation_of(headers: dict[str, str], body: bytes) -> str:
    target = headers.get("x-amz-target", "")
    if target:
        return target.split(".")[-1]
    if body.startswith(b"Action="):
        return body.split(b"&", 1)[0][len(b"Action="):].decode()
    return ""


class FaultProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()
        self.session = requests.Session()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail(self, rule: Rule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(QuietHandler):
    server: FaultProxy

    def handle_request(self) -> None:
        body = self.read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        op = operation_of(headers, body)
        with self.server.lock:
            self.server.calls[op] = self.server.calls.get(op, 0) + 1
        try:
            request = json.loads(body) if body.startswith(b"{") else {}
        except ValueError:
            request = {}
        for rule in list(self.server.rules):
            injected = rule(op, request)
            if injected is not None:
                status, payload = injected
                self.reply(status, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(payload).encode())
                return
        upstream = self.server.session.request(
            self.command, self.server.upstream + self.path, data=body,
            # every header as signed, Host included: moto checks the SigV4 signature
            headers=dict(self.headers.items()), timeout=30,
        )
        passthrough = {k: v for k, v in upstream.headers.items()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
        self.reply(upstream.status_code, passthrough, upstream.content)


def put_events_fail_entries(times: int) -> Rule:
    """The next ``times`` PutEvents calls answer FailedEntryCount > 0 for every entry."""
    left = [times]

    def rule(op: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if op != "PutEvents" or left[0] <= 0:
            return None
        left[0] -= 1
        entries = request.get("Entries", [])
        return 200, {"FailedEntryCount": len(entries),
                     "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} for _ in entries]}

    return rule


def fail_operation(operation: str, times: int, status: int = 500,
                   code: str = "InternalServerError") -> Rule:
    """The next ``times`` calls of ``operation`` fail with an AWS error."""
    left = [times]

    def rule(op: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if op != operation or left[0] <= 0:
            return None
        left[0] -= 1
        return status, {"__type": code, "message": "injected failure"}

    return rule


def random_failures(operations: set[str], rate: float, seed: int = 1) -> Rule:
    """Fail a random ``rate`` of these operations with a non-retryable error:
    the caller dies at that point, as a killed function would."""
    import random

    rng = random.Random(seed)
    lock = threading.Lock()

    def rule(op: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if op not in operations:
            return None
        with lock:
            hit = rng.random() < rate
        return (400, {"__type": "ValidationException", "message": "injected crash"}) if hit else None

    return rule


def random_put_events_failures(rate: float, seed: int = 1) -> Rule:
    """A random ``rate`` of PutEvents calls report every entry failed."""
    import random

    rng = random.Random(seed)
    lock = threading.Lock()

    def rule(op: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if op != "PutEvents":
            return None
        with lock:
            hit = rng.random() < rate
        if not hit:
            return None
        entries = request.get("Entries", [])
        return 200, {"FailedEntryCount": len(entries),
                     "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} for _ in entries]}

    return rule
