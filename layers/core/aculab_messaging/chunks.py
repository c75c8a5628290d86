"""Splitting work into the batch sizes AWS and Aculab accept (PutEvents and
SendMessageBatch take 10 entries, msg_status a bounded list of refs)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Split ``items`` into lists of at most ``size``."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
