# ruff: noqa: RUF001  (look-alike characters are the point of this corpus)
"""Text the parity tests run through both engines' analyzers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from catalog.convert import specifications_text
from catalog.generator import generate

WORDS = Path("/usr/share/dict/words")  # Debian's wamerican (.ci/apt/lucene.txt)

# collected by hand: what shoppers type and what product data holds
TRICKY: tuple[str, ...] = (
    "3.5mm", "3.5 mm jack", "2.4GHz router", "2.4 GHz", "5GHz", "usb_c", "USB-C", "USB C", "usb-c to usb_c",
    "v2.0", "V2", "version 2.0.1", "1,000 piece puzzle", "10,000mAh", "1,000,000", "1.000,50", "12,3", "2,3,4",
    "u.s.a. flag", "U.S.A", "U.S.", "e.g.", "a.b.c.d", "Ph.D.", "No. 5", "Dr. Martens", "St. Louis",
    "Men's", "men’s shoes", "Levi's 501", "O'Neill", "don't", "rock 'n' roll", "kids'", "'quoted'", "s", "S",
    "iPhone 15 Pro Max", "WH-1000XM5", "RTX4090", "i7-13700K", "A+", "C++", "C#", ".NET", "node.js", "x86_64",
    "4K UHD", "1080p", "Wi-Fi 6E", "802.11ax", "HDMI2.1", "27\"", "6'2\"", "1/2 inch", "½ inch", "3/4\"",
    "50%", "$19.99", "€20", "£5.50", "#1 best seller", "@home", "a&b", "R&B", "AT&T", "foo__bar", "_under_",
    "trailing.", ".leading", "a..b", "a._b", "snake_case_name", "ends_", "e-mail", "e‑mail",  # non-breaking hyphen
    "Café", "crème brûlée", "Ångström", "Øresund", "Łódź", "straße", "STRASSE", "Æther", "œuvre", "ﬁne ﬂow",
    "naïve façade", "Zürich", "São Paulo", "İstanbul", "ıi", "ǅemal", "ÆØÅ",
    "Привет мир", "ΣΟΦΙΑ σοφία", "ελληνικά", "שלום עולם", "مرحبا بالعالم", "हिन्दी भाषा", "தமிழ்", "ภาษาไทย",
    "日本語テキスト", "北京大学", "한국어 키보드", "中文,English", "ｆｕｌｌｗｉｄｔｈ ＳＯＮＹ", "１２３",
    "🎧 Headphones", "emoji👍test", "x\u200by", "soft\u00adhyphen", "tab\tseparated", "mixed\u00a0nbsp",
    "a" * 45, "b" * 81, "supercalifragilisticexpialidocious-extra-long-compound-word-here",
    "1234567890" * 5, "v" + ".1" * 45, "running runner runs ran", "batteries battery's", "knives knife",
    "sony w", "wireless m", "w", "hello world", "",
)


@lru_cache(maxsize=1)
def catalog_texts(n: int = 1500) -> tuple[str, ...]:
    out: list[str] = []
    for g in generate(n, seed=14):
        p = g.product
        out += [p.title, p.brand, p.category, p.description, *p.tags]
        if g.content is not None:
            out += [g.content.long_description, specifications_text(g.content.specifications)]
    return tuple(t for t in out if t)


@lru_cache(maxsize=1)
def dictionary_words() -> tuple[str, ...]:
    if not WORDS.exists():
        return ()
    return tuple(w for w in WORDS.read_text(encoding="utf-8").split("\n") if w)
