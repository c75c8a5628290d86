"""How a carrier splits SMS content into parts.

GSM 03.38 7-bit: 160 septets in a single message, 153 per part of a
concatenated one; characters of the extension table take two septets and are
never split across parts. Anything outside the GSM alphabet forces UCS-2: 70
UTF-16 code units single, 67 per part (surrogate pairs are not split).
"""

from __future__ import annotations

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM_BASIC)
_EXTENSION = frozenset(GSM_EXTENSION)


def is_gsm7(text: str) -> bool:
    return all(c in _BASIC or c in _EXTENSION for c in text)


def _split(units: list[list[str]], single: int, per_part: int) -> list[str]:
    """``units`` are indivisible groups (a character with its cost in code units)."""
    total = sum(len(u) for u in units)
    if total <= single:
        return ["".join(u[0] for u in units)] if units else [""]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for unit in units:
        if used + len(unit) > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(unit[0])
        used += len(unit)
    if current:
        parts.append("".join(current))
    return parts


def split_sms(text: str) -> list[str]:
    """The parts a carrier would send for ``text``."""
    if is_gsm7(text):
        units = [[c, c] if c in _EXTENSION else [c] for c in text]
        return _split(units, 160, 153)
    units = [[c, c] if ord(c) > 0xFFFF else [c] for c in text]
    return _split(units, 70, 67)
