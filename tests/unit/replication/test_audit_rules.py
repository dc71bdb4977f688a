"""The audit's classification rules and listing merge (pure functions)."""

from __future__ import annotations

from catalog.convert import item_from_product
from catalog.engine import DocState
from catalog.generator import generate
from replication.audit_rules import classify_content, classify_item
from replication.audit_rules import merge_listings as _merge_listings
from replication.audit_rules import young as _young
from replication.sources import ContentRead

G = next(iter(generate(1, seed=1)))
P, C = G.product, G.content
V = P.version


def state(item_version=V, deleted=False, visible=True, content_version=None, content=None):
    return DocState(P.id, item_version, content_version, deleted, visible, None, content)


def kind(item, st):
    verdict = classify_item(item, st)
    return verdict[0] if verdict else None


def test_item_rules():
    item = item_from_product(P)
    assert kind(item, state()) is None
    assert kind(item, None) == "missing"
    assert kind(item, state(item_version=None, visible=False, content_version=3)) == "missing"  # content-only doc
    assert kind(item, state(item_version=V - 1)) == "stale"
    assert kind(item, state(item_version=V + 1)) == "ahead"
    assert kind(item, state(item_version=V - 1, deleted=True, visible=False)) == "stale"
    assert kind(item, state(item_version=V, deleted=True, visible=False)) == "resurrected"  # equal: delete wins
    assert kind(None, state()) == "extra"
    assert kind(None, state(deleted=True, visible=False)) is None
    assert kind(None, None) is None
    assert kind({"id": P.id, "version": 3}, None) == "invalid"


def test_content_rules():
    assert classify_content(ContentRead(P.id, C), state(content_version=C.version, content=C)) is None
    assert classify_content(ContentRead(P.id, C), state())[0] == "content_missing"
    assert classify_content(ContentRead(P.id, C), state(content_version=C.version - 1, content=C))[0] == "content_stale"
    assert classify_content(ContentRead(P.id, None), state(content_version=C.version, content=C))[0] == "content_extra"
    assert classify_content(ContentRead(P.id, None), state(content_version=C.version, content=None)) is None  # cleared
    assert classify_content(ContentRead(P.id, None), None) is None
    assert classify_content(ContentRead(P.id, None, "bad json"), state())[0] == "content_invalid"


def test_young_reads_the_write_time_from_the_version():
    now_ms = 1_800_000_000_000
    assert _young(now_ms * 1000 - 500_000, 1.0, now_ms)  # written 0.5 s ago
    assert not _young(now_ms * 1000 - 5_000_000, 1.0, now_ms)  # 5 s ago
    assert not _young(None, 1.0, now_ms)


def test_merge_listings_in_key_order():
    # key order, not id order: "products/a-b.json" < "products/a.json" ('-' sorts before '.')
    a = iter([("a-b", "e1"), ("a", "e2"), ("c", "e3")])
    b = iter([("a", "e2"), ("b", "e9"), ("c", "x")])
    assert list(_merge_listings(a, b)) == [("a-b", "e1", None), ("a", "e2", "e2"), ("b", None, "e9"),
                                           ("c", "e3", "x")]
    assert list(_merge_listings(iter([]), iter([]))) == []
