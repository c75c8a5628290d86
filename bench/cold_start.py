"""Cold init of each function, in a fresh process: import the handler module,
build its service and handle its first record or request (so nothing hides
in a lazy import), against three baselines.

Target (issue #26 restated it): <= 1.10x of (a) its floor making its calls: a
process that imports the same third-party modules, creates the same AWS
clients and paginators from one boto3 Session (those the function loaded and
made, found by a first run), then makes the function's first calls bare: the
AWS calls and the Aculab requests its first request made (recorded by a first
run, replayed with botocore and requests). What lies above it is our code
alone, without the round trips no code of ours can avoid.

For information (no target):
(b) its floor alone: the same process without the calls (a floor the
    function cannot meet: its first request must make them);
(c) the bare boto3 baseline ``import boto3; boto3.client("dynamodb")`` (the
    floors of send and reconcile alone are above 1.6x of it).

The first request's AWS calls go to ``bench.canned_aws`` (every answer fixed
and valid, a loopback round trip each) and the send function's msg_send to the
simulator, each in its own process. The layer is built from the locked
versions for this machine's platform (bytecode compiled, as on Lambda where
/opt is read-only); boto3/botocore come from this interpreter, as Lambda's
runtime provides them. Every function gets the literal variables of the
template's Globals (PYDANTIC_DISABLE_PLUGINS among them). Rounds are
interleaved so a machine that speeds up or slows down during the run moves
every figure alike.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Figure, build_host_layer, canned_aws_and_simulator, median
from local.template import load_sam

FLOOR_TARGET = 1.10
CLIENT_CONFIG = ("Config(connect_timeout=2, read_timeout=5, retries={'mode': 'standard', 'max_attempts': 3}, "
                 "max_pool_connections=10)")
# each function's handler module
FUNCTIONS = {"webhook": "webhook_function", "send": "send_function", "reconcile": "reconcile_function"}
ENV = {
    "TABLE_NAME": "bench-table", "EVENT_BUS_NAME": "bench-bus", "WEBHOOK_SECRET_ARN": "arn:a",
    "INBOUND_TOKEN_SECRET_ARN": "arn:b", "ACULAB_SECRET_ARN": "arn:c", "AWS_DEFAULT_REGION": "eu-west-1",
    "WEBHOOK_URL": "http://127.0.0.1:9/aculab/notify",
    "SEND_QUEUE_URL": "http://127.0.0.1:9/1/q", "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1:9/1/dlq",
    # as the template configures send: schedules possible (their client made only when one is)
    "SEND_QUEUE_ARN": "arn:aws:sqs:eu-west-1:1:q", "DEAD_LETTER_QUEUE_ARN": "arn:aws:sqs:eu-west-1:1:dlq",
    "SCHEDULE_GROUP": "bench-sends", "SCHEDULER_ROLE_ARN": "arn:aws:iam::1:role/s",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_SERVICE_NAME": "bench",
    "SENDING_NUMBERS": "447700900001",  # reconcile syncs its blocked list: its first run calls Aculab
    "PYTHONDONTWRITEBYTECODE": "1",  # /opt and /var/task are read-only on Lambda
}
# the harness, run before the clock starts in every process alike: the Lambda context and the events
PRELUDE = '''
import json, time
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "r-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 30000
CONTEXT = Context()
EVENTS = json.loads(%r)
'''


def _events() -> dict[str, object]:
    import base64

    auth = base64.b64encode(b"sim@example.com:bench-password").decode()
    notification = {"msg_ref": "ref-1", "status": "delivered", "to": "447700900123", "from": "447700900001",
                    "direction": "send", "type": "sms"}
    request = {"version": "1", "action": "send", "message_id": "bench-1", "to": "+44 7700 900123",
               "from": "447700900001", "type": "sms", "content": "Your order has shipped",
               "request_delivery_report": True, "metadata": {"orderId": "42"}}
    return {
        "webhook": {"version": "2.0", "rawPath": "/aculab/notify", "rawQueryString": "mid=bench-1&dlr=1",
                    "headers": {"authorization": f"Basic {auth}", "content-type": "application/json"},
                    "requestContext": {"http": {"method": "POST", "path": "/aculab/notify"}},
                    "body": json.dumps(notification), "isBase64Encoded": False},
        "send": {"Records": [{"messageId": "sqs-1", "receiptHandle": "rh-1", "body": json.dumps(request),
                              "eventSource": "aws:sqs", "attributes": {
                                  "ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))}}]},
        "reconcile": {"source": "aws.scheduler"},
    }


HANDLE = {
    "webhook": "r = m.handler(EVENTS['webhook'], CONTEXT)\nassert r['statusCode'] == 200, r",
    "send": "r = m.handler(EVENTS['send'], CONTEXT)\nassert not r['batchItemFailures'], r",
    "reconcile": "r = m.handler(EVENTS['reconcile'], CONTEXT)\nassert not r.get('failed_batches'), r",
}
# the first (untimed) run of each function notes the clients and paginators it makes ...
NOTE_CLIENTS = '''
import botocore.client, botocore.session
CLIENTS, PAGINATORS = [], []
_create, _paginator = botocore.session.Session.create_client, botocore.client.BaseClient.get_paginator
def _noted_create(self, service_name, *args, **kwargs):
    CLIENTS.append(service_name)
    return _create(self, service_name, *args, **kwargs)
def _noted_paginator(self, operation):
    PAGINATORS.append((self.meta.service_model.service_name, operation))
    return _paginator(self, operation)
botocore.session.Session.create_client = _noted_create
botocore.client.BaseClient.get_paginator = _noted_paginator
'''
# ... the AWS calls and HTTP requests its first request makes (a run of its own: importing requests
# here would put it among the modules of a function that never loads it) ...
NOTE_CALLS = '''
import botocore.client, requests
CALLS, HTTP = [], []
_call, _request = botocore.client.BaseClient._make_api_call, requests.Session.request
def _noted_call(self, operation, params):
    CALLS.append((self.meta.service_model.service_name, operation, params))
    return _call(self, operation, params)
def _noted_request(self, method, url, **kwargs):
    HTTP.append((method, url, {k: v for k, v in kwargs.items() if k in ("data", "json", "params", "auth")}))
    return _request(self, method, url, **kwargs)
botocore.client.BaseClient._make_api_call = _noted_call
requests.Session.request = _noted_request
'''
CALLS_FOUND = '''
import sys
sys.stderr.write("CALLS " + json.dumps({"aws": CALLS, "http": HTTP}, default=str) + "\\n")
'''
# ... and the third-party modules it loaded
DISCOVER = '''
import sys, sysconfig
roots = tuple({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], %r})
ours = ("aculab_messaging", %r)
found = [name for name, mod in list(sys.modules.items())
         if (getattr(mod, "__file__", None) or "").startswith(roots) and not name.startswith(ours)]
sys.stderr.write("FOUND " + json.dumps({"modules": found, "clients": CLIENTS, "paginators": PAGINATORS}) + "\\n")
'''


def _code(name: str) -> str:
    module = FUNCTIONS[name]
    return f"import {module} as m\n{HANDLE[name]}"


def _floor(modules: list[str], services: list[str], paginators: list[list[str]]) -> str:
    return ("import importlib\nimport boto3\nfrom botocore.config import Config\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "session = boto3.Session()\n"
            f"clients = {{s: session.client(s, config={CLIENT_CONFIG}) for s in {services!r}}}\n"
            f"pages = [clients[s].get_paginator(op) for s, op in {paginators!r}]")


def _replay(calls: dict[str, list[list[object]]]) -> str:
    """The floor's tail that makes the recorded calls bare (an error answer counts as made)."""
    return ("from botocore.exceptions import ClientError\n"
            f"calls = json.loads({json.dumps(calls)!r})\n"
            "for service, operation, params in calls['aws']:\n"
            "    try:\n        clients[service]._make_api_call(operation, params)\n"
            "    except ClientError:\n        pass\n"
            "if calls['http']:\n    import requests\n    http = requests.Session()\n"
            "    for method, url, kwargs in calls['http']:\n"
            "        kwargs = {k: tuple(v) if k == 'auth' else v for k, v in kwargs.items()}\n"
            "        http.request(method, url, timeout=5, **kwargs)")


def _template_env() -> dict[str, str]:
    """The template's Globals variables that are plain values (not references)."""
    variables = load_sam()["Globals"]["Function"]["Environment"]["Variables"]
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def _run(code: str, path: list[Path], env: dict[str, str], after: str = "", before: str = "") -> tuple[float, str]:
    prelude = PRELUDE % json.dumps(_events()) + before
    wrapped = f"{prelude}\nt = time.perf_counter()\n{code}\nelapsed = time.perf_counter() - t\n{after}\nprint(elapsed)"
    full_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(str(p) for p in path)}
    out = subprocess.run([sys.executable, "-c", wrapped], env=full_env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"cold-start sample failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1]), out.stderr


def run(runs: int = 21) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp, canned_aws_and_simulator() as endpoints:
        work = Path(tmp)
        layer = build_host_layer(work / "layer")
        env = {**_template_env(), **ENV, **endpoints}
        task: dict[str, Path] = {}
        floors: dict[str, str] = {}
        replays: dict[str, str] = {}
        for name, module in FUNCTIONS.items():
            task[name] = work / "task" / name
            shutil.copytree(ROOT / "functions" / name, task[name], ignore=shutil.ignore_patterns("__pycache__"))
            subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                            str(task[name])], check=True)
            _, stderr = _run(_code(name), [task[name], layer], env, DISCOVER % (str(layer), module), NOTE_CLIENTS)
            found = json.loads(stderr.rsplit("FOUND ", 1)[1].splitlines()[0])
            floors[name] = _floor(found["modules"], found["clients"], found["paginators"])
            _, stderr = _run(_code(name), [task[name], layer], env, CALLS_FOUND, NOTE_CALLS)
            replays[name] = floors[name] + "\n" + _replay(json.loads(stderr.rsplit("CALLS ", 1)[1].splitlines()[0]))
        samples: dict[str, list[float]] = {"baseline": []}
        for _ in range(runs):
            samples["baseline"].append(_run("import boto3\nboto3.client('dynamodb')", [], env)[0])
            for name in FUNCTIONS:
                samples.setdefault(f"floor {name}", []).append(_run(floors[name], [layer], env)[0])
                samples.setdefault(f"calls {name}", []).append(_run(replays[name], [layer], env)[0])
                samples.setdefault(name, []).append(_run(_code(name), [task[name], layer], env)[0])
    baseline = median(samples["baseline"])
    figures = []
    for name in FUNCTIONS:
        seconds, floor = median(samples[name]), median(samples[f"calls {name}"])
        figures.append(Figure(f"cold init: {name} vs its floor making its calls", seconds * 1000, "ms",
                              f"{floor * 1000:,.0f} ms", seconds / floor, f"<= {FLOOR_TARGET}x",
                              seconds / floor <= FLOOR_TARGET))
    for name in FUNCTIONS:
        seconds, floor = median(samples[name]), median(samples[f"floor {name}"])
        figures.append(Figure(f"cold init: {name} vs its floor", seconds * 1000, "ms", f"{floor * 1000:,.0f} ms",
                              seconds / floor, "(information)", None))
    for name in FUNCTIONS:
        seconds = median(samples[name])
        figures.append(Figure(f"cold init: {name} vs bare boto3", seconds * 1000, "ms", f"{baseline * 1000:,.0f} ms",
                              seconds / baseline, "(information)", None))
    return figures


if __name__ == "__main__":
    print(f"Python {sys.version.split()[0]}")
    for figure in run(int(sys.argv[1]) if len(sys.argv) > 1 else 11):
        print(f"{figure.name}: {figure.value:.0f} ms = {figure.ratio:.2f}x of {figure.baseline}")
