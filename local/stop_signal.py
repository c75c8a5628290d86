"""Wait for Ctrl-C or SIGTERM without a lock in the signal handler.

A handler that calls ``threading.Event.set()`` can deadlock: the signal may
land while the main thread holds that event's lock inside ``wait()`` (seen:
one `make run` stop in six hung). The handler here only appends to a list; the
main thread sleeps in short steps and looks."""

from __future__ import annotations

import signal
import time


def wait_for_stop_signal(poll_seconds: float = 0.2) -> int:
    """Block until SIGINT or SIGTERM; return which."""
    received: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _: received.append(number))
    while not received:
        time.sleep(poll_seconds)
    return received[0]
