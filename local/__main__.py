"""``make run``: the whole application offline.

moto server (AWS) + the Aculab simulator + our six functions: an HTTP server
turning requests into API Gateway v2 events for the webhook and the status
lookup (its IAM routes authorised by moto's IAM), SQS pollers for the send and
media functions, EventBridge Scheduler's firing of due schedules, a timer on the
template's schedule for the reconciler, and a tail of every event published on
the bus. Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.template import ROOT

STATE_DIR = ROOT / ".local-stack"


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _say(line: str) -> None:
    print(line, flush=True)


def _describe(event: dict[str, Any]) -> str:
    """One line for the tail: what happened, then when (the detail's timestamp, UTC, to the millisecond)."""
    stamp = str(event.get("detail", {}).get("timestamp") or "")
    line = _what(event)
    return f"{line} at {stamp[11:23]}" if len(stamp) >= 23 else line


def _what(event: dict[str, Any]) -> str:
    from aculab_messaging.logic.redact import mask_number

    d = event.get("detail", {})
    kind = event.get("detail-type", "?")
    if kind == "Media Archived":
        files = ", ".join(f"{f['key']} ({f['size']} bytes)" for f in d.get("files", []))
        return f"{kind}: {d.get('messageId')} -> {files or 'nothing'}" + (
            f"; missing {len(d['missing'])}" if d.get("missing") else "")
    if kind == "Opt-Out Changed":
        return f"{kind}: from {d.get('from')} to {mask_number(str(d.get('to', '')))} blocked={d.get('blocked')}"
    bits = [f"{kind}: {d.get('messageId')}", *([f"status={d['status']}"] if d.get("status") else [])]
    if d.get("part") and (d["part"].get("count") or 1) > 1:
        bits.append(f"part {d['part'].get('position')}/{d['part'].get('count')}")
    if d.get("isFinal"):
        bits.append("final")
    if d.get("dueAt"):
        bits.append(f"due {d['dueAt']}")
    if d.get("reason"):
        bits.append(f"reason={d['reason']}")
    if kind == "Message Cancel Failed" and d.get("reason") == "unknown message":
        bits.append("(no message has this id: check the id make send printed)")
    return " ".join(bits)


STOP_SECONDS = 15.0


def env_overrides(items: list[str]) -> dict[str, str]:
    """``--env NAME=VALUE`` items as the functions' variables (a value may hold '=' and commas)."""
    bad = [item for item in items if "=" not in item or not item.split("=", 1)[0].isidentifier()]
    if bad:
        raise SystemExit(f"make run: ENV items are NAME=VALUE, not {', '.join(bad)}")
    return dict(item.split("=", 1) for item in items)


def aculab_endpoint(url: str | None, simulator: Any, config: Any,
                    environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The Aculab URL the functions call and the credentials their secret holds:
    ``url`` (``--aculab-url``) with ACULAB_CLOUD_ID / ACULAB_USERNAME /
    ACULAB_API_KEY from the environment (never the command line, which ``ps``
    shows), each defaulting to the simulator's; else the simulator started."""
    defaults = {"cloud_id": config.cloud_id, "username": config.username, "api_key": config.api_key}
    if simulator is not None:
        return str(simulator.base_url), defaults
    credentials = {key: environ.get(f"ACULAB_{key.upper()}") or value for key, value in defaults.items()}
    return str(url).rstrip("/"), credentials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--aws-port", type=int, default=4566)
    parser.add_argument("--simulator-port", type=int, default=8090)
    parser.add_argument("--webhook-port", type=int, default=3000)
    parser.add_argument("--lambda-port", type=int, default=0,
                        help="Lambda's Invoke API (make erase reads it from .local-stack/; 0: any free port)")
    parser.add_argument("--reconcile-seconds", type=float, default=None,
                        help="run the reconciler this often (default: the template's schedule)")
    parser.add_argument("--verbose", action="store_true", help="show the functions' INFO logs")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a function environment variable instead of its template parameter's default "
                             "(e.g. ALLOWED_COUNTRIES=GB,IE; repeat for several)")
    parser.add_argument("--step-seconds", type=float, default=1.0,
                        help="simulated carrier: seconds between queued/submitted/sent/delivered")
    parser.add_argument("--aculab-url", default=None,
                        help="call this Aculab endpoint (as the AculabBaseUrl parameter does when deployed) "
                             "instead of starting the simulator; credentials from the environment: "
                             "ACULAB_CLOUD_ID, ACULAB_USERNAME, ACULAB_API_KEY")
    args = parser.parse_args(argv)

    wanted = {"AWS (moto server)": args.aws_port, "Aculab simulator": 0 if args.aculab_url else args.simulator_port,
              "webhook (API Gateway)": args.webhook_port, "Lambda Invoke API": args.lambda_port}
    taken = [f"{name} port {port}" for name, port in wanted.items() if port and not _port_free(args.host, port)]
    if taken:
        print(f"cannot start: {', '.join(taken)} already in use (another `make run`?). "
              "Stop it or choose ports: python -m local --aws-port N --simulator-port N --webhook-port N "
              "--lambda-port N",
              file=sys.stderr)
        return 1

    import logging
    import warnings

    from local.moto_server import StrictMotoServer

    # metrics are off locally (POWERTOOLS_METRICS_DISABLED), so powertools finds none to flush: not news
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from local.app import LocalApp, parse_rate
    from local.stop_signal import wait_for_stop_signal
    from simulator import SimConfig, serve, stop
    from simulator.control import SimulatorControl

    moto = StrictMotoServer(ip_address=args.host, port=args.aws_port, verbose=False)
    moto.start()
    aws_url = f"http://{args.host}:{args.aws_port}"
    _say(f"ready: AWS (moto server)        {aws_url}")

    config = SimConfig(step_seconds=args.step_seconds)
    simulator = None if args.aculab_url else serve(args.host, args.simulator_port, config)
    aculab_url, credentials = aculab_endpoint(args.aculab_url, simulator, config, os.environ)
    if simulator is not None:
        _say(f"ready: Aculab simulator         {aculab_url}  (controls under /_sim/)")
    else:
        _say(f"ready: Aculab endpoint          {aculab_url}  (no simulator: the functions call it; its "
             "Inbound Service's Notification Page is for you to set)")

    overrides = env_overrides(args.env)
    app = LocalApp(aws_url, aculab_url, credentials,
                   env_overrides={**({} if args.verbose else {"POWERTOOLS_LOG_LEVEL": "WARNING"}), **overrides})
    app.start_gateway(args.host, args.webhook_port)
    app.apply_environment()
    if simulator is not None:
        SimulatorControl(simulator.base_url).configure(inbound_notify_url=app.inbound_url)
    _say(f"ready: resources from template.yaml: table {app.stack.refs['MessagesTable']}, "
         f"bus {app.stack.refs['MessagingBus']}, queue {app.stack.refs['SendQueue']}")
    _say(f"ready: webhook function          {app.webhook_url}  (status updates, basic auth)")
    _say(f"ready: webhook function          {app.inbound_url}  (inbound Notification Page, with its token)")
    _say(f"ready: messages function         {app.messages_url}/<message_id>  (SigV4: make status ID=...),"
         f" .../campaigns/<campaign_id> (make status CAMPAIGN=...)")
    lambda_api = app.start_lambda_api(args.host, args.lambda_port)
    _say(f"ready: erase function           {lambda_api.base_url} (Lambda Invoke API, {app.function_name('erase')}: "
         "make erase PHONE=...)")

    poller = app.send_poller()  # retries come back after the send function's own backoff
    poller.start()
    _say(f"ready: send function            polling {app.stack.refs['SendQueue'].rsplit('/', 1)[-1]}")
    app.media_poller().start()
    _say(f"ready: media function           polling {app.stack.refs['MediaQueue'].rsplit('/', 1)[-1]}  "
         f"(received MMS media -> s3://{app.stack.refs['MediaBucket']})")
    app.scheduler_runner().start(on_error=lambda exc: _say(f"scheduler error: {type(exc).__name__}: {exc}"))
    _say(f"ready: EventBridge Scheduler     firing due schedules of {app.stack.refs['SendSchedules']} every 1s")

    every = args.reconcile_seconds or parse_rate(app.schedule_expression())

    def on_reconcile(report: Any) -> None:
        _say(f"reconcile: {json.dumps(report)}")

    app.start_timer(every, on_reconcile)
    _say(f"ready: reconcile function       every {every:g}s ({app.schedule_expression()} in the template)")

    STATE_DIR.mkdir(exist_ok=True)
    (STATE_DIR / "queue_url").write_text(app.stack.refs["SendQueue"])
    (STATE_DIR / "endpoint_url").write_text(aws_url)
    if simulator is not None:  # make inbound drives the simulator's phone
        (STATE_DIR / "simulator_url").write_text(simulator.base_url)
    (STATE_DIR / "webhook_secret_arn").write_text(app.stack.refs["WebhookCredentialsSecret"])
    (STATE_DIR / "messages_url").write_text(app.messages_url)
    (STATE_DIR / "webhook_url").write_text(app.webhook_url)  # make smoke --local, as from a stack's outputs
    (STATE_DIR / "event_bus_name").write_text(app.stack.refs["MessagingBus"])
    (STATE_DIR / "lambda_url").write_text(lambda_api.base_url)  # make erase
    (STATE_DIR / "erase_function").write_text(app.function_name("erase"))
    # moto enforces IAM: `make send` calls as the harness's admin user
    for key, value in app.stack.admin_credentials.items():
        (STATE_DIR / key).write_text(value)

    tail = app.event_tail("local-event-tail")
    done = threading.Event()

    def follow() -> None:
        while not done.is_set():
            try:
                for event in tail.drain(wait_seconds=1):
                    _say(f"event: {_describe(event)}")
            except Exception as exc:  # noqa: BLE001 - keep tailing
                _say(f"event tail error: {type(exc).__name__}")
                time.sleep(1)

    threading.Thread(target=follow, name="event-tail", daemon=True).start()
    _say("ready: event tail on the bus (rule -> queue)")
    _say("ready: all up. Try: make send TO=447700900123 TEXT='hello'   then   "
         "make inbound PHONE=447700900123 TEXT=STOP   (Ctrl-C to stop)")

    wait_for_stop_signal()
    done.set()
    _say("stopping ...")
    # a worker still inside an invocation (a long poll, an SDK retry) must not hold Ctrl-C up for long
    def force_stop() -> None:
        _say(f"stopped after {STOP_SECONDS:g}s (forced)")
        sys.stdout.flush()
        os._exit(0)

    watchdog = threading.Timer(STOP_SECONDS, force_stop)
    watchdog.daemon = True
    watchdog.start()
    app.stop()
    if simulator is not None:
        stop(simulator)
    moto.stop()
    for name in ("queue_url", "endpoint_url", "simulator_url", "webhook_secret_arn", "messages_url", "webhook_url",
                 "event_bus_name", "lambda_url", "erase_function", *app.stack.admin_credentials):
        (Path(STATE_DIR) / name).unlink(missing_ok=True)
    _say("stopped")
    return 0


if __name__ == "__main__":
    # Ctrl-C raises KeyboardInterrupt from the first moment, even when this process was started with
    # SIGINT ignored (a parent that ignores it, such as a test runner's worker or a shell's background
    # job, passes that on, and Python then installs no handler of its own)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C while it was starting: what started must not keep its ports
        _say("stopped while starting")
        code = 130
    sys.stdout.flush()
    # every server is stopped; an invocation's worker thread still waiting on a stopped server's
    # timeout (up to the SDK's retries) must not hold Ctrl-C up: the process ends here
    os._exit(code)
