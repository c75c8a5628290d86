"""Received MMS media -> the stack's bucket (Message Received events of type mms, via the media queue)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aculab_messaging.logic.media import MediaArchiver
from aculab_messaging.runtime.observability import observability
from aculab_messaging.runtime.wiring import build_media_archiver

obs = observability()


@cache
def service() -> MediaArchiver:
    return build_media_archiver()


@obs.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service().process_batch(event.get("Records", []))
