"""``python -m simulator [--host 127.0.0.1] [--port 8090] [--config '{"step_seconds": 1}']``"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

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
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
