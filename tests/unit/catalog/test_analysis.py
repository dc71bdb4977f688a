"""The one analysis definition (catalog.analysis); tests/parity checks it against Lucene."""

from __future__ import annotations

import re

import pytest

from catalog.analysis import (
    MAX_TOKEN_UNITS,
    TOTAL_EXACT_UP_TO,
    TYPO,
    distinct_titles,
    opensearch_analysis,
    split,
    token_pattern,
    total,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.5mm jack", ["3.5mm", "jack"]),
        ("2.4GHz router", ["2.4GHz", "router"]),
        ("usb_c USB-C", ["usb_c", "USB", "C"]),
        ("v2.0 firmware", ["v2.0", "firmware"]),
        ("1,000 piece, red,blue", ["1,000", "piece", "red", "blue"]),
        ("u.s.a. flag", ["u.s.a", "flag"]),
        ("Men's Shoes", ["Men", "Shoes"]),  # the possessive "s" is a stop word
        ("sony w", ["sony", "w"]),
        ("C++ 50%", ["C", "50"]),
        ("🎧 Headphones", ["Headphones"]),
        ("שלום עולם", ["שלום", "עולם"]),
        ("हिन्दी", ["हिन्दी"]),  # combining marks stay with their letter
        ("", []),
    ],
)
def test_split_keeps_units_model_numbers_and_abbreviations(text, expected):
    assert split(text) == expected


def test_a_long_run_is_cut_not_dropped():
    assert split("a" * 95) == ["a" * MAX_TOKEN_UNITS, "a" * MAX_TOKEN_UNITS, "a" * 15]


def test_the_three_renderings_are_one_pattern():
    java, rust = token_pattern("java"), token_pattern("rust")
    assert java == rust and r"\p{L}" in java and "(?<" not in java  # Rust's regex has no look-around
    assert re.compile(token_pattern("python"))
    assert opensearch_analysis()["tokenizer"]["product_tokens"] == {"type": "pattern", "pattern": java, "group": 0}


def test_typo_distance_by_folded_length():
    assert [TYPO.distance("x" * n) for n in (3, 4, 7, 8)] == [0, 1, 1, 2]
    assert TYPO.fuzziness == "AUTO:4,8"


def test_totals_are_at_least_above_the_exact_bound():
    assert total(5) == (5, "eq")
    assert total(TOTAL_EXACT_UP_TO) == (TOTAL_EXACT_UP_TO, "eq")
    assert total(TOTAL_EXACT_UP_TO + 1) == (TOTAL_EXACT_UP_TO, "gte")


def test_distinct_titles():
    titles = ["Mug", "mug", "", "Lamp", "MUG", "Desk"]
    assert distinct_titles(titles, str, 2, str.casefold) == ["Mug", "Lamp"]
