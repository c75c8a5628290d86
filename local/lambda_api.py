"""Lambda's Invoke API (``POST /2015-03-31/functions/<name>/invocations``, RequestResponse) for the functions
an operator invokes by hand (the erase function), so ``aws lambda invoke`` / boto3's ``invoke`` with
``--endpoint-url`` reaches them in the local stack as it reaches them in AWS.

The caller is authorised as Lambda asks IAM: its SigV4 signature (scoped to ``lambda``) and
``lambda:InvokeFunction`` on the function's ARN, decided by moto server's IAM (``/_local/authorize``);
otherwise 403 and the function never runs. A function that raises answers 200 with
``X-Amz-Function-Error: Unhandled`` and ``{"errorMessage", "errorType"}``, as Lambda does."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from local.http_handler import QuietHandler

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
# (method, path, headers, body, the function's ARN) -> (200, the caller) or (403, why)
Authorize = Callable[[str, str, dict[str, str], bytes, str], tuple[int, dict[str, Any]]]


class LambdaApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def serve(functions: dict[str, str], invoke: Callable[[str, dict[str, Any]], Any], authorize: Authorize,
          function_arn: Callable[[str], str], host: str = "127.0.0.1", port: int = 0) -> LambdaApiServer:
    """``functions``: the function names (and logical ids) it answers for -> our name of the function."""

    class Handler(QuietHandler):
        def handle_request(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            found = _INVOKE.match(path)
            body = self.read_body()
            name = urllib.parse.unquote(found.group("name")) if found else ""
            if self.command != "POST" or not found or name.rsplit(":", 1)[-1] not in functions:
                self._json(404, {"Type": "User", "message": "Function not found"},
                           {"x-amzn-ErrorType": "ResourceNotFoundException"})
                return
            function = name.rsplit(":", 1)[-1]
            status, verdict = authorize("POST", self.path, dict(self.headers.items()), body, function_arn(function))
            if status != 200:
                self._json(403, {"Type": "User", "message": verdict.get("message", "Forbidden")},
                           {"x-amzn-ErrorType": "AccessDeniedException"})
                return
            try:
                event = json.loads(body or b"{}")
                result = invoke(functions[function], event)
            except Exception as exc:  # noqa: BLE001 - Lambda answers a function's error as its payload
                self._json(200, {"errorMessage": str(exc), "errorType": type(exc).__name__},
                           {"X-Amz-Function-Error": "Unhandled"})
                return
            self._json(200, result, {})

        def _json(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            self.reply(status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode())

    server = LambdaApiServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="lambda-api", daemon=True).start()
    return server
