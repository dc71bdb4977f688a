"""The chunker's byte estimate is an upper bound of what the OpenSearch client sends.

Operations carry text built from the characters JSON must escape or widen (quotes,
backslashes, control characters, U+2028, non-ASCII and astral characters), long ids,
deep categories and extreme numbers; each chunk goes through the real opensearch-py
client (captured below its HTTP connection) to the longest index name OpenSearch
allows, and the bytes of the request body are compared with the estimate.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.engine.opensearch.writes import bulk_body
from catalog.engine.port import ClearContent, Tombstone, UpsertContent, UpsertItem
from catalog.model import Content, Product
from indexer.chunking import chunks, op_bytes
from tests.unit.engine_opensearch.os_cluster import captured_engine

LONGEST_INDEX = "p" * 255
ESCAPED = ['"', "\\", "\x00", "\x1f", "\n", "\t", "\x7f"]  # ASCII that JSON writes as 2 or 6 bytes
NASTY = st.sampled_from([*ESCAPED, "\u2028", "é", "日", "🎧", "a", " ", ">"])
TEXT = (st.text(alphabet=st.sampled_from([*ESCAPED, "a"]), min_size=300, max_size=2000)
        | st.text(alphabet=NASTY, max_size=2000) | st.text(max_size=200))
IDS = st.text(alphabet=NASTY, min_size=1, max_size=300)
VERSIONS = st.integers(min_value=0, max_value=10**38)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def operations(draw):
    pid = draw(IDS)
    kind = draw(st.sampled_from(("item", "tomb", "content", "clear")))
    version = draw(VERSIONS)
    if kind == "item":
        category = " > ".join(draw(st.lists(TEXT, min_size=1, max_size=12)))
        return UpsertItem(Product(
            id=pid, title=draw(TEXT), brand=draw(TEXT), category=category, price=draw(FLOATS),
            currency=draw(TEXT), in_stock=draw(st.booleans()), version=version, description=draw(TEXT),
            rating=draw(st.none() | FLOATS), review_count=draw(VERSIONS), tags=tuple(draw(st.lists(TEXT, max_size=6))),
            image_url=draw(st.none() | TEXT), created_at=draw(st.none() | TEXT), updated_at=draw(st.none() | TEXT)))
    if kind == "content":
        return UpsertContent(Content(id=pid, version=version, long_description=draw(TEXT),
                                     specifications=draw(st.dictionaries(TEXT, TEXT, max_size=6)),
                                     images=tuple(draw(st.lists(TEXT, max_size=4)))))
    return Tombstone(pid, version) if kind == "tomb" else ClearContent(pid, version)


def _encodable(op) -> bool:
    """Lone surrogates cannot be sent at all (not UTF-8): bulk_body refuses them."""
    try:
        bulk_body([op], "p")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(operations(), min_size=1, max_size=8), bound=st.integers(min_value=1, max_value=200_000))
def test_every_chunk_the_client_sends_is_within_the_estimate(ops, bound):
    ops = [op for op in ops if _encodable(op)]
    engine, cluster = captured_engine()
    for start, end in chunks(ops, 1000, bound):
        engine.apply(ops[start:end], index=LONGEST_INDEX)
        sent = cluster.sent[-1].body
        assert len(sent) <= sum(op_bytes(op) for op in ops[start:end])
        assert end - start == 1 or len(sent) <= bound


def test_the_estimate_counts_what_json_escapes():
    """Each of these was under-counted by the old estimate (ASCII counted 1 byte a character)."""
    for text in ('"' * 5000, "\\" * 5000, "\x01" * 5000):
        content = Content("p1", 1, long_description=text)
        product = Product(id=text, title="t", brand="b", category="c", price=1.0, currency="USD", in_stock=True,
                          version=1)
        for op in (UpsertContent(content), UpsertItem(product), Tombstone(text, 1)):
            assert len(bulk_body([op], LONGEST_INDEX)) <= op_bytes(op)
