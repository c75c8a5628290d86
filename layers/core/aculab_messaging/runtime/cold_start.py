"""Cold-start help for the handlers: the cyclic collector stays off for the
whole init.

A function's init (importing boto3, botocore, pydantic and powertools,
building its models and clients) allocates hundreds of thousands of objects
that live as long as the container. Left alone, the collector runs many times
during init, full collections among them, scanning objects that can never be
garbage: measured on the bench, 40 to 50 ms of a 320 to 400 ms cold start.
Each handler module calls ``pause_collector()`` before its first import and
builds its service inside ``init_without_gc()``, which freezes what init made
(``gc.freeze`` moves it to a permanent generation, so no later collection on a
warm container scans it again) and turns the collector back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def pause_collector() -> None:
    """At the top of a handler module: no collection until the service is built."""
    gc.disable()


@contextmanager
def init_without_gc() -> Iterator[None]:
    """Run the body with the collector paused; freeze what exists after it, then collect as usual."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
