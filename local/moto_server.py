"""moto in server mode, with every request applied atomically.

DynamoDB applies a conditional write atomically; moto's backends take no
lock, so two concurrent requests could interleave a condition check and a
write and lose an update that real DynamoDB would have refused. Requests are
still received concurrently (keep-alive, threads); only the backend call is
serialised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class AtomicMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        inner = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with lock:
                return list(inner(environ, start_response))

        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
