"""Cold init of each function in a fresh process (import the handler module and
create every client it uses) against ``import boto3; boto3.client("dynamodb")``.

The functions run from what is deployed: the layer built by layers/core/Makefile
(bytecode compiled, as on Lambda where /opt is read-only) and each handler
compiled the same way; boto3/botocore come from this interpreter, as Lambda's
runtime provides them. Rounds are interleaved (baseline, webhook, send,
reconcile, baseline, ...) so a machine that speeds up or slows down during the
run moves every figure alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, Figure, build_layer, median

FUNCTIONS = {"webhook": "webhook_function", "send": "send_function", "reconcile": "reconcile_function"}
ENV = {
    "TABLE_NAME": "bench-table", "EVENT_BUS_NAME": "bench-bus", "WEBHOOK_SECRET_ARN": "arn:a",
    "INBOUND_TOKEN_SECRET_ARN": "arn:b", "ACULAB_BASE_URL": "http://127.0.0.1:9", "ACULAB_SECRET_ARN": "arn:c",
    "WEBHOOK_URL": "http://127.0.0.1:9/aculab/notify", "AWS_DEFAULT_REGION": "eu-west-1",
    "SEND_QUEUE_URL": "http://127.0.0.1:9/1/q", "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1:9/1/dlq",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_METRICS_DISABLED": "true",
    "PYTHONDONTWRITEBYTECODE": "1",  # /opt and /var/task are read-only on Lambda
}
TARGET = 1.25


def _sample(code: str, path: list[Path]) -> float:
    env = {**os.environ, **ENV, "PYTHONPATH": os.pathsep.join(str(p) for p in path)}
    wrapped = f"import time\nt=time.perf_counter()\n{code}\nprint(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", wrapped], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def run(runs: int = 11) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        layer = build_layer(work / "layer")
        task: dict[str, Path] = {}
        for name in FUNCTIONS:
            task[name] = work / "task" / name
            shutil.copytree(ROOT / "functions" / name, task[name], ignore=shutil.ignore_patterns("__pycache__"))
            subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                            str(task[name])], check=True)
        samples: dict[str, list[float]] = {"baseline": [], **{name: [] for name in FUNCTIONS}}
        for _ in range(runs):
            samples["baseline"].append(_sample("import boto3; boto3.client('dynamodb')", []))
            for name, module in FUNCTIONS.items():
                # service() builds the store, publisher, secret cache (and Aculab client): every
                # client the function uses is created here, as on its first request
                samples[name].append(_sample(f"import {module} as m\nm.service()", [task[name], layer]))
    baseline = median(samples["baseline"])
    figures = []
    for name in FUNCTIONS:
        seconds = median(samples[name])
        ratio = seconds / baseline
        figures.append(Figure(f"cold init: {name}", seconds * 1000, "ms", f"{baseline * 1000:.0f} ms", ratio,
                              f"<= {TARGET}x", ratio <= TARGET))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:.0f} ms = {figure.ratio:.2f}x of {figure.baseline}")
