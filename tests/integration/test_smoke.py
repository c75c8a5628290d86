"""`make smoke` against the local stack: the same checks a deployed stack gets,
its endpoints taken from `.local-stack/` instead of CloudFormation outputs."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.template import ROOT
from tests.integration.test_local_stack import start_local_stack, stopped
from tools import smoke


@pytest.mark.usefixtures("one_local_stack")  # `make run`s of one tree share its .local-stack/
def test_smoke_passes_against_the_local_stack_and_leaves_nothing_behind() -> None:
    # given the local stack on free ports
    proc, lines, _ports, env = start_local_stack()
    try:
        deadline, seen = time.monotonic() + 60, ""
        while "ready: all up" not in seen and time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(queue.Empty):
                seen += lines.get(timeout=0.2)
        assert "ready: all up" in seen, seen
        # when make smoke runs with a number to send to
        result = subprocess.run([sys.executable, "-m", "tools.smoke", "--local", "--to", "447700900123",
                                 "--from", "447700900001", "--wait", "30"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
        # then each check passed: the unknown id 404, the webhook's credentials, the message delivered
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout.splitlines()
        assert [line.split(":")[0] for line in out[:2]] == ["ok     GET /messages/{id} (SigV4)",
                                                            "ok     webhook test notification"], out
        assert out[2].startswith("ok     a real message smoke-") and "(delivered)" in out[2], out
        assert out[3] == "smoke: 3 of 3 checks passed"
        # and its temporary rule and queue are gone
        ends = smoke.from_local()
        rules = ends.client("events").list_rules(EventBusName=ends.event_bus_name)["Rules"]
        assert not [r for r in rules if r["Name"].startswith("smoke-")]
        assert not [q for q in ends.client("sqs").list_queues().get("QueueUrls", []) if "/smoke-" in q]
    finally:
        proc.send_signal(signal.SIGINT)
        stopped(proc)


@pytest.mark.usefixtures("one_local_stack")  # `make run`s of one tree share its .local-stack/
def test_smoke_without_a_local_stack_says_so_in_one_line(tmp_path: object) -> None:
    result = subprocess.run([sys.executable, "-c", "import sys, pathlib; from tools import smoke; "
                             "smoke.LOCAL_STATE = pathlib.Path('/nonexistent'); sys.exit(smoke.main(['--local']))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}"})
    assert result.returncode == 1 and result.stderr == "the local stack is not running: start it with make run\n"


def test_smoke_with_the_state_a_stopped_stack_left_says_so_in_one_line(tmp_path: Path) -> None:
    # given .local-stack/ left by a make run that was killed: its endpoint no longer answers
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))  # bound, not listening: connections to it are refused
        (tmp_path / "endpoint_url").write_text(f"http://127.0.0.1:{bound.getsockname()[1]}\n")
        result = subprocess.run([sys.executable, "-c", "import sys, pathlib; from tools import smoke; "
                                 f"smoke.LOCAL_STATE = pathlib.Path({str(tmp_path)!r}); "
                                 "sys.exit(smoke.main(['--local']))"],
                                cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
                                env={**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}"})
    # then one line a user can act on, no traceback
    assert result.returncode == 1 and result.stderr == "the local stack is not running: start it with make run\n"
