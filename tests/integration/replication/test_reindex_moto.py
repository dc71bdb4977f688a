"""Reindex, catch-up and rollback against moto and a real embedded index."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog.engine import Tombstone, UpsertContent, UpsertItem
from catalog.generator import generate
from replication.reindex import Reindexer, ReindexError, reindex, rollback
from tests.integration.replication.replication_harness import index_everything, write_products

N = 150
R = "eu-west-1"


@pytest.fixture
def loaded(cfg, clients, target):
    gen = list(generate(N, seed=3))
    products, contents = [g.product for g in gen], [g.content for g in gen]
    write_products(cfg, clients, R, products, contents)
    index_everything(target, R, products[:100], contents[:100])  # the old index is incomplete
    return products, contents


def test_reindex_builds_verifies_swaps_and_keeps_previous(target, loaded):
    eng = target.engine(R)
    old = eng.alias_target()
    report = reindex(target, R, settle_seconds=0)
    assert report.ok, report.render()
    assert report.previous_index == old and eng.alias_target() == report.new_index != old
    assert report.items_scanned == N and report.contents_applied == N
    assert report.new_count == report.expected_count == N == eng.count()
    assert old in eng.indices() and eng.count(index=old) == 100
    product, content = eng.get("p000120")
    assert content is not None and content.version == product.version


def test_catch_up_applies_what_changed_during_the_build(cfg, clients, target, loaded):
    products, contents = loaded
    eng = target.engine(R)
    old = eng.alias_target()
    new = eng.create_index()
    r = Reindexer(target, R, settle_seconds=0)
    # the build saw products[0..9]; then, through the alias (the indexer), one update and one delete happened
    eng.apply([UpsertItem(p) for p in products[:10]] + [UpsertContent(c) for c in contents[:10]], index=new)
    updated = dataclasses.replace(products[1], version=products[1].version + 1, title="Updated during build")
    write_products(cfg, clients, R, [updated])
    clients("dynamodb", R).delete_item(TableName=cfg.table_name, Key={"id": {"S": products[2].id}})
    eng.apply([UpsertItem(updated), Tombstone(products[2].id, products[2].version)])
    with ThreadPoolExecutor(4) as pool:
        c = r.catch_up(old, new, pool)
    states = eng.states([products[1].id, products[2].id, products[50].id], index=new)
    assert states[products[1].id].item_version == updated.version
    assert states[products[2].id].deleted and not states[products[2].id].visible
    assert states[products[50].id].visible  # in the old index only: caught up from the table
    # the old index holds 100 docs: 10..99 are not in the new one, p1 and p2 changed after the build saw them
    assert c.changed == 90 + 2
    assert c.visible_delta == 90 - 1  # 90 more visible, p2 no longer visible


def test_rollback_swaps_back_and_catches_up(cfg, clients, target, loaded):
    products, _ = loaded
    eng = target.engine(R)
    old = eng.alias_target()
    first = reindex(target, R, settle_seconds=0)
    # a write after the swap goes to the new index only
    later = dataclasses.replace(products[7], version=products[7].version + 1, title="After swap")
    write_products(cfg, clients, R, [later])
    eng.apply([UpsertItem(later)])
    back = rollback(target, R, settle_seconds=0)
    assert back.ok and eng.alias_target() == old and back.previous_index == first.new_index
    assert eng.get(products[7].id)[0].title == "After swap"  # not lost by rolling back
    assert first.new_index in eng.indices()


def test_rollback_without_previous_index_is_an_error(target, loaded):
    with pytest.raises(ReindexError, match="no previous index"):
        rollback(target, R)


def test_count_mismatch_leaves_alias_alone(cfg, clients, target, loaded, monkeypatch):
    eng = target.engine(R)
    old = eng.alias_target()
    monkeypatch.setattr(type(eng), "count", lambda self, *, index=None: 7)
    report = reindex(target, R, settle_seconds=0)
    assert not report.ok and not report.swapped
    assert "expected" in report.errors[0]
    assert eng.alias_target() == old


def test_unreadable_previous_index_is_replaced_without_catch_up(target, loaded, monkeypatch):
    from catalog.engine import EngineUnavailable

    eng = target.engine(R)
    old = eng.alias_target()
    real_count, real_iter = type(eng).count, type(eng).iter_states

    def count(self, *, index=None):
        if index == old:
            raise EngineUnavailable(f"index {old!r} was built with another index schema")
        return real_count(self, index=index)

    def iter_states(self, *, index=None, batch_size=1000):
        assert index != old, "no catch-up may read the unreadable index"
        return real_iter(self, index=index, batch_size=batch_size)

    monkeypatch.setattr(type(eng), "count", count)
    monkeypatch.setattr(type(eng), "iter_states", iter_states)
    report = reindex(target, R, settle_seconds=0)
    assert report.ok and report.swapped and eng.alias_target() == report.new_index
    assert report.catch_up == [] and report.new_count == N
    assert "audit --region eu-west-1 --repair" in report.warnings[0] and "warning:" in report.render()
