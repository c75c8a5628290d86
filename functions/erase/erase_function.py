"""Invoked by an operator: erase one phone number (``{"phone": "+447700900123"}``; to go on after a run
whose time ran out, also its ``erasureId`` and ``resume``). Answers the erasure's record: its id, the
number's keyed hash, the counts removed and kept, whether it is complete."""

from __future__ import annotations

from functools import cache
from typing import Any

from aculab_messaging.aculab.errors import AculabValidationError
from aculab_messaging.aculab.params import normalise_number
from aculab_messaging.logic.erasure import Eraser
from aculab_messaging.runtime.erase_wiring import build_eraser
from aculab_messaging.runtime.observability import observability

obs = observability()


@cache
def service() -> Eraser:
    return build_eraser()


@obs.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        # read as the send function read the producer's (DefaultRegion for a national number)
        number = normalise_number(str(event.get("phone") or ""), field_name="phone",
                                  region=service().default_region)
    except AculabValidationError as exc:
        return {"error": str(exc)}  # never the number itself
    resume = event.get("resume")
    try:
        result = service().erase(
            number, erasure_id=str(event["erasureId"]) if event.get("erasureId") else None,
            resume=resume if isinstance(resume, dict) else None,
            seconds_left=lambda: context.get_remaining_time_in_millis() / 1000.0)
    except ValueError as exc:  # one of our own sending numbers
        return {"error": str(exc)}
    return result.as_dict()
