"""Contract: the write rules of the port (versions, replays, tombstones, content)."""

from __future__ import annotations

import pytest

from catalog.engine.port import (
    ClearContent,
    Outcome,
    Tombstone,
    UpsertContent,
    UpsertItem,
)
from tests.contract.builders import content, ids, product

A, S = Outcome.APPLIED, Outcome.STALE


def outcomes(results):
    return [r.outcome for r in results]


def test_new_operations_apply_and_become_visible(engine):
    results = engine.apply([UpsertItem(product("p1", title="Blue kettle")), UpsertItem(product("p2"))])
    assert outcomes(results) == [A, A]
    assert all(r.ok for r in results)
    assert engine.count() == 2
    assert ids(engine, text="kettle") == ["p1"]


def test_out_of_order_versions_keep_the_newest(engine):
    assert outcomes(engine.apply([UpsertItem(product("p1", 5, title="Newest kettle"))])) == [A]
    assert outcomes(engine.apply([UpsertItem(product("p1", 3, title="Older kettle"))])) == [S]
    got = engine.get("p1")
    assert got is not None and got[0].title == "Newest kettle" and got[0].version == 5
    assert engine.states(["p1"])["p1"].item_version == 5
    assert ids(engine, text="older") == []


def test_replays_are_stale_and_harmless(engine):
    op = UpsertItem(product("p1", 7, title="Replayed kettle"))
    assert outcomes(engine.apply([op])) == [A]
    assert outcomes(engine.apply([op, op])) == [S, S]
    assert engine.count() == 1
    assert engine.get("p1")[0].version == 7


def test_ops_in_one_batch_apply_in_order(engine):
    results = engine.apply([
        UpsertItem(product("p1", 1, title="First kettle")),
        UpsertItem(product("p1", 3, title="Third kettle")),
        UpsertItem(product("p1", 2, title="Second kettle")),
        Tombstone("p1", 2),
        UpsertContent(content("p1", 4, "copper finish")),
        ClearContent("p1", 4),
    ])
    assert outcomes(results) == [A, A, S, S, A, S]
    state = engine.states(["p1"])["p1"]
    assert (state.item_version, state.content_version, state.deleted, state.visible) == (3, 4, False, True)
    assert engine.get("p1")[0].title == "Third kettle"
    assert ids(engine, text="copper") == ["p1"]


def test_tombstone_hides_from_every_read(engine):
    engine.apply([UpsertItem(product("p1", 1, title="Doomed kettle")), UpsertItem(product("p2", 1))])
    assert outcomes(engine.apply([Tombstone("p1", 1)])) == [A]  # equal version: the delete wins
    assert engine.get("p1") is None
    assert engine.count() == 1
    assert ids(engine, text="doomed") == []
    assert ids(engine) == ["p2"]
    assert [s.text for s in engine.suggest("doomed")] == []
    state = engine.states(["p1"])["p1"]
    assert state.deleted and not state.visible and state.item_version == 1 and state.product is None
    assert state.tombstoned_at is not None


def test_stale_insert_after_remove_cannot_resurrect(engine):
    engine.apply([UpsertItem(product("p1", 4, title="Ghost kettle"))])
    engine.apply([Tombstone("p1", 5)])
    assert outcomes(engine.apply([UpsertItem(product("p1", 4, title="Ghost kettle"))])) == [S]
    assert outcomes(engine.apply([UpsertItem(product("p1", 5, title="Ghost kettle"))])) == [S]
    assert engine.get("p1") is None
    assert ids(engine, text="ghost") == []


def test_newer_insert_revives_a_tombstone(engine):
    engine.apply([Tombstone("p1", 5)])  # a delete may arrive before anything else
    assert engine.states(["p1"])["p1"].deleted
    assert outcomes(engine.apply([UpsertItem(product("p1", 2))])) == [S]
    assert outcomes(engine.apply([UpsertItem(product("p1", 6, title="Revived kettle"))])) == [A]
    state = engine.states(["p1"])["p1"]
    assert state.visible and not state.deleted and state.item_version == 6
    assert ids(engine, text="revived") == ["p1"]


def test_content_before_item_is_invisible_until_the_item_arrives(engine):
    assert outcomes(engine.apply([UpsertContent(content("p1", 9, "titanium burr set"))])) == [A]
    assert engine.count() == 0
    assert engine.get("p1") is None
    assert ids(engine, text="titanium") == []
    state = engine.states(["p1"])["p1"]
    assert (state.item_version, state.content_version, state.visible) == (None, 9, False)
    # the item's version is independent of the content's
    assert outcomes(engine.apply([UpsertItem(product("p1", 1, title="Grinder"))])) == [A]
    assert ids(engine, text="titanium") == ["p1"]
    got = engine.get("p1")
    assert got is not None and got[1] is not None and got[1].long_description == "titanium burr set"
    assert got[1].version == 9


def test_content_clear_is_ordered_by_version(engine):
    engine.apply([UpsertItem(product("p1", 1, title="Grinder")), UpsertContent(content("p1", 2, "ceramic burrs"))])
    assert outcomes(engine.apply([ClearContent("p1", 1)])) == [S]
    assert ids(engine, text="ceramic") == ["p1"]
    assert outcomes(engine.apply([ClearContent("p1", 3)])) == [A]
    assert ids(engine, text="ceramic") == []
    assert engine.get("p1")[1] is None
    assert outcomes(engine.apply([UpsertContent(content("p1", 2, "ceramic burrs"))])) == [S]  # late
    assert outcomes(engine.apply([UpsertContent(content("p1", 3, "ceramic burrs"))])) == [S]  # clear wins ties
    assert outcomes(engine.apply([UpsertContent(content("p1", 4, "steel burrs", Material="steel"))])) == [A]
    got = engine.get("p1")
    assert got[1].long_description == "steel burrs" and dict(got[1].specifications) == {"Material": "steel"}
    assert ids(engine, text="ceramic") == [] and ids(engine, text="steel") == ["p1"]


def test_content_survives_a_tombstone_and_revival(engine):
    engine.apply([UpsertItem(product("p1", 1)), UpsertContent(content("p1", 1, "walnut handle"))])
    engine.apply([Tombstone("p1", 1)])
    assert ids(engine, text="walnut") == []
    engine.apply([UpsertItem(product("p1", 2))])
    assert ids(engine, text="walnut") == ["p1"]


def test_states_reports_every_stored_document(engine):
    engine.apply([UpsertItem(product("p1", 3)), Tombstone("p2", 4), UpsertContent(content("p3", 5))])
    states = engine.states(["p1", "p2", "p3", "nope"])
    assert set(states) == {"p1", "p2", "p3"}
    assert states["p1"].visible and states["p1"].product.id == "p1" and states["p1"].item_version == 3
    assert states["p2"].deleted and not states["p2"].visible
    assert not states["p3"].visible and states["p3"].content.version == 5
    walked = list(engine.iter_states(batch_size=2))
    assert [s.id for s in walked] == ["p1", "p2", "p3"]


@pytest.mark.parametrize("older_than", [3600.0])
def test_purge_removes_only_old_tombstones(engine, older_than):
    import time

    engine.apply([UpsertItem(product("p1")), UpsertItem(product("p2")), UpsertContent(content("p3", 1))])
    engine.apply([Tombstone("p2", 1)])
    assert engine.purge_tombstones(older_than) == 0  # written just now: kept
    assert engine.states(["p2"])["p2"].deleted
    time.sleep(0.05)
    assert engine.purge_tombstones(0.01) == 1
    states = engine.states(["p1", "p2", "p3"])
    assert set(states) == {"p1", "p3"}  # visible and content-only documents stay
    assert engine.count() == 1


def test_purge_keeps_the_content_of_a_purged_tombstone(engine):
    import time

    engine.apply([UpsertItem(product("p1", 3)), UpsertContent(content("p1", 2, "linen strap"))])
    engine.apply([Tombstone("p1", 3)])
    time.sleep(0.05)
    assert engine.purge_tombstones(0.01) == 1
    state = engine.states(["p1"])["p1"]
    assert (state.item_version, state.deleted, state.visible, state.content_version) == (None, False, False, 2)
    assert ids(engine, text="linen") == []
    assert outcomes(engine.apply([UpsertItem(product("p1", 4))])) == [A]  # a newer item brings it back
    assert ids(engine, text="linen") == ["p1"]
