"""Text normalisation shared by the API, both engines and the generator.

User text is Unicode-normalised (NFKC) and case-folded, control characters are dropped
and white space is collapsed. Search text is tokenised by :mod:`catalog.analysis` (the
one definition of a token for both engines) and placed into queries the code builds: it
never reaches a query-string parser.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, case-folded, control characters removed, white space collapsed and trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n ")
    return _SPACE.sub(" ", text.casefold()).strip()


def fold(text: str) -> str:
    """A filter key: normalised and stripped of accents ("Café" -> "cafe")."""
    decomposed = unicodedata.normalize("NFKD", normalize(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
