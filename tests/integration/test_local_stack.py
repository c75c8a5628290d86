"""`make run` end to end: the local stack as a subprocess, driven like a user would."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
import requests

from local.template import ROOT

# `make run`s of one tree share its .local-stack/: one at a time (tests/conftest.py, one_local_stack)
pytestmark = pytest.mark.usefixtures("one_local_stack")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_local_stack() -> tuple[subprocess.Popen[str], queue.Queue[str], list[int], dict[str, str]]:
    """`make run` as a subprocess on free ports: the process, its output lines as they come, its
    ports (AWS, simulator, webhook) and the environment it was started with."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_SESSION_TOKEN"}
    env["PYTHONPATH"] = f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}"
    ports = [free_port() for _ in range(3)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "--aws-port", str(ports[0]), "--simulator-port", str(ports[1]),
         "--webhook-port", str(ports[2]), "--step-seconds", "0.3"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()
    return proc, lines, ports, env


def waiter(proc: subprocess.Popen[str], lines: queue.Queue[str], seen: list[str]) -> Callable[..., bool]:
    """``wait_for(text, timeout=30)``: whether the stack printed a line holding ``text`` in time (the lines
    read so far kept in ``seen``); False as soon as the stack exits."""
    def wait_for(text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in seen):
                return True
            try:
                seen.append(lines.get(timeout=0.2))
            except queue.Empty:
                if proc.poll() is not None:
                    return False
        return False

    return wait_for


def stopped(proc: subprocess.Popen[str], timeout: float = 30) -> int:
    """Its exit code once it stopped; one still running after ``timeout`` is killed (never left
    running for the rest of the suite) and the test fails."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def test_local_stack_sends_and_tracks_a_message() -> None:
    # given the local stack on free ports
    proc, lines, ports, env = start_local_stack()
    seen: list[str] = []
    wait_for = waiter(proc, lines, seen)

    try:
        assert wait_for("ready: all up"), seen
        # when a message goes through the producer CLI
        cli = subprocess.run(
            [sys.executable, "-m", "tools.producer", "--queue-url",
             (ROOT / ".local-stack" / "queue_url").read_text(), "--endpoint-url",
             f"http://127.0.0.1:{ports[0]}", "--region", "eu-west-1", "sms", "--to", "+44 7700 900123",
             "--from", "447700900001", "--text", "hello", "--delivery-report", "--message-id", "local-e2e-1"],
            env={**env, "AWS_ACCESS_KEY_ID": (ROOT / ".local-stack" / "aws_access_key_id").read_text(),
                 "AWS_SECRET_ACCESS_KEY": (ROOT / ".local-stack" / "aws_secret_access_key").read_text()},
            capture_output=True, text=True,
            check=False,
        )
        assert cli.returncode == 0, cli.stderr
        # then the event tail shows it submitted, then delivered
        assert wait_for("event: Message Submitted: local-e2e-1"), seen
        assert wait_for("local-e2e-1 status=delivered final"), seen
        # a simulated phone replies STOP: received and opted out
        subprocess.run([sys.executable, "-m", "local.phone", "--from", "447700900123", "--to", "447700900001",
                        "--text", "STOP"], env=env, cwd=ROOT, check=True, capture_output=True)
        assert wait_for("event: Opt-Out Changed"), seen
        # a newcomer can post to the inbound page it printed, token included, as the README shows
        page = next(line.split()[3] for line in seen if "inbound Notification Page" in line)
        assert "<token>" not in page
        answer = requests.post(page, json={"msg_ref": "by-hand-1", "status": "received", "direction": "receive",
                                           "type": "sms", "from": "447700900124", "to": "447700900001",
                                           "content": "hello"}, timeout=30)
        assert answer.status_code == 200
        assert wait_for("event: Message Received: by-hand-1"), seen
        # and the tail carries events, not metrics or warnings
        assert not [line for line in seen if line.startswith('{"_aws"') or "Warning" in line], seen
    finally:
        # when stopped with Ctrl-C, it exits cleanly
        proc.send_signal(signal.SIGINT)
        code = stopped(proc)
    assert code == 0
    assert wait_for("stopped", timeout=5)


def test_local_stack_explains_a_taken_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # the other ports free ones (a `make run` beside this test holds the defaults)
        others = [str(free_port()) for _ in range(3)]
        result = subprocess.run([sys.executable, "-m", "local", "--aws-port", str(port), "--simulator-port", others[0],
                                 "--webhook-port", others[1], "--lambda-port", others[2]], cwd=ROOT,
                                capture_output=True, text=True, timeout=60, check=False,
                                env={**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}"})
    assert result.returncode == 1
    assert f"AWS (moto server) port {port} already in use" in result.stderr
