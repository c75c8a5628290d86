from __future__ import annotations

import pytest

from simulator.segmentation import is_gsm7, split_sms


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("é" * 160, 1),  # é is in the GSM basic set
        ("ж" * 70, 1),  # UCS-2
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("😀" * 35, 1),  # surrogate pairs: two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_split_sms_counts_parts_like_a_carrier(text: str, parts: int) -> None:
    pieces = split_sms(text)
    assert len(pieces) == parts
    assert "".join(pieces) == text


def test_split_sms_never_splits_an_extension_character() -> None:
    text = "a" * 152 + "€" + "b" * 10
    first, second = split_sms(text)
    assert first == "a" * 152
    assert second.startswith("€")


def test_is_gsm7() -> None:
    assert is_gsm7("Hello @ £5 {ok}")
    assert not is_gsm7("Привет")
