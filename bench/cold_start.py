"""Cold init of each function in a fresh process (import the handler module and
create every client it uses) against ``import boto3; boto3.client("dynamodb")``."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.common import ROOT, Figure, median

FUNCTIONS = {"webhook": "webhook_function", "send": "send_function", "reconcile": "reconcile_function"}
ENV = {
    "TABLE_NAME": "bench-table", "EVENT_BUS_NAME": "bench-bus", "WEBHOOK_SECRET_ARN": "arn:a",
    "INBOUND_TOKEN_SECRET_ARN": "arn:b", "ACULAB_BASE_URL": "http://127.0.0.1:9", "ACULAB_SECRET_ARN": "arn:c",
    "WEBHOOK_URL": "http://127.0.0.1:9/aculab/notify", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def _time(code: str, runs: int) -> float:
    path = os.pathsep.join(str(ROOT / p) for p in ("layers/core", "functions/webhook", "functions/send",
                                                   "functions/reconcile"))
    env = {**os.environ, **ENV, "PYTHONPATH": path}
    wrapped = f"import time\nt=time.perf_counter()\n{code}\nprint(time.perf_counter()-t)"
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", wrapped], env=env, capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip()))
    return median(samples)


def run(runs: int = 7) -> list[Figure]:
    baseline = _time("import boto3; boto3.client('dynamodb')", runs)
    figures = []
    for name, module in FUNCTIONS.items():
        # service() builds the store, publisher, secret cache (and Aculab client): every AWS client
        # the function uses is created here, as on its first request
        seconds = _time(f"import {module} as m\nm.service()", runs)
        ratio = seconds / baseline
        figures.append(Figure(f"cold init: {name}", seconds * 1000, "ms", f"{baseline * 1000:.0f} ms", ratio,
                              "<= 1.25x", ratio <= 1.25))
    return figures
