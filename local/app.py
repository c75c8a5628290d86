"""The whole application on one machine: resources from template.yaml on moto
server, the real handlers invoked the way AWS would invoke them.

Used by ``make run`` (local/__main__.py) and by the integration tests. The
handlers are the deployed ones: this module only builds events and contexts.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from local import gateway
from local.event_tail import EventTail
from local.lambda_runtime import Handler, LambdaContext, in_its_own_invocation, load_handler, stamp_handlers
from local.provision import ACCOUNT, Stack, provision
from local.scheduler import SchedulerRunner
from local.sqs_poller import SqsPoller
from local.template import REGION, load_sam

FUNCTIONS = {"webhook": "WebhookFunction", "send": "SendFunction", "reconcile": "ReconcileFunction",
             "messages": "MessagesFunction", "media": "MediaFunction", "erase": "EraseFunction"}
# invoked by an operator through Lambda's Invoke API (start_lambda_api), not by an event source
OPERATOR_FUNCTIONS = ("erase",)
WEBHOOK_USER = "aculab"
# variables a function's environment sets that another function's must not inherit
_FUNCTION_KEYS = ("AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME", "WEBHOOK_URL", "WEBHOOK_SECRET_ARN",
                  "INBOUND_TOKEN_SECRET_ARN", "ACULAB_SECRET_ARN", "ACULAB_BASE_URL", "ACULAB_CLOUD_ID",
                  "MEDIA_BUCKET_NAME", "ACULAB_READ_TIMEOUT",
                  "SEND_QUEUE_ARN", "SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "MAX_SENDS_PER_SECOND",
                  "MAX_SENDS_PER_SECOND_PER_NUMBER", "DEAD_LETTER_QUEUE_ARN", "ERASURE_KEY_SECRET_ARN",
                  "MEDIA_RETENTION_DAYS", "EVENT_ARCHIVE_RETENTION_DAYS", "ARCHIVE_PERSONAL_DATA")
_init_lock = threading.Lock()


def put_function_environment(target: MutableMapping[str, str], env: Mapping[str, str]) -> None:
    """``target`` as one function's container has it: less every variable only some function sets
    (another function's secrets, name, session token), then that function's own over it."""
    for key in _FUNCTION_KEYS:
        target.pop(key, None)
    target.update(env)


def sqs_batch_size(sam: Mapping[str, Any], logical: str) -> int:
    """The BatchSize of the function's SQS event source mapping, as the template declares it."""
    events = sam["Resources"][logical]["Properties"]["Events"]
    (props,) = [e["Properties"] for e in events.values() if e.get("Type") == "SQS"]
    return int(props.get("BatchSize", 10))


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """This process's environment as one function's container has it, while
    that function initialises (its clients take their credentials then)."""
    saved = {key: os.environ.get(key) for key in (*env, *_FUNCTION_KEYS)}
    put_function_environment(os.environ, env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class LocalApp:
    def __init__(
        self,
        aws_endpoint: str,
        aculab_url: str,
        aculab_credentials: dict[str, str],
        *,
        name: str = "local",
        webhook_password: str | None = None,
        inbound_token: str | None = None,
        env_overrides: dict[str, str] | None = None,
    ) -> None:
        import secrets

        self.webhook_password = webhook_password or secrets.token_urlsafe(18)
        self.inbound_token = inbound_token or secrets.token_urlsafe(18)
        self.stack: Stack = provision(
            aws_endpoint,
            name=name,
            parameters={"AculabBaseUrl": aculab_url},
            secret_values={
                "AculabApiSecret": aculab_credentials,
                "WebhookCredentialsSecret": {"username": WEBHOOK_USER, "password": self.webhook_password},
                "InboundTokenSecret": {"token": self.inbound_token},
            },
        )
        self.sam = load_sam()
        self._env_overrides = env_overrides or {}
        self.gateway: gateway.GatewayServer | None = None
        self.lambda_api: Any = None
        self.poller: SqsPoller | None = None
        self.media: SqsPoller | None = None
        self.scheduler: SchedulerRunner | None = None
        self._timer_stop = threading.Event()
        self._handlers: dict[str, Handler] = {}

    # -- environment and handlers ----------------------------------------------

    @property
    def webhook_url(self) -> str:
        return f"{self._gateway().base_url}/aculab/notify"

    @property
    def inbound_url(self) -> str:
        return f"{self._gateway().base_url}/aculab/{urllib.parse.quote(self.inbound_token)}/notify"

    def _gateway(self) -> gateway.GatewayServer:
        if self.gateway is None:
            raise RuntimeError("start_gateway() first")
        return self.gateway

    def environment(self, name: str | None = None) -> dict[str, str]:
        """What function ``name`` (webhook, send, reconcile) sees, as Lambda
        would give it: its template environment, its role's temporary
        credentials, and how to reach moto server. Without a name: the
        harness's (admin credentials, no function variables)."""
        common = {"AWS_ENDPOINT_URL": self.stack.endpoint_url, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
        if name is None:
            creds = self.stack.admin_credentials
            return {**self._shared_environment(), **common, "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
                    "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"]}
        logical = FUNCTIONS[name]
        env = self.stack.function_environment(logical)
        if self.gateway is not None and "WEBHOOK_URL" in env:
            env["WEBHOOK_URL"] = self.webhook_url
        creds = self.stack.function_credentials[logical]
        env.update(
            common,
            AWS_ACCESS_KEY_ID=creds["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"],
            AWS_SESSION_TOKEN=creds["aws_session_token"],
            AWS_LAMBDA_FUNCTION_NAME=f"{self.stack.name}-{logical}",
            POWERTOOLS_METRICS_DISABLED="true",
        )
        env.update(self._env_overrides)
        return env

    def _shared_environment(self) -> dict[str, str]:
        """The settings every function has alike (POWERTOOLS_*, the table ...): this
        process keeps them, for what a handler reads while it runs, not only at init."""
        envs = [self.environment(name) for name in FUNCTIONS]
        return {k: v for k, v in envs[0].items()
                if not k.startswith("AWS_") and all(env.get(k) == v for env in envs[1:])}

    def apply_environment(self, name: str | None = None, environ: MutableMapping[str, str] | None = None) -> None:
        """Put ``environment(name)`` into ``environ`` (default: this process's),
        for code that builds a function's service in-process; the next
        invocation of each handler starts a new container."""
        put_function_environment(os.environ if environ is None else environ, self.environment(name))
        self._handlers.clear()

    def handler(self, name: str) -> Handler:
        """The deployed handler of ``name`` (webhook, send, reconcile, ...), in
        its container: built on first use, then kept, as a warm Lambda."""
        with _init_lock:
            if name not in self._handlers:
                self._handlers[name] = self._new_container(name)
            return self._handlers[name]

    def container(self, name: str) -> Handler:
        """A new container of ``name`` besides the kept one: concurrent
        invocations in containers of their own, as Lambda scales out."""
        with _init_lock:
            return self._new_container(name)

    def _new_container(self, name: str) -> Handler:
        """The handler in a new container: its module run again and its
        collaborators built inside its own environment (credentials of its
        role), as Lambda's init does."""
        logical = FUNCTIONS[name]
        # the module-level Logger and Metrics read the environment at import, as on Lambda
        env = self.environment(name)
        with _environment(env):
            # a new process would log to today's stdout: drop a handler an earlier container bound
            service_logger = logging.getLogger(env.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))
            for old_handler in list(service_logger.handlers):
                service_logger.removeHandler(old_handler)
            for mark in ("init", "powertools_handler", "powertools_buffer_config", "powertools_buffer_cache"):
                service_logger.__dict__.pop(mark, None)  # what powertools' Logger leaves on it
            fn = load_handler(self.stack.code_dirs[logical], self.stack.handler(logical))
            # a new container: the module runs again (its Logger takes this environment's level)
            module = importlib.reload(sys.modules[fn.__module__])
            fresh: Handler = getattr(module, fn.__name__)
            if hasattr(module, "service"):
                module.service()
            # all functions share the service's logging.Logger here: each line names its own invocation
            stamp_handlers(service_logger, logging.getLogger("aculab_messaging"))
        return in_its_own_invocation(fresh)

    def context(self, name: str, timeout: float | None = None,
                clock: Callable[[], float] = time.monotonic) -> LambdaContext:
        logical = FUNCTIONS[name]
        props = self.stack.template["Resources"][logical]["Properties"]
        return LambdaContext(
            function_name=f"{self.stack.name}-{logical}",
            timeout_seconds=timeout or float(props.get("Timeout", 30)),
            memory_limit_in_mb=int(props.get("MemorySize", 256)),
            clock=clock,
        )

    def invoke(self, name: str, event: dict[str, Any], timeout: float | None = None,
               clock: Callable[[], float] = time.monotonic) -> Any:
        """Run a function once; its remaining time is read on ``clock`` (a test's own, or the wall's)."""
        return self.handler(name)(event, self.context(name, timeout, clock))

    # -- drivers ----------------------------------------------------------------

    @property
    def messages_url(self) -> str:
        return f"{self._gateway().base_url}/messages"

    def start_gateway(self, host: str = "127.0.0.1", port: int = 0) -> gateway.GatewayServer:
        """The HTTP API: its routes and authorizers from the translated template;
        AWS_IAM routes authorised by moto server's IAM."""
        import requests

        by_logical = {logical: name for name, logical in FUNCTIONS.items()}
        routes = gateway.routes_from_template(self.stack.template, "WebhookApi")
        api_id = self.stack.refs.get("WebhookApi", "local")

        def authorize(method: str, path: str, headers: dict[str, str], body: bytes,
                      resource: str) -> tuple[int, dict[str, Any]]:
            answer = requests.post(f"{self.stack.endpoint_url}/_local/authorize", timeout=10, json={
                "method": method, "path": path, "headers": headers, "body": body.decode("utf-8", "replace"),
                "resource": resource, "account_id": ACCOUNT})
            return answer.status_code, answer.json()

        def route_arn(route: gateway.Route, path: str) -> str:
            return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/$default/{route.method}{path}"

        self.gateway = gateway.serve(routes, lambda logical, event: self.invoke(by_logical[logical], event),
                                     host, port, authorize, route_arn)
        return self.gateway

    def function_name(self, name: str) -> str:
        """The deployed name of function ``name`` (what ``aws lambda invoke --function-name`` takes)."""
        return f"{self.stack.name}-{FUNCTIONS[name]}"

    def start_lambda_api(self, host: str = "127.0.0.1", port: int = 0) -> Any:
        """Lambda's Invoke API for the functions an operator invokes (the erase function), each call
        authorised by moto server's IAM (``lambda:InvokeFunction`` on the function's ARN)."""
        import requests

        from local import lambda_api

        def authorize(method: str, path: str, headers: dict[str, str], body: bytes,
                      resource: str) -> tuple[int, dict[str, Any]]:
            answer = requests.post(f"{self.stack.endpoint_url}/_local/authorize", timeout=10, json={
                "method": method, "path": path, "headers": headers, "body": body.decode("utf-8", "replace"),
                "resource": resource, "account_id": ACCOUNT, "service": "lambda", "action": "InvokeFunction"})
            return answer.status_code, answer.json()

        names = {key: name for name in OPERATOR_FUNCTIONS for key in (self.function_name(name), FUNCTIONS[name])}
        self.lambda_api = lambda_api.serve(
            names, lambda name, event: self.invoke(name, event), authorize,
            lambda function: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name(names[function])}",
            host, port)
        return self.lambda_api

    def send_poller(self, retry_visibility_seconds: int | None = None, wait_seconds: int = 1,
                    handler: Handler | None = None) -> SqsPoller:
        """The send function's event source mapping (``handler``: a container of its own)."""
        poller = self._event_source("send", "SendQueue", handler, retry_visibility_seconds, wait_seconds)
        if handler is None:
            self.poller = poller
        return poller

    def media_poller(self, wait_seconds: int = 1) -> SqsPoller:
        """The media function on its queue, as its event source mapping runs it."""
        self.media = self._event_source("media", "MediaQueue", None, None, wait_seconds)
        return self.media

    def _event_source(self, name: str, queue: str, handler: Handler | None,
                      retry_visibility_seconds: int | None, wait_seconds: int) -> SqsPoller:
        """An SQS event source mapping as the template declares it (its BatchSize), polling
        with the function's role, as Lambda's does."""
        logical = FUNCTIONS[name]
        creds = self.stack.function_credentials[logical]
        sqs = self.stack.session().client("sqs", endpoint_url=self.stack.endpoint_url, region_name=REGION,
                                          aws_access_key_id=creds["aws_access_key_id"],
                                          aws_secret_access_key=creds["aws_secret_access_key"],
                                          aws_session_token=creds["aws_session_token"])
        invoke = (lambda event: handler(event, self.context(name))) if handler else (
            lambda event: self.invoke(name, event))
        return SqsPoller(sqs, self.stack.refs[queue], self.stack.attrs[(queue, "Arn")], invoke,
                         batch_size=sqs_batch_size(self.sam, logical),
                         retry_visibility_seconds=retry_visibility_seconds, wait_seconds=wait_seconds)

    def scheduler_runner(self) -> SchedulerRunner:
        """EventBridge Scheduler's firing: ``fire_due(now)``, or ``start()`` for real time."""
        if self.scheduler is None:
            self.scheduler = SchedulerRunner(self.stack)
        return self.scheduler

    def schedule_expression(self) -> str:
        props = self.sam["Resources"]["ReconcileFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
        return str(self.stack.resolve(props["ScheduleExpression"]))

    def run_reconcile(self) -> Any:
        event = {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}
        return self.invoke("reconcile", event)

    def start_timer(self, every_seconds: float, on_run: Any = None) -> threading.Thread:
        def loop() -> None:
            while not self._timer_stop.wait(every_seconds):
                try:
                    report = self.run_reconcile()
                    if on_run:
                        on_run(report)
                except Exception as exc:  # noqa: BLE001 - the schedule keeps going
                    if on_run:
                        on_run({"error": type(exc).__name__})

        thread = threading.Thread(target=loop, name="reconcile-timer", daemon=True)
        thread.start()
        return thread

    def event_tail(self, name: str = "event-tail", detail_types: list[str] | None = None) -> EventTail:
        source = self.environment("webhook")["EVENT_SOURCE"]
        bus = self.stack.refs["MessagingBus"]
        return EventTail(self.stack.client("events"), self.stack.client("sqs"), bus, source, name, detail_types)

    def stop(self) -> None:
        self._timer_stop.set()
        for poller in (self.poller, self.media, self.scheduler):
            if poller:
                poller.stop()
        for server in (self.gateway, self.lambda_api):
            if server:
                server.shutdown()
                server.server_close()


def parse_rate(expression: str) -> float:
    """``rate(5 minutes)`` -> 300.0 seconds (cron expressions: once a minute locally)."""
    if expression.startswith("rate(") and expression.endswith(")"):
        amount, unit = expression[5:-1].split()
        factor = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}[unit]
        return float(amount) * factor
    return 60.0
