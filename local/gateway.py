"""An HTTP server that turns requests into API Gateway HTTP API (payload 2.0)
events for our functions, with the routes, their functions and their
authorizers read from the translated template's OpenAPI body.

A route whose security is AWS_IAM is authorised as API Gateway does: the
SigV4 signature and ``execute-api:Invoke`` on the route's ARN, decided by
moto server's IAM (``/_local/authorize``); 403 otherwise, and the function
is never invoked."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from local.http_handler import QuietHandler

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
# (method, path with query, headers, body, the route's ARN) -> (200, the caller) or (403, why)
Authorize = Callable[[str, str, dict[str, str], bytes, str], tuple[int, dict[str, Any]]]
_FUNCTION_ARN = re.compile(r"\$\{(\w+)\.Arn\}")


class Route:
    def __init__(self, method: str, path: str, function: str = "", iam: bool = False) -> None:
        self.method = method.upper()
        self.path = path
        self.function = function  # the logical id of the function it invokes
        self.iam = iam  # authorizer AWS_IAM
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self._regex = re.compile(f"^{pattern}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method.upper(), "ANY"):
            return None
        found = self._regex.match(path)
        return found.groupdict() if found else None


def routes_from_template(cloudformation: dict[str, Any], api_logical_id: str) -> list[Route]:
    """The routes of an HTTP API in the translated template (its OpenAPI body)."""
    body = cloudformation["Resources"][api_logical_id]["Properties"]["Body"]
    routes = []
    for path, methods in body.get("paths", {}).items():
        for method, spec in methods.items():
            uri = spec["x-amazon-apigateway-integration"]["uri"]
            found = _FUNCTION_ARN.search(uri["Fn::Sub"] if isinstance(uri, dict) else str(uri))
            iam = any("AWS_IAM" in scheme for scheme in spec.get("security", []))
            routes.append(Route(method, path, found.group(1) if found else "", iam))
    return routes


def build_event(method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes,
                route: Route, path_params: dict[str, str], source_ip: str) -> dict[str, Any]:
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("User-Agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{route.method} {route.path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if path_params:
        event["pathParameters"] = path_params
    if body:
        if text is None:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = text
    return event


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    # API Gateway takes many connections at once; socketserver's default backlog of 5 made bursts of
    # 50 concurrent requests fail with connection resets that API Gateway would never send
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], routes: list[Route], invoke: Invoke,
                 authorize: Authorize | None = None, route_arn: Callable[[Route, str], str] | None = None) -> None:
        super().__init__(address, _GatewayHandler)
        self.routes = routes
        self.invoke = invoke
        self.authorize = authorize
        self.route_arn = route_arn or (lambda route, path: f"arn:aws:execute-api:local:000000000000:local/$default/"
                                       f"{route.method}{path}")
        self.requests = 0

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _GatewayHandler(QuietHandler):
    server: GatewayServer

    def handle_request(self) -> None:
        path, _, query = self.path.partition("?")
        body = self.read_body()
        self.server.requests += 1
        for route in self.server.routes:
            params = route.match(self.command, path)
            if params is not None:
                headers = dict(self.headers.items())
                event = build_event(self.command, path, query, headers, body, route, params, self.client_address[0])
                if route.iam:
                    if self.server.authorize is None:
                        raise RuntimeError("an AWS_IAM route needs an authorizer")
                    decision, caller = self.server.authorize(
                        self.command, self.path, headers, body, self.server.route_arn(route, path))
                    if decision != 200:
                        self.reply(403, {"content-type": "application/json"}, json.dumps(caller).encode())
                        return
                    event["requestContext"]["authorizer"] = {"iam": caller}
                try:
                    result = self.server.invoke(route.function, event)
                except Exception:  # noqa: BLE001 - API Gateway answers 500 when the function fails
                    traceback.print_exc()
                    self.reply(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
                    return
                raw = result.get("body") or ""
                data = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
                self.reply(int(result.get("statusCode", 200)), result.get("headers") or {}, data)
                return
        self.reply(404, {"content-type": "application/json"}, json.dumps({"message": "Not Found"}).encode())


def serve(routes: list[Route], invoke: Invoke, host: str = "127.0.0.1", port: int = 0,
          authorize: Authorize | None = None, route_arn: Callable[[Route, str], str] | None = None) -> GatewayServer:
    server = GatewayServer((host, port), routes, invoke, authorize, route_arn)
    threading.Thread(target=server.serve_forever, name="gateway", daemon=True).start()
    return server
