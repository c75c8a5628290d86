"""The layer's sms estimate against the simulator's own segmentation (two
implementations of GSM 03.38 / UCS-2 splitting, written apart): they agree on
the encoding and the number of parts for any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aculab_messaging.logic.segmentation import estimate
from simulator.segmentation import GSM_BASIC, GSM_EXTENSION, is_gsm7, split_sms

GSM_TEXT = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=700)
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)
MIXED = st.text(alphabet=st.sampled_from(list(GSM_BASIC + GSM_EXTENSION) + ["é", "ç", "😀", "Ω", "\u0131", "\u2014"]),
                max_size=400)


@settings(max_examples=400, deadline=None)
@given(st.one_of(GSM_TEXT, ANY_TEXT, MIXED))
def test_the_layer_and_the_simulator_split_alike(text: str) -> None:
    found = estimate(text)
    assert found.parts == len(split_sms(text))
    assert (found.encoding == "GSM-7") == is_gsm7(text)
    assert all(c not in GSM_BASIC + GSM_EXTENSION for c in found.ucs2_characters)


def test_the_edges_of_each_encoding() -> None:
    # given texts at each limit / then the parts are as GSM 03.38 counts them
    assert estimate("a" * 160).parts == 1 and estimate("a" * 161).parts == 2
    assert estimate("a" * 306).parts == 2 and estimate("a" * 307).parts == 3
    assert estimate("€" * 80).parts == 1 and estimate("€" * 81).parts == 2  # two septets each
    assert estimate("a" * 152 + "€" + "a" * 152).parts == 3  # 306 septets, but the € does not fit part one
    assert estimate("é" * 70).encoding == "GSM-7"  # é is in the GSM alphabet
    ucs2 = estimate("Café ☕ ok ☕")
    assert (ucs2.encoding, ucs2.parts, ucs2.ucs2_characters) == ("UCS-2", 1, ("☕",))
    assert estimate("😀" * 35).parts == 1 and estimate("😀" * 36).parts == 2  # surrogate pairs
