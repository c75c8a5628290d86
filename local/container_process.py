"""A function's container in an OS process of its own, polling its queue as its event source
mapping does: on Lambda each concurrent execution has its own process (its own CPU, its own
GIL), where ``local.sqs_poller.run_together`` runs every container as a thread of one process.

The parent builds a ``ContainerSpec`` from a provisioned ``LocalApp`` (the function's environment
and its role's temporary credentials exactly as ``LocalApp.environment`` gives them, the stack's
queue refs, the template's BatchSize, Timeout and MemorySize); each child (multiprocessing,
"spawn": a fresh interpreter, nothing inherited from the parent's imports) takes that environment
as its own, imports the deployed handler module and builds its service (Lambda's init), then,
once every container is up, polls with ``SqsPoller`` until the parent says stop. As with any "spawn"
start, a script (not ``python -m`` / ``-c``) that calls ``run_in_processes`` must do so under
``if __name__ == "__main__":``: each child imports the parent's main script again."""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# a child that has not built its service by then has failed (a cold start takes ~1-3 s, more on a busy machine)
INIT_SECONDS = 120.0


@dataclass(frozen=True)
class ContainerSpec:
    """What one container process needs (picklable: it crosses to the child)."""

    function: str  # LocalApp's name of the function: "send"
    environment: dict[str, str]  # LocalApp.environment(function): template variables, role credentials
    code_uri: str
    handler: str
    function_name: str
    timeout_seconds: float
    memory_limit_in_mb: int
    queue_url: str
    queue_arn: str
    batch_size: int
    wait_seconds: int
    region: str


@dataclass(frozen=True)
class ContainerCounts:
    """What one container's poller did: batches invoked, records received, errors."""

    index: int
    batches: int
    records: int
    errors: int


def container_spec(app: Any, function: str, queue_ref: str, wait_seconds: int = 1) -> ContainerSpec:
    """The spec of a container of ``function`` on ``app`` (a ``LocalApp``) fed by queue ``queue_ref``,
    its event source mapping's BatchSize read from the template as ``LocalApp`` reads it."""
    from local.app import FUNCTIONS, sqs_batch_size
    from local.template import REGION

    logical = FUNCTIONS[function]
    context = app.context(function)
    return ContainerSpec(
        function=function, environment=app.environment(function), code_uri=app.stack.code_dirs[logical],
        handler=app.stack.handler(logical), function_name=context.function_name,
        timeout_seconds=context.timeout_seconds, memory_limit_in_mb=context.memory_limit_in_mb,
        queue_url=app.stack.refs[queue_ref], queue_arn=app.stack.attrs[(queue_ref, "Arn")],
        batch_size=sqs_batch_size(app.sam, logical), wait_seconds=wait_seconds, region=REGION)


def _container_main(index: int, spec: ContainerSpec, go: Any, stop: Any, reports: Any) -> None:
    """The child: become the container, build the handler, report ready, poll from ``go`` to ``stop``."""
    try:
        import boto3

        from local.app import put_function_environment
        from local.lambda_runtime import LambdaContext, load_handler
        from local.sqs_poller import SqsPoller

        put_function_environment(os.environ, spec.environment)
        # Lambda's init: the handler module imported under the function's environment, its service built
        fn = load_handler(spec.code_uri, spec.handler)
        module = sys.modules[fn.__module__]
        if hasattr(module, "service"):
            module.service()
        env = spec.environment
        sqs = boto3.session.Session(region_name=spec.region).client(
            "sqs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=spec.region,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=env["AWS_SESSION_TOKEN"])

        def invoke(event: dict[str, Any]) -> Any:
            return fn(event, LambdaContext(function_name=spec.function_name, timeout_seconds=spec.timeout_seconds,
                                           memory_limit_in_mb=spec.memory_limit_in_mb))

        poller = SqsPoller(sqs, spec.queue_url, spec.queue_arn, invoke, batch_size=spec.batch_size,
                           region=spec.region, wait_seconds=spec.wait_seconds)
    except BaseException as exc:
        reports.put(("failed", index, f"{type(exc).__name__}: {exc}"))
        raise
    reports.put(("ready", index, ""))
    go.wait()
    records = 0
    while not stop.is_set():
        try:
            records += poller.poll_once()
        except Exception:  # noqa: BLE001 - keep polling, as the event source mapping does
            poller.errors += 1
            stop.wait(1)
    reports.put(("done", index, (poller.batches, records, poller.errors)))


def run_in_processes(specs: list[ContainerSpec], done: Callable[[], bool],
                     limit_seconds: float = 120.0) -> list[ContainerCounts]:
    """Start one process per spec, wait until every one has initialised, then let them all poll at
    once until ``done()`` or the limit (counted from the start of polling); returns what each did."""
    ctx = multiprocessing.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    reports: Any = ctx.Queue()
    procs = [ctx.Process(target=_container_main, args=(i, spec, go, stop, reports),
                         name=f"{spec.function}-container-{i}", daemon=True) for i, spec in enumerate(specs)]
    counts: dict[int, ContainerCounts] = {}
    try:
        for proc in procs:
            proc.start()
        ready: set[int] = set()
        deadline = time.monotonic() + INIT_SECONDS
        while len(ready) < len(procs):
            kind, index, detail = _next_report(reports, procs, deadline, set())
            if kind == "failed":
                raise RuntimeError(f"container {index} failed its init: {detail}")
            ready.add(index)
        go.set()
        deadline = time.monotonic() + limit_seconds
        while not done() and time.monotonic() < deadline:
            time.sleep(0.5)
        stop.set()
        deadline = time.monotonic() + 30.0
        while len(counts) < len(procs):
            kind, index, detail = _next_report(reports, procs, deadline, set(counts))
            if kind == "done":
                counts[index] = ContainerCounts(index, *detail)
    finally:
        stop.set()
        go.set()
        for proc in procs:
            if proc.pid is None:  # never started
                continue
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        reports.close()
    return [counts[i] for i in sorted(counts)]


def _next_report(reports: Any, procs: list[Any], deadline: float, finished: set[int]) -> tuple[str, int, Any]:
    """The next report from a child; raises if the deadline passes or a child not yet ``finished``
    (reported done) has exited."""
    while True:
        try:
            report: tuple[str, int, Any] = reports.get(timeout=0.5)
            return report
        except queue.Empty:
            dead = [p.name for i, p in enumerate(procs) if p.exitcode is not None and i not in finished]
            if dead:
                raise RuntimeError(f"container process(es) {', '.join(dead)} exited early") from None
            if time.monotonic() > deadline:
                raise RuntimeError("container processes did not report in time") from None
