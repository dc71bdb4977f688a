"""Index and query analysis of both engines against the real Lucene analyzers.

The OpenSearch index body's analyzers (``catalog.schema.OPENSEARCH_ANALYSIS``, derived from
``catalog.analysis``) run in Lucene 8 (Debian's jars, under the JDK) over a large corpus:
the generated catalog, Debian's ``wamerican`` word list and tricky shopper strings. The
embedded engine's tantivy analyzers and both query builders must produce the same tokens.
The only differences allowed are the measured ones in ``stem_differences.txt``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.analysis import AUTOCOMPLETE, FOLDED, PREFIX, STEMMED, split
from catalog.engine.embedded import query as eq
from catalog.engine.embedded import schema as es
from tests.parity.corpus import TRICKY, catalog_texts, dictionary_words

# one worker runs the module: its Lucene reference (a JVM over the whole corpus) is computed once
pytestmark = pytest.mark.xdist_group("parity-analysis")

ALLOWED = frozenset(
    tuple(line.split("\t"))
    for line in (Path(__file__).parent / "stem_differences.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
)
TANTIVY = {STEMMED: es.STEMMED, FOLDED: es.FOLDED}


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    if not dictionary_words():
        pytest.skip("no English word list at /usr/share/dict/words (install wamerican; .ci/apt/lucene.txt)")
    texts = [*TRICKY, *catalog_texts(), *dictionary_words()]
    assert len(texts) > 100_000
    return texts


@pytest.fixture(scope="module")
def reference(lucene, corpus) -> dict[str, list[list[str]]]:
    return {name: lucene.analyze(name, corpus) for name in (STEMMED, FOLDED)}


def _unexplained(expected: list[str], got: list[str]) -> bool:
    if len(expected) != len(got):
        return True
    return any(a != b and (a, b) not in ALLOWED for a, b in zip(expected, got, strict=True))


def test_the_corpus_has_what_the_issue_names(reference, corpus):
    by_text = dict(zip(corpus, reference[FOLDED], strict=True))
    assert by_text["3.5mm"] == ["3.5mm"]
    assert by_text["2.4GHz router"] == ["2.4ghz", "router"]
    assert by_text["usb_c"] == ["usb_c"]
    assert by_text["v2.0"] == ["v2.0"]
    assert by_text["1,000 piece puzzle"] == ["1,000", "piece", "puzzle"]
    assert by_text["u.s.a. flag"] == ["u.s.a", "flag"]
    assert by_text["Men's"] == ["men"]
    assert by_text["crème brûlée"] == ["creme", "brulee"]
    assert by_text["b" * 81] == ["b" * 40, "b" * 40, "b"]


@pytest.mark.parametrize("analyzer", [STEMMED, FOLDED])
def test_tantivy_index_analyzers_equal_lucene(reference, corpus, analyzer):
    tantivy = es.analyzers()[TANTIVY[analyzer]]
    diffs = [(text, want, got) for text, want in zip(corpus, reference[analyzer], strict=True)
             if (got := tantivy.analyze(text)) != want]
    unexplained = [d for d in diffs if _unexplained(d[1], d[2])]
    assert not unexplained, f"{len(unexplained)} texts analysed differently, e.g. {unexplained[:5]}"
    # the allow-list is measured, not a wish: each entry still occurs
    seen = {(a, b) for _, want, got in diffs for a, b in zip(want, got, strict=True) if a != b}
    if analyzer == STEMMED:
        assert seen == ALLOWED
    assert len(diffs) < len(corpus) / 400


def test_opensearch_query_tokens_are_the_index_tokens(lucene, reference, corpus):
    """The OpenSearch builder sends each token of ``split`` to a ``match`` query: each must
    analyse to exactly one token, and together to the index analyzer's tokens of the text."""
    pieces = [split(text) for text in corpus]
    flat = [p for ps in pieces for p in ps]
    analysed = iter(lucene.analyze(FOLDED, flat))
    bad = []
    for text, ps, want in zip(corpus, pieces, reference[FOLDED], strict=True):
        got = [next(analysed) for _ in ps]
        if any(len(g) != 1 for g in got) or [g[0] for g in got] != want:
            bad.append((text, ps, got, want))
    assert not bad, f"{len(bad)} texts split differently, e.g. {bad[:5]}"


def test_embedded_query_terms_are_the_index_tokens(corpus):
    folded = es.analyzers()[es.FOLDED]
    stemmed = es.analyzers()[es.STEMMED]
    for text in corpus[:20_000]:
        terms = eq.analyse(text)
        assert list(terms.exact) == folded.analyze(text)[: eq.MAX_TERMS], text
        assert list(terms.stemmed) == stemmed.analyze(text)[: eq.MAX_TERMS], text


def test_prefix_ngrams_are_the_prefixes_the_embedded_engine_matches(lucene, corpus):
    """``title.prefix`` holds every prefix of 1..PREFIX.max_chars characters of each folded
    token: exactly what tantivy's prefix query on ``title__exact`` matches for such a prefix."""
    texts = [*TRICKY, *catalog_texts()[:3000]]
    folded = es.analyzers()[es.FOLDED]
    grams = lucene.analyze(AUTOCOMPLETE, texts)
    for text, got in zip(texts, grams, strict=True):
        want = [t[:i] for t in folded.analyze(text) for i in range(PREFIX.min_chars, min(len(t), PREFIX.max_chars) + 1)]
        if "\u0130" in text:  # the dotted capital I of stem_differences.txt
            continue
        assert got == want, text
