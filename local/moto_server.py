"""moto in server mode, as strict as AWS where our code depends on it.

- **IAM enforced.** Once a stack is provisioned, every request must be signed
  by a known identity and be allowed by its policies (moto's own enforcement):
  each function calls with its role's assumed-role credentials, the harness
  with an admin user's. ``POST /_local/iam?enforce=1|0`` turns it on or off;
  ``/moto-api/reset`` turns it off (nothing exists to authenticate against).
- **DynamoDB requests atomic, and no more.** DynamoDB applies a conditional
  write atomically; moto's backend takes no lock, so each DynamoDB request
  runs under one lock. Nothing else is serialised: an SQS long poll, a
  PutEvents or a secret read never waits for another request, so concurrent
  invocations really overlap.
- **IAM authorisation for the local API Gateway** (``POST /_local/authorize``):
  a route whose authorizer is AWS_IAM asks here, as API Gateway asks IAM:
  the SigV4 signature checked against the caller's secret (user or
  assumed-role session), the request no older than 5 minutes, and
  ``execute-api:Invoke`` on the route's ARN allowed by the caller's policies.
- **Every call recorded** with the access key that signed it
  (``GET /_local/calls``, ``DELETE /_local/calls``): tests check each
  function's calls, action and resource, against its role's statements.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")
StartResponse = Callable[..., Any]


def _resource_arns() -> None:
    """Teach moto the resource of each DynamoDB, EventBridge, Scheduler and
    Secrets Manager request. moto checks a statement's Resource against what the
    service reports, and these report nothing ("*"), so a statement scoped to
    one table, bus or secret could never allow anything: AWS checks the real
    ARN, and so does moto from here on."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.responses import EventsHandler
    from moto.secretsmanager.responses import SecretsManagerResponse

    def params(handler: Any) -> dict[str, Any]:
        data = handler.body
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data or "{}")
            except ValueError:
                return {}
        return data if isinstance(data, dict) else {}

    def table_arn(handler: Any) -> str:
        data = params(handler)
        tables = list(data.get("RequestItems") or {}) or [data.get("TableName")]
        if not tables[0]:
            return "*"
        arn = f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{tables[0]}"
        return f"{arn}/index/{data['IndexName']}" if data.get("IndexName") else arn

    def bus_arn(handler: Any) -> str:
        entries = params(handler).get("Entries") or [{}]
        bus = str(entries[0].get("EventBusName") or "default")
        if bus.startswith("arn:"):
            return bus
        return f"arn:aws:events:{handler.region}:{handler.current_account}:event-bus/{bus}"

    def secret_arn(handler: Any) -> str:
        wanted = str(params(handler).get("SecretId") or "*")
        if wanted.startswith("arn:") or wanted == "*":
            return wanted
        from moto.secretsmanager.models import secretsmanager_backends

        found = secretsmanager_backends[handler.current_account][handler.region].secrets.get(wanted)
        return str(found.arn) if found is not None else "*"

    def schedule_arn(handler: Any) -> str:
        """``/schedules/<name>`` in the group the body (create) or the query (get, delete) names."""
        path = urllib.parse.urlsplit(handler.uri).path.rstrip("/").split("/")
        prefix = f"arn:aws:scheduler:{handler.region}:{handler.current_account}"
        if len(path) >= 3 and path[-2] == "schedules":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.uri).query)
            group = str(params(handler).get("GroupName") or (query.get("groupName") or ["default"])[0])
            return f"{prefix}:schedule/{group}/{urllib.parse.unquote(path[-1])}"
        if len(path) >= 3 and path[-2] == "schedule-groups":
            return f"{prefix}:schedule-group/{urllib.parse.unquote(path[-1])}"
        return "*"

    from moto.scheduler.responses import EventBridgeSchedulerResponse

    EventBridgeSchedulerResponse._determine_resource = schedule_arn  # type: ignore[attr-defined]
    DynamoHandler._determine_resource = table_arn  # type: ignore[attr-defined]
    EventsHandler._determine_resource = bus_arn  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = secret_arn  # type: ignore[attr-defined]


# API Gateway refuses a signature more than 5 minutes from its clock
_SIGNATURE_SKEW_SECONDS = 300


def authorize_invoke(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Decide an ``execute-api:Invoke`` as API Gateway's IAM authorizer does:
    (200, the caller) or (403, why). ``request``: method, path (with query),
    headers, body (text), resource (the route's ARN); ``service`` and ``action`` for another
    service's call authorised the same way (``lambda`` / ``InvokeFunction``: the local Lambda Invoke API)."""
    import datetime as dt

    from moto.iam.access_control import IAMRequest
    from requests.structures import CaseInsensitiveDict
    from werkzeug.exceptions import HTTPException

    headers = CaseInsensitiveDict(request.get("headers") or {})
    authorization = str(headers.get("Authorization") or "")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or "X-Amz-Date" not in headers:
        return 403, {"message": "Forbidden"}
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    service = str(request.get("service") or "execute-api")
    if len(scope) != 5 or scope[3] != service:
        return 403, {"message": f"Credential should be scoped to correct service: '{service}'."}
    try:
        signed_at = dt.datetime.strptime(str(headers["X-Amz-Date"]), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return 403, {"message": "Forbidden"}
    if abs((dt.datetime.now(dt.UTC) - signed_at).total_seconds()) > _SIGNATURE_SKEW_SECONDS:
        return 403, {"message": "Signature expired"}
    try:
        iam_request = IAMRequest(
            account_id=str(request.get("account_id") or "123456789012"), method=str(request["method"]),
            path=str(request["path"]), data={}, body=str(request.get("body") or "").encode(),
            headers=headers, action=str(request.get("action") or "Invoke"),  # type: ignore[arg-type]
        )
        iam_request.check_signature()
        iam_request.check_action_permitted(str(request["resource"]))
    except HTTPException as exc:
        found = re.search(r"<Message>(.*?)</Message>", str(getattr(exc, "description", "")), re.DOTALL)
        return 403, {"message": found.group(1) if found else "Forbidden"}
    return 200, {"userArn": iam_request._access_key.arn, "accessKey": scope[0]}


def _rest_get_signatures() -> None:
    """moto checks a request's signature with its parsed parameters as the
    payload when the body is empty, so a signed GET or DELETE with a query
    (Scheduler's ListSchedules, GetSchedule ?groupName=) never matches; AWS
    signs the empty payload. The empty payload, here too."""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request

    def create(self: Any) -> Any:
        if self._method in ("GET", "DELETE", "HEAD") and not self._body:
            saved, self._data = self._data, {}
            try:
                return original(self)
            finally:
                self._data = saved
        return original(self)

    IAMRequestBase._create_aws_request = create  # type: ignore[method-assign]


def _aws_wildcards() -> None:
    """IAM matches a statement's Resource with ``*`` and ``?`` as its only
    wildcards; moto turns the pattern into a regular expression unescaped,
    so ``.`` matches anything and a ``$`` (API Gateway's ``$default`` stage)
    never matches itself. AWS's rule, here too."""
    from moto.iam.access_control import IAMPolicyStatement

    def match(pattern: str, string: str) -> re.Match[str] | None:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        return re.fullmatch(regex, string, flags=re.DOTALL)

    IAMPolicyStatement._match = staticmethod(match)  # type: ignore[method-assign]


def _set_enforcement(on: bool) -> None:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
    ActionAuthenticatorMixin.request_count = 0


def _s3_permission(environ: dict[str, Any]) -> str:
    """The IAM permission an S3 REST request needs (path-style: /bucket[/key])."""
    method = environ.get("REQUEST_METHOD", "GET")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    has_key = "/" in environ.get("PATH_INFO", "").strip("/")
    if not has_key:
        if method == "GET" and "versions" in query:
            return "ListBucketVersions"
        return {"GET": "ListBucket", "HEAD": "ListBucket"}.get(method, f"bucket {method}")
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObjectVersion" if "versionId" in query \
            else "DeleteObject"
    return str({"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "POST": "PutObject"}.get(method, method))


def _scheduler_operation(environ: dict[str, Any]) -> str:
    method = str(environ.get("REQUEST_METHOD", "GET"))
    parts = str(environ.get("PATH_INFO", "")).strip("/").split("/")
    kind = "Schedule" if parts[0] == "schedules" else "ScheduleGroup" if parts[0] == "schedule-groups" else parts[0]
    if len(parts) == 1:
        return f"List{kind}s"
    verb = {"POST": "Create", "PUT": "Update", "DELETE": "Delete", "GET": "Get"}.get(method, method)
    return f"{verb}{kind}"


class CallLog:
    """What each access key asked of which service, with the request's parameters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []

    def add(self, environ: dict[str, Any], body: bytes, status: str) -> None:
        found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not found:
            return
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        params: dict[str, Any]
        if found.group(2) == "s3":  # REST: named here by the IAM permission it needs
            operation, params = _s3_permission(environ), {"path": environ.get("PATH_INFO", "")}
        elif found.group(2) == "scheduler":  # REST too
            operation, params = _scheduler_operation(environ), {"path": environ.get("PATH_INFO", "")}
        elif target:
            operation = target.rsplit(".", 1)[-1]
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
        else:
            params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
            operation = str(params.pop("Action", ""))
        call = {"access_key": found.group(1), "service": found.group(2), "operation": operation, "params": params,
                "status": int(status.split(" ", 1)[0] or 0)}
        with self._lock:
            self._calls.append(call)

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def strict_app(inner: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Wrap moto's WSGI app: the controls above, the call log, the DynamoDB lock."""
    dynamodb = threading.Lock()
    calls = CallLog()

    def reply(start_response: StartResponse, payload: Any, status: str = "200 OK") -> list[bytes]:
        data = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_local/iam":
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            _set_enforcement(query.get("enforce", ["1"])[0] == "1")
            return reply(start_response, {"enforce": query.get("enforce", ["1"])[0] == "1"})
        if path == "/_local/authorize" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            decision, verdict = authorize_invoke(json.loads(environ["wsgi.input"].read(length) or b"{}"))
            return reply(start_response, verdict, "200 OK" if decision == 200 else "403 Forbidden")
        if path == "/_local/calls":
            if method == "DELETE":
                calls.clear()
                return reply(start_response, {})
            return reply(start_response, calls.take())
        if path == "/moto-api/reset":
            _set_enforcement(False)
            calls.clear()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # read once by us, again by moto
        seen: list[str] = []

        def recording_start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            seen.append(status)
            return start_response(status, headers, *exc)

        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with dynamodb:
                answer: Iterable[bytes] = list(inner(environ, recording_start))
        else:
            answer = inner(environ, recording_start)
        calls.add(environ, body, seen[0] if seen else "0")
        return answer

    return app


class StrictMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        # the role policies SAM attaches (AWSLambdaBasicExecutionRole, ...) must exist to be attached
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        _resource_arns()
        _aws_wildcards()
        _rest_get_signatures()
        app = strict_app(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def main() -> None:
    """``python -m local.moto_server --port N``: the strict server in its own process."""
    import argparse

    from local.stop_signal import wait_for_stop_signal

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    server = StrictMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    wait_for_stop_signal()
    server.stop()


if __name__ == "__main__":
    main()
