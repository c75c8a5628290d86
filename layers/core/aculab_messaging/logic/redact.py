"""Phone numbers and message text are personal data: never log them in full."""

from __future__ import annotations


def mask_number(number: str | None) -> str:
    """``+447700900123`` -> ``+4477*****123`` (``447700900123`` -> ``4477*****123``):
    enough to correlate, not to dial."""
    if not number:
        return ""
    if number[:1] == "+" and number[1:].isdigit():
        return "+" + mask_number(number[1:])
    if not number.isdigit():
        return number[:3] + "***" if len(number) > 3 else "***"
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 7) + number[-3:]
