from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local.app import LocalApp
from simulator.control import SimulatorControl

SIM_CREDENTIALS = {"cloud_id": "1-2-0", "username": "sim@example.com", "api_key": "sim-api-key"}


def make_app(aws: str, sim: SimulatorControl, **env: str) -> LocalApp:
    app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS, env_overrides=env)
    app.start_gateway()
    app.apply_environment()
    sim.configure(inbound_notify_url=app.inbound_url)
    return app


@pytest.fixture
def app_factory(aws: str, sim: SimulatorControl) -> Iterator[object]:
    saved = dict(os.environ)
    apps: list[LocalApp] = []

    def factory(**env: str) -> LocalApp:
        app = make_app(aws, sim, **env)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def app(app_factory: object) -> LocalApp:
    return app_factory()  # type: ignore[operator, no-any-return]


class Capture:
    """A notification page that records what it is sent."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, object]] = []
        self.answer = 200
        self.arrived = threading.Event()  # set by the first request
        self.hold: threading.Event | None = None  # set: each answer waits for it (at most 10 s)
        capture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                capture.requests.append({"method": self.command, "path": path, "query": query, "body": body,
                                         "auth": self.headers.get("Authorization")})
                capture.arrived.set()
                if capture.hold is not None:
                    capture.hold.wait(10)
                self.send_response(capture.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = _record
            do_POST = _record

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/notify"


@pytest.fixture
def capture() -> Iterator[Capture]:
    page = Capture()
    yield page
    if page.hold is not None:
        page.hold.set()
    page.server.shutdown()
    page.server.server_close()


@pytest.fixture
def aculab(sim: SimulatorControl) -> Iterator[object]:
    from aculab_messaging.aculab.client import AculabClient, AculabCredentials, RetryPolicy

    client = AculabClient(sim.base_url, AculabCredentials(**SIM_CREDENTIALS), read_timeout=5,
                          retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05))
    yield client
    client.close()


def queue_send(app: LocalApp, **fields: object) -> str:
    """Put a send request on the app's send queue; returns its message_id."""
    import json
    import uuid

    body: dict[str, object] = {"message_id": f"m-{uuid.uuid4().hex[:12]}", "to": "447700900123",
                               "from": "447700900001", "content": "hello", "request_delivery_report": True}
    body.update(fields)
    app.stack.client("sqs").send_message(QueueUrl=app.stack.refs["SendQueue"], MessageBody=json.dumps(body))
    return str(body["message_id"])


def drain_queue(app: LocalApp, max_batches: int = 50) -> int:
    """Run the send function over the queue until it is empty."""
    poller = app.poller or app.send_poller(wait_seconds=0)
    handled = 0
    for _ in range(max_batches):
        n = poller.poll_once()
        if n == 0:
            break
        handled += n
    return handled


def stored_message(app: LocalApp, message_id: str) -> dict[str, object] | None:
    from aculab_messaging.dal import TableStore

    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    return store.messages.get_message_item(message_id)
