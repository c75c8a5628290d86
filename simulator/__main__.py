"""``python -m simulator [--host 127.0.0.1] [--port 8090] [--config '{"step_seconds": 1}']``"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

from simulator.core import SimConfig
from simulator.server import serve, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Aculab Cloud messaging simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--config", default="{}", help="JSON object of SimConfig fields")
    args = parser.parse_args(argv)
    config = SimConfig()
    try:
        config.update(json.loads(args.config))
    except ValueError as exc:
        parser.error(f"--config: {exc}")
    try:
        server = serve(args.host, args.port, config)
    except OSError as exc:
        print(f"simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"simulator: Aculab Cloud stand-in listening on {server.base_url}", flush=True)
    # the handler only records the signal: one that set a threading.Event could deadlock on the
    # lock the main thread holds inside Event.wait() (local/stop_signal.py)
    received: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _: received.append(number))
    while not received:
        time.sleep(0.2)
    stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
