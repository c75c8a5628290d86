"""The whole application on one machine: resources from template.yaml on moto
server, the real handlers invoked the way AWS would invoke them.

Used by ``make run`` (local/__main__.py) and by the integration tests. The
handlers are the deployed ones: this module only builds events and contexts.
"""

from __future__ import annotations

import os
import sys
import threading
import urllib.parse
from collections.abc import MutableMapping
from typing import Any

from local import gateway
from local.event_tail import EventTail
from local.lambda_runtime import Handler, LambdaContext, load_handler
from local.provision import Stack, provision
from local.sqs_poller import SqsPoller
from local.template import REGION, load_sam

FUNCTIONS = {"webhook": "WebhookFunction", "send": "SendFunction", "reconcile": "ReconcileFunction"}
WEBHOOK_USER = "aculab"


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
        self.poller: SqsPoller | None = None
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

    def environment(self) -> dict[str, str]:
        """Every function's template environment (they agree where they overlap),
        plus how to reach moto server."""
        env: dict[str, str] = {}
        for logical in FUNCTIONS.values():
            for key, value in self.stack.function_environment(logical).items():
                if key in env and env[key] != value:
                    raise RuntimeError(f"functions disagree on {key}; run them in separate processes")
                env[key] = value
        if self.gateway is not None:
            env["WEBHOOK_URL"] = self.webhook_url
        env.update(
            AWS_ENDPOINT_URL=self.stack.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",  # nosec B106
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            POWERTOOLS_METRICS_DISABLED="true",
        )
        env.update(self._env_overrides)
        return env

    def apply_environment(self, environ: MutableMapping[str, str] | None = None) -> None:
        target = os.environ if environ is None else environ
        target.update(self.environment())
        for handler_name in FUNCTIONS:
            self._handlers.pop(handler_name, None)

    def handler(self, name: str) -> Handler:
        """The deployed handler of ``name`` (webhook, send, reconcile), its
        per-container collaborators rebuilt from the current environment."""
        if name not in self._handlers:
            logical = FUNCTIONS[name]
            fn = load_handler(self.stack.code_dirs[logical], self.stack.handler(logical))
            module = sys.modules[fn.__module__]
            if hasattr(module, "service"):
                module.service.cache_clear()  # a new container
            self._handlers[name] = fn
        return self._handlers[name]

    def invoke(self, name: str, event: dict[str, Any], timeout: float | None = None) -> Any:
        logical = FUNCTIONS[name]
        props = self.stack.template["Resources"][logical]["Properties"]
        context = LambdaContext(
            function_name=f"{self.stack.name}-{logical}",
            timeout_seconds=timeout or float(props.get("Timeout", 30)),
            memory_limit_in_mb=int(props.get("MemorySize", 256)),
        )
        return self.handler(name)(event, context)

    # -- drivers ----------------------------------------------------------------

    def start_gateway(self, host: str = "127.0.0.1", port: int = 0) -> gateway.GatewayServer:
        routes = gateway.routes_from_template(self.sam, FUNCTIONS["webhook"])
        self.gateway = gateway.serve(routes, lambda event: self.invoke("webhook", event), host, port)
        return self.gateway

    def send_poller(self, retry_visibility_seconds: int | None = None, wait_seconds: int = 1) -> SqsPoller:
        queue_url = self.stack.refs["SendQueue"]
        queue_arn = self.stack.attrs[("SendQueue", "Arn")]
        batch = int(self.sam["Resources"]["SendFunction"]["Properties"]["Events"]["SendQueue"]["Properties"]
                    .get("BatchSize", 10))
        self.poller = SqsPoller(
            self.stack.client("sqs"), queue_url, queue_arn, lambda event: self.invoke("send", event),
            batch_size=batch, retry_visibility_seconds=retry_visibility_seconds, wait_seconds=wait_seconds,
        )
        return self.poller

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
        source = self.environment()["EVENT_SOURCE"]
        bus = self.stack.refs["MessagingBus"]
        return EventTail(self.stack.client("events"), self.stack.client("sqs"), bus, source, name, detail_types)

    def stop(self) -> None:
        self._timer_stop.set()
        if self.poller:
            self.poller.stop()
        if self.gateway:
            self.gateway.shutdown()
            self.gateway.server_close()


def parse_rate(expression: str) -> float:
    """``rate(5 minutes)`` -> 300.0 seconds (cron expressions: once a minute locally)."""
    if expression.startswith("rate(") and expression.endswith(")"):
        amount, unit = expression[5:-1].split()
        factor = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}[unit]
        return float(amount) * factor
    return 60.0
