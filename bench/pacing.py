"""The shared pace at the simulator: 100 messages at MaxSendsPerSecond 10 from
three send containers polling the queue at once, each in an OS process of its
own as on Lambda (local/container_process.py: the function's environment and
role credentials from LocalApp, its event source mapping's BatchSize), so one
container's CPU work does not queue behind another's on one GIL; moto server
and the simulator each in their own process, as the other benches. The simulator
records when each msg_send arrived; the figures are the busiest one-second
window against the limit, and the throughput (sends a second from the first
to the last) against the limit."""

from __future__ import annotations

import json

from bench.common import SIM_CREDENTIALS, Figure, servers

RATE = 10
MESSAGES = 100
CONTAINERS = 3


def peak_per_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(sum(1 for u in ordered[i:] if u < t + 1.0) for i, t in enumerate(ordered))


def run(messages: int = MESSAGES) -> tuple[list[Figure], dict[str, float]]:
    from local.app import LocalApp
    from local.container_process import container_spec, run_in_processes

    with servers() as (aws, sim):
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS, env_overrides={
            "MAX_SENDS_PER_SECOND": str(RATE), "POWERTOOLS_LOG_LEVEL": "ERROR"})
        try:
            app.apply_environment()
            sim.control.configure(step_seconds=3600)  # no status updates: the sends alone
            sqs = app.stack.client("sqs")
            for start in range(0, messages, 10):
                sqs.send_message_batch(QueueUrl=app.stack.refs["SendQueue"], Entries=[
                    {"Id": str(i), "MessageBody": json.dumps({"message_id": f"pace-{i}", "to": "447700900123",
                                                              "from": f"4477009000{i % 3 + 1:02d}",
                                                              "content": "bench"})}
                    for i in range(start, min(messages, start + 10))])
            spec = container_spec(app, "send", "SendQueue", wait_seconds=1)
            counts = run_in_processes([spec] * CONTAINERS, lambda: len(sim.control.send_arrivals()) >= messages)
            times = sorted(a["at"] for a in sim.control.send_arrivals())
        finally:
            app.stop()
    peak = peak_per_second(times)
    throughput = (len(times) - 1) / (times[-1] - times[0])
    figures = [
        Figure("pacing: busiest second / MaxSendsPerSecond", peak, "sends", f"limit {RATE}/s", peak / RATE,
               "<= 1.0x", peak <= RATE),
        Figure("pacing: throughput / MaxSendsPerSecond", throughput, "/s", f"limit {RATE}/s", throughput / RATE,
               ">= 0.9x", throughput >= 0.9 * RATE),
    ]
    print(f"pacing: {len(times)} sends from {CONTAINERS} containers in {times[-1] - times[0]:.2f} s, "
          f"busiest second {peak}, {throughput:.2f}/s (records a container: "
          f"{', '.join(str(c.records) for c in counts)}; errors {sum(c.errors for c in counts)})", flush=True)
    return figures, {"pacing_throughput": throughput}
