"""What the Lambda service gives a handler: a context object, and the
handler itself loaded from the template's CodeUri and Handler; and, since
every function runs in this one process, each log line stamped with the
invocation that wrote it (``in_its_own_invocation``)."""

from __future__ import annotations

import functools
import importlib
import logging
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from local.template import ROOT

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    # the clock the remaining time is read on: the wall clock, or one a test controls
    clock: Callable[[], float] = time.monotonic
    _started: float = field(init=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (self.clock() - self._started)) * 1000))


def load_handler(code_uri: str, handler: str) -> Handler:
    """Import ``module.function`` from the function's code directory."""
    code_dir = str((ROOT / code_uri).resolve())
    layer_dir = str((ROOT / "layers" / "core").resolve())
    for path in (layer_dir, code_dir):
        if path not in sys.path:
            sys.path.insert(0, path)
    module_name, _, func = handler.rpartition(".")
    module = importlib.import_module(module_name)
    fn: Handler = getattr(module, func)
    return fn


# -- one process, many functions: whose log line is it ------------------------------------------
# On Lambda a process runs one function, one invocation at a time, so powertools keeps the Lambda
# context (function_name, function_request_id ...) in its formatter, shared by the whole process.
# Here every function shares that formatter (one service name, one logging.Logger): the keys the
# runtime knows per invocation are put on each record instead, which powertools prints over its own.

_INVOCATION: ContextVar[dict[str, Any] | None] = ContextVar("local_lambda_invocation", default=None)


class InvocationKeys(logging.Filter):
    """A handler's filter: the keys of the invocation running in this thread, on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        keys = _INVOCATION.get()
        if keys:
            record.__dict__.update(keys)
        return True


INVOCATION_KEYS = InvocationKeys()


def stamp_handlers(*loggers: logging.Logger) -> None:
    """Every handler of ``loggers`` (powertools' handlers, made at a container's init) stamps."""
    for log in loggers:
        for handler in log.handlers:
            handler.addFilter(INVOCATION_KEYS)  # once: addFilter keeps a filter only once


def in_its_own_invocation(fn: Handler) -> Handler:
    """``fn`` (one container's handler) with each invocation's context on its log lines: the
    keys powertools' inject_lambda_context logs, and cold_start for this container's first."""
    _carry_invocation_into_pools()
    cold = iter([True])

    @functools.wraps(fn)
    def invoke(event: dict[str, Any], context: Any) -> Any:
        token = _INVOCATION.set({
            "cold_start": next(cold, False),
            "function_name": context.function_name,
            "function_memory_size": context.memory_limit_in_mb,
            "function_arn": context.invoked_function_arn,
            "function_request_id": context.aws_request_id,
        })
        try:
            return fn(event, context)
        finally:
            _INVOCATION.reset(token)

    return invoke


_submit = ThreadPoolExecutor.submit


def _submit_in_invocation(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any,
                          **kwargs: Any) -> Future[Any]:
    """A task submitted during an invocation runs as part of it (the send function's records
    run in a pool), as in a process of its own; anything else runs as before."""
    keys = _INVOCATION.get()
    if keys is None:
        return _submit(self, fn, *args, **kwargs)

    def task() -> Any:
        token = _INVOCATION.set(keys)
        try:
            return fn(*args, **kwargs)
        finally:
            _INVOCATION.reset(token)

    return _submit(self, task)


def _carry_invocation_into_pools() -> None:
    ThreadPoolExecutor.submit = _submit_in_invocation  # type: ignore[method-assign, assignment]
