"""Property: any interleaving (and duplication) of operations on a few products, applied in
any batches, leaves exactly the state that the highest versions define.

The model replays the same operations one by one with :mod:`catalog.versioning`; the
engine gets them in random batches, possibly repeated. States, visibility and search
must agree with the model.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.engine.port import ClearContent, SearchRequest, Tombstone, UpsertContent, UpsertItem
from catalog.versioning import content_is_newer, item_is_newer
from tests.contract.builders import content, product

_run = itertools.count()
KEYS = ("a", "b", "c")


def _op(kind: str, key: str, version: int, prefix: str):
    pid = f"{prefix}-{key}"
    if kind == "item":
        # the payload is a function of (id, version): equal versions carry equal items
        return UpsertItem(product(pid, version, title=f"item {key} v{version}", price=float(version)))
    if kind == "tomb":
        return Tombstone(pid, version)
    if kind == "content":
        return UpsertContent(content(pid, version, f"content{prefix}{key}v{version}"))
    return ClearContent(pid, version)


OPS = st.lists(st.tuples(st.sampled_from(("item", "tomb", "content", "clear")), st.sampled_from(KEYS),
                         st.integers(min_value=1, max_value=5)), min_size=1, max_size=24)


def _model(ops):
    state: dict[str, dict] = {}
    for op in ops:
        s = state.setdefault(op.id, {"iv": None, "deleted": False, "title": None, "cv": None, "text": None})
        if isinstance(op, UpsertItem | Tombstone):
            deleted = isinstance(op, Tombstone)
            if item_is_newer(op.version, deleted, s["iv"], s["deleted"]):
                s.update(iv=op.version, deleted=deleted, title=None if deleted else op.product.title)
        elif content_is_newer(op.version, s["cv"]):
            s.update(cv=op.version, text=op.content.long_description if isinstance(op, UpsertContent) else None)
    return state


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=OPS, cuts=st.lists(st.integers(min_value=0, max_value=24), max_size=4),
       replay=st.integers(min_value=0, max_value=3))
def test_highest_versions_define_the_state(engine, spec, cuts, replay):
    prefix = f"r{next(_run)}"  # one engine serves every example: fresh ids each time
    ops = [_op(kind, key, version, prefix) for kind, key, version in spec]
    ops = ops + ops[:replay]  # duplicated delivery
    bounds = sorted({0, len(ops), *(c for c in cuts if c < len(ops))})
    for lo, hi in itertools.pairwise(bounds):
        results = engine.apply(ops[lo:hi])
        assert len(results) == hi - lo and all(r.ok for r in results)

    model = _model(ops)
    states = engine.states(list(model))
    assert set(states) == set(model)
    for pid, m in model.items():
        s = states[pid]
        visible = m["title"] is not None
        assert (s.item_version, s.deleted, s.content_version) == (m["iv"], m["deleted"], m["cv"]), pid
        assert s.visible == visible, pid
        assert (s.product.title if s.product else None) == m["title"], pid
        assert (s.content.long_description if s.content else None) == m["text"], pid
        got = engine.get(pid)
        assert (got is not None) == visible, pid
        if visible:
            assert got[0].title == m["title"] and got[0].version == m["iv"]
    for key in KEYS:
        pid = f"{prefix}-{key}"
        m = model.get(pid)
        if m is None:
            continue
        if m["text"] is None:
            continue
        hits = [h.id for h in engine.search(SearchRequest(text=m["text"], facets=())).hits]
        assert hits == ([pid] if m["title"] is not None else [])
