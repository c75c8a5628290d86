"""How many parts an sms takes, and in which encoding, before it is sent.

GSM 03.38 7-bit: 160 septets alone, 153 a part once concatenated (the user
data header takes the rest); a character of the extension table costs two
septets (escape + character) and never straddles two parts. Any character
outside the GSM alphabet forces UCS-2 for the whole message: 70 UTF-16 code
units alone, 67 a part; a character outside the Basic Multilingual Plane
(most emoji) is a surrogate pair, two units, never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 default alphabet (basic table; \x1b is the escape to the extension table)
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]
_LIMITS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class Estimate:
    """``parts`` an sms of this text takes, its ``encoding``, and the characters
    that forced UCS-2 (each once, in order of appearance; empty for GSM-7)."""

    parts: int
    encoding: Encoding
    ucs2_characters: tuple[str, ...] = ()


def estimate(text: str) -> Estimate:
    forcing = tuple(dict.fromkeys(c for c in text if c not in _GSM_BASIC and c not in _GSM_EXTENDED))
    encoding: Encoding = "UCS-2" if forcing else "GSM-7"
    if encoding == "GSM-7":
        costs = [2 if c in _GSM_EXTENDED else 1 for c in text]
    else:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return Estimate(_parts(costs, *_LIMITS[encoding]), encoding, forcing)


def _parts(costs: list[int], alone: int, per_part: int) -> int:
    """Parts for characters of these costs: one if all fit alone, else packed
    ``per_part`` at a time, a character never split across two."""
    if sum(costs) <= alone:
        return 1
    parts, room = 1, per_part
    for cost in costs:
        if cost > room:
            parts, room = parts + 1, per_part
        room -= cost
    return parts
