"""``make inbound``: a simulated phone sends a message to one of our numbers
through the running local stack's simulator."""

from __future__ import annotations

import argparse
import sys

from local.template import ROOT
from simulator.control import SimulatorControl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make inbound")
    parser.add_argument("--from", dest="from_", required=True, help="the mobile number sending")
    parser.add_argument("--to", required=True, help="our number receiving")
    parser.add_argument("--text", default="")
    parser.add_argument("--media", action="append", default=[])
    args = parser.parse_args(argv)
    state = ROOT / ".local-stack" / "simulator_url"
    if not state.exists():
        print("the local stack is not running: start it with `make run`", file=sys.stderr)
        return 1
    control = SimulatorControl(state.read_text().strip())
    ref = control.inbound(args.from_, args.to, args.text, "mms" if args.media else "sms", args.media)
    print(f"sent from the simulated phone: msg_ref {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
