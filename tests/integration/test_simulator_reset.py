"""The simulator's reset ends what a test left in flight: a notification still being retried when the next
test resets the simulator is not sent again, and nothing it meets is counted in the next test's stats (a
test's late retry once reached the next test's webhook, whose table moto was resetting: 403s and 404s
counted as the next test's retries)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from simulator.core import SimConfig, SimulatorState


class Webhook:
    """A webhook that answers 503 (Aculab retries), each answer held until the test lets it go."""

    def __init__(self) -> None:
        self.requests = 0
        self.arrived = threading.Event()
        self.answer = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                outer.arrived.set()
                outer.answer.wait(10)
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.answer.set()
    hook.server.shutdown()


def test_a_notification_in_flight_across_a_reset_is_not_retried_nor_counted(webhook: Webhook) -> None:
    # given a simulator that retries a refused notification three times, 0.2 s apart
    state = SimulatorState(SimConfig(notify_retries=3, notify_retry_delay=0.2))
    try:
        state._dispatch(webhook.url, "POST", None, {"msg_ref": "r-1", "status": "delivered"})
        assert webhook.arrived.wait(10)
        # when the next test resets the simulator while the first attempt waits for its answer (503)
        state.reset()
        webhook.answer.set()
        assert state.wait_idle(10)
        # then the notification was not tried again, and the new stats know nothing of it
        assert webhook.requests == 1
        assert dict(state.stats) == {}
    finally:
        state.close()
