"""``make bench``: every figure with its target, a ratio against a baseline from
the same run, and whether it is met. ``--quick`` shrinks the reconcile table."""

from __future__ import annotations

import argparse
import os
import platform
import sys

from bench import (
    artifacts,
    cold_start,
    cost,
    fleet,
    local_stack,
    pacing,
    per_message,
    reconcile_cost,
    round_trips,
    send_concurrency,
)
from bench.common import Figure


def table(figures: list[Figure]) -> str:
    rows = [("figure", "measured", "baseline", "ratio", "target", "met")]
    for f in figures:
        value = f"{f.value:,.2f} {f.unit}" if f.value < 1000 else f"{f.value:,.0f} {f.unit}"
        rows.append((f.name, value, f.baseline, f"{f.ratio:.2f}x" if f.ratio is not None else "-", f.target,
                     "-" if f.met is None else "yes" if f.met else "NO"))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--quick", action="store_true", help="10,000 final messages instead of 100,000")
    parser.add_argument("--skip-artifacts", action="store_true", help="no pip download (offline)")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", flush=True)
    figures: list[Figure] = []
    measured: dict[str, float] = {}
    figures += cold_start.run()
    print(table(figures), flush=True)
    for step in (round_trips.run, send_concurrency.run, per_message.run, pacing.run, fleet.run, local_stack.run):
        found, extra = step()
        figures += found
        measured.update({k: v for k, v in extra.items() if isinstance(v, int | float)})
    found, extra = reconcile_cost.run(final=10_000 if args.quick else 100_000)
    figures += found
    measured.update(extra)
    if not args.skip_artifacts:
        found, _ = artifacts.run()
        figures += found
    found, parts = cost.run(measured)
    figures += found
    print()
    print(table(figures))
    print(f"\ncost per million: send ${parts['send_usd_per_million']:.2f}, each status update "
          f"${parts['update_usd_per_million']:.2f}; floor of the product as specified "
          f"${parts['floor_usd_per_million']:.2f} (the send's least, and 3 x HTTP API request + Lambda request + "
          "DynamoDB write + event)")
    targets = [f for f in figures if f.met is not None]
    missed = [f.name for f in targets if not f.met]
    print(f"\n{len(targets) - len(missed)} of {len(targets)} targets met" + (f"; missed: {', '.join(missed)}"
                                                                          if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
