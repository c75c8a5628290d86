"""A batch of 10 through the send path with the simulator answering after 100 ms,
against the wall time of one msg_send call: the ten calls must overlap.

AWS is ``bench.canned_aws`` here, answering at once: on moto every DynamoDB
request of the batch waits for the one before it (moto server runs them one at
a time, about 4 ms each, 40 of them a batch), which DynamoDB does not do, and
which would measure moto's throughput instead of how our calls overlap."""

from __future__ import annotations

import json
import os
import time
import uuid
from unittest import mock

from bench.common import SIM_CREDENTIALS, Figure, canned_aws_and_simulator, median

TARGET = 1.5


def run(latency_ms: float = 100.0, rounds: int = 5) -> tuple[list[Figure], dict[str, float]]:
    from aculab_messaging.aculab.client import AculabClient, AculabCredentials
    from aculab_messaging.aculab.params import SendParams
    from aculab_messaging.runtime.wiring import build_send_service
    from bench.cold_start import ENV
    from simulator.control import SimulatorControl

    with canned_aws_and_simulator() as endpoints, mock.patch.dict(os.environ, {**ENV, **endpoints}):
        SimulatorControl(endpoints["ACULAB_BASE_URL"]).configure(latency_ms=latency_ms, step_seconds=3600)
        client = AculabClient(endpoints["ACULAB_BASE_URL"], AculabCredentials(**SIM_CREDENTIALS))
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
            assert not any(o.retry for o in outcomes.values()), outcomes
    one, ten = median(single), median(walls)
    ratio = ten / one
    return ([Figure("send: batch of 10 wall time", ten * 1000, "ms", f"one call {one * 1000:.0f} ms", ratio,
                    f"<= {TARGET}x", ratio <= TARGET)],
            {"send_batch_seconds": ten})
