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

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec (3GPP TS 23.038's tables)

Encoding = Literal["GSM-7", "UCS-2"]
_LIMITS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class Estimate:
    """``parts`` an sms of this text takes, its ``encoding``, and the characters
    that forced UCS-2 (each once, in order of appearance; empty for GSM-7)."""

    parts: int
    encoding: Encoding
    ucs2_characters: tuple[str, ...] = ()


def _alphabet() -> dict[str, int]:
    """Each GSM 03.38 character and its cost in septets, read from the codec's own tables: one byte
    (the basic table) or the escape and one (the extension table)."""
    septets: dict[str, int] = {}
    for code in range(128):  # 0x1B alone is the escape, no character: it decodes to nothing
        if character := bytes([code]).decode("gsm03.38"):
            septets.setdefault(character, 1)
    for code in range(128):
        try:
            septets.setdefault(bytes([0x1B, code]).decode("gsm03.38"), 2)
        except UnicodeDecodeError:
            continue
    septets["\x1b"] = len("\x1b".encode("gsm03.38"))  # the escape itself, as the codec encodes it: one septet
    return septets


_SEPTETS = _alphabet()


def gsm_septets(character: str) -> int:
    """Septets a character costs in GSM 03.38: 1 (basic table), 2 (escape + extension table),
    0 when the alphabet has no such character (it forces UCS-2)."""
    return _SEPTETS.get(character, 0)


def estimate(text: str) -> Estimate:
    forcing = tuple(dict.fromkeys(c for c in text if not gsm_septets(c)))
    encoding: Encoding = "UCS-2" if forcing else "GSM-7"
    if encoding == "GSM-7":
        costs = [gsm_septets(c) for c in text]
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
