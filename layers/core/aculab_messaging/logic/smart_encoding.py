"""Smart encoding: Unicode look-alikes that force UCS-2 replaced by their GSM 03.38 equivalents.

A text typed in a word processor or on a phone often carries curly quotes, long dashes, an ellipsis
or a no-break space: one such character makes the whole sms UCS-2 (67 characters a part instead of
153), so a 150-character text becomes three parts instead of one. The table below is the set Twilio
documents for its Smart Encoding (and Plivo for its own), each look-alike with the GSM-7 text that
stands for it. The text is changed only when that makes the whole of it GSM-7: a text that stays
UCS-2 anyway (an emoji, a Greek word) is sent exactly as written. A decomposed letter (e and a
combining accent) is composed first (NFC): é is in GSM 03.38, the combining accent is not.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic.segmentation import Estimate, estimate

# look-alike -> what GSM 03.38 carries instead (data: tests/unit/test_smart_encoding.py checks each entry)
REPLACEMENTS: dict[str, str] = {
    "\u00ab": '"',  # « left-pointing double angle quotation mark
    "\u00bb": '"',  # » right-pointing double angle quotation mark
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u201f": '"',  # ‟ double high-reversed-9 quotation mark
    "\u2033": '"',  # ″ double prime
    "\u02ba": '"',  # ʺ modifier letter double prime
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (and the typographic apostrophe)
    "\u201a": "'",  # ‚ single low-9 quotation mark
    "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
    "\u2039": "'",  # ‹ single left-pointing angle quotation mark
    "\u203a": "'",  # › single right-pointing angle quotation mark
    "\u2032": "'",  # ′ prime
    "\u00b4": "'",  # ´ acute accent
    "\u02b9": "'",  # ʹ modifier letter prime
    "\u02bb": "'",  # ʻ modifier letter turned comma
    "\u02bc": "'",  # ʼ modifier letter apostrophe
    "\u02c8": "'",  # ˈ modifier letter vertical line
    "\u0060": "'",  # ` grave accent (not in GSM 03.38)
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
    "\u2212": "-",  # − minus sign
    "\u00ad": "",  # soft hyphen: invisible
    "\u2026": "...",  # … horizontal ellipsis
    "\u2022": "-",  # • bullet
    "\u2043": "-",  # ⁃ hyphen bullet
    "\u00a0": " ",  # no-break space
    "\u2000": " ",  # en quad
    "\u2001": " ",  # em quad
    "\u2002": " ",  # en space
    "\u2003": " ",  # em space
    "\u2004": " ",  # three-per-em space
    "\u2005": " ",  # four-per-em space
    "\u2006": " ",  # six-per-em space
    "\u2007": " ",  # figure space
    "\u2008": " ",  # punctuation space
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
    "\u200b": "",  # zero width space
    "\u200c": "",  # zero width non-joiner
    "\u200d": "",  # zero width joiner
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero width no-break space (byte order mark)
    "\u2028": "\n",  # line separator
    "\u2029": "\n",  # paragraph separator
    "\u02c6": "^",  # ˆ modifier letter circumflex accent
    "\u02dc": "~",  # ˜ small tilde
    "\u2044": "/",  # ⁄ fraction slash
    "\u2215": "/",  # ∕ division slash
    "\u00d7": "x",  # × multiplication sign
    "\u00f7": "/",  # ÷ division sign
}
_TABLE = str.maketrans(REPLACEMENTS)


@dataclass(frozen=True)
class SmartEncoded:
    """The text to send, and, when look-alikes were replaced, which ones and what the text as
    written would have cost (``before``)."""

    text: str
    replaced: tuple[str, ...] = ()
    before: Estimate | None = None


def smart_encode(text: str) -> SmartEncoded:
    """``text`` with its look-alikes replaced when that makes all of it GSM-7 in no more parts (an
    ellipsis is three septets: a text of many would grow) and leaves some text; else as written."""
    before = estimate(text)
    if before.encoding == "GSM-7":
        return SmartEncoded(text)
    # a decomposed letter (e + combining acute, as macOS and some keyboards write it) composed first: é is GSM-7
    composed = unicodedata.normalize("NFC", text)
    if any(c not in REPLACEMENTS for c in estimate(composed).ucs2_characters):
        return SmartEncoded(text)  # some character has no GSM-7 stand-in: UCS-2 anyway, the text stays
    encoded = composed.translate(_TABLE)
    kept = set(encoded)
    replaced = tuple(c for c in before.ucs2_characters if c in REPLACEMENTS or c not in kept)
    if not encoded.strip() or estimate(encoded).parts > before.parts:
        return SmartEncoded(text)
    return SmartEncoded(encoded, replaced, before)


def for_request(req: SendRequest, by_default: bool) -> SmartEncoded | None:
    """The request's text smart-encoded when it goes so (its own smart_encoding, else ``by_default``;
    sms only), else None: the text goes as written."""
    return smart_encode(req.content or "") if req.sends_smart_encoded(by_default) else None
