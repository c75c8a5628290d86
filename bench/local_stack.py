"""`make run` measured as a user meets it: the local stack started exactly as
`make run` starts it (`python -m local`, a subprocess), messages put on its
queue with the producer CLI as `make send` does, and the time until the event
tail prints ``Message Submitted``; the simulator times how long the webhook
takes to answer each notification and counts every retry it needed.

Targets (issue: production fidelity): webhook p50 under 100 ms, the first
event within 3 s of `make send`, no notification retried because the webhook
was slow."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from bench.common import ROOT, Figure, _free_port, median


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(messages: int = 10) -> tuple[list[Figure], dict[str, float]]:
    from simulator.control import SimulatorControl

    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}"}
    env.pop("AWS_SESSION_TOKEN", None)
    ports = [_free_port() for _ in range(3)]
    stack = subprocess.Popen(
        [sys.executable, "-m", "local", "--aws-port", str(ports[0]), "--simulator-port", str(ports[1]),
         "--webhook-port", str(ports[2])],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.monotonic(), line)) for line in stack.stdout or []],
                     daemon=True).start()

    def wait_for(text: str, timeout: float = 60) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                at, line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if text in line:
                return at
        raise RuntimeError(f"the local stack never printed {text!r}")

    try:
        wait_for("ready: all up")
        state = ROOT / ".local-stack"
        cli_env = {**env, "AWS_ACCESS_KEY_ID": (state / "aws_access_key_id").read_text(),
                   "AWS_SECRET_ACCESS_KEY": (state / "aws_secret_access_key").read_text(),
                   "AWS_DEFAULT_REGION": "eu-west-1"}
        first_event: list[float] = []
        for i in range(messages):
            mid = f"measure-{i}-{int(time.time())}"
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "tools.producer", "--queue-url", (state / "queue_url").read_text(),
                 "--endpoint-url", (state / "endpoint_url").read_text(), "sms", "--to", "447700900123",
                 "--from", "447700900001", "--text", "measure", "--delivery-report", "--message-id", mid],
                env=cli_env, check=True, capture_output=True,
            )
            first_event.append(wait_for(f"Message Submitted: {mid}") - started)
        wait_for(f"measure-{messages - 1}-", 30)
        sim = SimulatorControl(f"http://127.0.0.1:{ports[1]}")
        sim.settle(timeout=30)
        latencies = sim.notify_latencies_ms()
        stats = sim.stats()
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(timeout=30)
    p50 = _percentile(latencies, 0.5)
    slow_retries = stats.get("notification_timeouts", 0) + stats.get("notification_retries", 0)
    worst = max(first_event)
    figures = [
        Figure("make run: webhook p50 per notification", p50, "ms", "100 ms target", p50 / 100, "< 100 ms",
               p50 < 100),
        Figure("make run: first event after make send (median)", median(first_event), "s", "3 s target",
               median(first_event) / 3, "< 3 s", worst < 3),
        Figure("make run: first event after make send (worst)", worst, "s", "3 s target", worst / 3, "< 3 s",
               worst < 3),
        Figure("make run: notifications retried", slow_retries, "retries",
               f"of {stats.get('notification_attempts', 0)} attempts", None, "= 0", slow_retries == 0),
    ]
    return figures, {"webhook_p95_ms": _percentile(latencies, 0.95), "notifications": float(len(latencies)),
                     "notifications_failed": float(stats.get("notifications_failed", 0))}


if __name__ == "__main__":
    for figure in run()[0]:
        print(figure)
