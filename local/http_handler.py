"""The base of the small HTTP servers here (the API Gateway stand-in, test
proxies): quiet, keep-alive, whole bodies in and out."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any


def no_delay(connection: socket.socket) -> None:
    """Send each write at once. http.server writes the head and the body apart:
    on a kept-alive connection Nagle's algorithm holds the body until the
    peer's delayed ACK, 40 ms a response that no real server takes."""
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        no_delay(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:
        self.handle_request()

    def do_POST(self) -> None:
        self.handle_request()

    def do_PUT(self) -> None:
        self.handle_request()

    def handle_request(self) -> None:  # pragma: no cover - every server defines it
        raise NotImplementedError

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # the caller gave up waiting (a notifier's timeout): it retries, as Aculab does
            self.close_connection = True
