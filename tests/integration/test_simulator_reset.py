"""The simulator's reset ends what a test left in flight: a notification still being retried when the next
test resets the simulator is not sent again, and nothing it meets is counted in the next test's stats (a
test's late retry once reached the next test's webhook, whose table moto was resetting: 403s and 404s
counted as the next test's retries)."""

from __future__ import annotations

import threading

from simulator.core import SimConfig, SimulatorState
from tests.integration.conftest import Capture


def test_a_notification_in_flight_across_a_reset_is_not_retried_nor_counted(capture: Capture) -> None:
    # given a webhook that answers 503 (Aculab retries), each answer held until the test lets it go, and a
    # simulator that retries a refused notification three times, 0.2 s apart
    capture.answer, capture.hold = 503, threading.Event()
    state = SimulatorState(SimConfig(notify_retries=3, notify_retry_delay=0.2))
    try:
        state._dispatch(capture.url, "POST", None, {"msg_ref": "r-1", "status": "delivered"})
        assert capture.arrived.wait(10)
        # when the next test resets the simulator while the first attempt waits for its answer
        state.reset()
        capture.hold.set()
        assert state.wait_idle(10)
        # then the notification was not tried again, and the new stats know nothing of it
        assert len(capture.requests) == 1
        assert dict(state.stats) == {}
    finally:
        state.close()
