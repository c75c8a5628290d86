"""A batch of 10 through the send path with the simulator answering after 100 ms,
against the wall time of one msg_send call."""

from __future__ import annotations

import json
import time
import uuid

from bench.common import SIM_CREDENTIALS, Figure, median, servers


def run(latency_ms: float = 100.0, rounds: int = 5) -> tuple[list[Figure], dict[str, float]]:
    from aculab_messaging.aculab import AculabClient, AculabCredentials, SendParams
    from aculab_messaging.wiring import build_send_service
    from local.app import LocalApp

    with servers() as (aws, sim):
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS)
        app.start_gateway()
        app.apply_environment("send")
        control = sim.control
        control.configure(latency_ms=latency_ms, step_seconds=3600)
        client = AculabClient(sim.base_url, AculabCredentials(**SIM_CREDENTIALS))
        params = SendParams(to="447700900123", from_="447700900001", content="bench")
        client.msg_send(params)  # connect
        single = []
        for _ in range(rounds):
            started = time.perf_counter()
            client.msg_send(params)
            single.append(time.perf_counter() - started)
        service = build_send_service()

        def batch() -> list[dict[str, object]]:
            return [{"messageId": str(uuid.uuid4()), "attributes": {"ApproximateReceiveCount": "1"},
                     "body": json.dumps({"message_id": f"b-{uuid.uuid4().hex}", "to": "447700900123",
                                         "from": "447700900001", "content": "bench"})} for _ in range(10)]

        service.process_batch(batch())  # warm: secrets, pools
        walls = []
        for _ in range(rounds):
            started = time.perf_counter()
            outcomes = service.process_batch(batch())
            walls.append(time.perf_counter() - started)
            assert not any(o.retry for o in outcomes.values())
        app.stop()
    one, ten = median(single), median(walls)
    ratio = ten / one
    return ([Figure("send: batch of 10 wall time", ten * 1000, "ms", f"one call {one * 1000:.0f} ms", ratio,
                    "<= 1.5x", ratio <= 1.5)],
            {"send_batch_seconds": ten})
