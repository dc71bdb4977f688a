"""Text normalisation shared by the API, both engines and the generator.

User text is Unicode-normalised (NFKC) and case-folded, control characters are dropped
and white space is collapsed. It is then *tokenised* by the engine adapters and placed
into queries the code builds: it never reaches a query-string parser.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# A word: letters/digits (any script), joined by apostrophes inside ("men's").
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['\u2019]s$")


def normalize(text: str) -> str:
    """NFKC, case-folded, control characters removed, white space collapsed and trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n ")
    return _SPACE.sub(" ", text.casefold()).strip()


def fold(text: str) -> str:
    """A filter key: normalised and stripped of accents ("Café" -> "cafe")."""
    decomposed = unicodedata.normalize("NFKD", normalize(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Folded word tokens, possessive "'s" removed: "Men's USB-C" -> ["men", "usb", "c"].

    Mirrors the index analyzers (standard tokenizer, possessive stemmer, lowercase,
    ASCII folding), so a query token matches what the index holds.
    """
    out = []
    for match in _WORD.finditer(fold(text)):
        token = _POSSESSIVE.sub("", match.group(0)).replace("'", "").replace("\u2019", "")
        if token:
            out.append(token)
    return out
