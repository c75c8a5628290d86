"""What the Lambda service gives a handler: a context object, and the
handler itself loaded from the template's CodeUri and Handler."""

from __future__ import annotations

import importlib
import sys
import time
import uuid
from collections.abc import Callable
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
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


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
