"""The embedded (tantivy) adapter beyond the port contract: configuration, the derived
schema, the index directory shared between engines and processes, the writer lock,
cursors and highlighting."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import tantivy

from catalog.engine import EngineConfigError, engine_from_env
from catalog.engine.embedded import EmbeddedEngine
from catalog.engine.embedded import facets as embedded_facets
from catalog.engine.embedded import store as embedded_store
from catalog.engine.embedded.query import Highlighter, analyse
from catalog.engine.embedded.schema import physical_schema
from catalog.engine.port import (
    EngineUnavailable,
    InvalidRequest,
    SearchEngine,
    SearchRequest,
    Sort,
    Tombstone,
    Total,
    UpsertItem,
)
from catalog.schema import FIELDS, Kind
from tests.contract.builders import product

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def engine(tmp_path):
    eng = EmbeddedEngine(tmp_path / "idx")
    yield eng
    eng.close()


# ---------------------------------------------------------------- configuration
def test_from_env_requires_the_index_dir():
    with pytest.raises(EngineConfigError, match="EMBEDDED_INDEX_DIR"):
        EmbeddedEngine.from_env({})
    with pytest.raises(EngineConfigError, match="EMBEDDED_INDEX_DIR"):
        engine_from_env({"SEARCH_ENGINE": "embedded", "EMBEDDED_INDEX_DIR": "  "})


def test_from_env_reads_dir_and_alias(tmp_path):
    eng = engine_from_env({"SEARCH_ENGINE": "embedded", "EMBEDDED_INDEX_DIR": str(tmp_path), "INDEX_ALIAS": "shop"})
    assert isinstance(eng, EmbeddedEngine) and isinstance(eng, SearchEngine)
    assert eng.alias == "shop" and eng.directory == tmp_path.resolve()
    with pytest.raises(EngineConfigError, match="INDEX_ALIAS"):
        EmbeddedEngine.from_env({"EMBEDDED_INDEX_DIR": str(tmp_path), "INDEX_ALIAS": "../x"})


# ---------------------------------------------------------------- schema
def test_physical_schema_follows_the_naming_rule():
    ps = physical_schema()
    names = {pf.name for pf in ps.fields}
    for f in FIELDS:
        if not f.indexed:
            assert f.name not in names
            continue
        assert f.name in names
        if f.kind is Kind.TEXT:
            assert (f"{f.name}__exact" in names) == f.autocomplete  # exact/typo matching: the title
        if f.kind is Kind.KEYWORD and f.searchable:
            assert f"{f.name}__text" in names
        if f.kind is Kind.KEYWORD and f.filterable and f.name != "id":
            assert f"{f.name}__key" in names
        if f.hierarchical:
            assert f"{f.name}_path__key" in names
    assert [sf.name for sf in ps.search_fields] == [f.name for f in FIELDS if f.searchable]


def test_query_text_is_analysed_like_the_index():
    terms = analyse("  Men's  RUNNING Shoes, Café ")
    assert terms.exact == ("men", "running", "shoes", "cafe")
    assert terms.stemmed == ("men", "run", "shoe", "cafe")
    assert not analyse("   ") and not analyse("!!!")


# ---------------------------------------------------------------- directory, alias, processes
def test_a_fresh_directory_gets_an_index_and_alias_on_first_apply(engine, tmp_path):
    assert engine.alias_target() is None and engine.indices() == []
    engine.apply([UpsertItem(product("p1"))])
    target = engine.alias_target()
    assert target is not None and engine.indices() == [target]
    pointer = json.loads((tmp_path / "idx" / "products.alias").read_text())
    assert pointer == {"index": target}


def test_reopened_directory_searches_with_the_custom_analyzers(tmp_path):
    first = EmbeddedEngine(tmp_path / "idx")
    first.apply([UpsertItem(product("p1", title="Running shoes"))])
    first.close()
    again = EmbeddedEngine(tmp_path / "idx")  # tokenizers must be registered after every open
    assert [h.id for h in again.search(SearchRequest(text="run shoe", facets=())).hits] == ["p1"]


def test_another_engine_sees_commits_and_alias_swaps_at_once(tmp_path):
    writer, reader = EmbeddedEngine(tmp_path / "idx"), EmbeddedEngine(tmp_path / "idx")
    writer.apply([UpsertItem(product("p1", title="Copper kettle"))])
    assert reader.count() == 1
    writer.apply([UpsertItem(product("p2", title="Copper jug"))])
    assert reader.count() == 2  # reloaded because meta.json changed
    new = writer.create_index()
    writer.apply([UpsertItem(product("p9", title="Fresh start"))], index=new)
    writer.swap_alias(new)
    assert reader.alias_target() == new
    assert [h.id for h in reader.search(SearchRequest(facets=())).hits] == ["p9"]


def test_another_process_reads_and_writes_the_same_directory(tmp_path):
    engine = EmbeddedEngine(tmp_path / "idx")
    engine.apply([UpsertItem(product("p1", title="Parent kettle"))])
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from catalog.engine.embedded import EmbeddedEngine
        from catalog.engine.port import UpsertItem
        from tests.contract.builders import product
        eng = EmbeddedEngine({str(tmp_path / "idx")!r})
        print(eng.count())
        eng.apply([UpsertItem(product("p2", title="Child kettle"))])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "1"
    assert sorted(h.id for h in engine.search(SearchRequest(text="kettle", facets=())).hits) == ["p1", "p2"]
    engine.apply([UpsertItem(product("p3"))])  # the writer lock was released by the child
    assert engine.count() == 3


def test_the_writer_is_held_only_during_apply(engine, monkeypatch):
    engine.apply([UpsertItem(product("p1"))])
    path = engine.directory / engine.alias_target()
    index = tantivy.Index.open(str(path))
    held = index.writer(heap_size=15_000_000, num_threads=1)  # someone else writes (e.g. a CLI repair)
    monkeypatch.setattr(embedded_store, "LOCK_WAIT_SECONDS", 0.2)
    with pytest.raises(EngineUnavailable, match="retry"):
        engine.apply([UpsertItem(product("p2"))])
    del held
    assert [r.outcome.value for r in engine.apply([UpsertItem(product("p2"))])] == ["applied"]
    again = index.writer(heap_size=15_000_000, num_threads=1)  # apply released it
    del again


def test_a_busy_writer_is_waited_for(engine, monkeypatch):
    engine.apply([UpsertItem(product("p1"))])
    index = tantivy.Index.open(str(engine.directory / engine.alias_target()))
    held = [index.writer(heap_size=15_000_000, num_threads=1)]
    timer = threading.Timer(0.3, held.clear)  # released while apply backs off
    timer.start()
    try:
        assert engine.apply([UpsertItem(product("p2"))])[0].ok
    finally:
        timer.cancel()
    assert engine.count() == 2


def test_index_names_and_deletion_rules(engine):
    with pytest.raises(InvalidRequest) as err:
        engine.create_index("../escape")
    assert err.value.parameter == "index"
    engine.apply([UpsertItem(product("p1"))])
    with pytest.raises(InvalidRequest, match="swap first"):
        engine.delete_index(engine.alias_target())
    name = engine.create_index("products-manual")
    with pytest.raises(InvalidRequest, match="already exists"):
        engine.create_index("products-manual")
    assert name in engine.indices()
    engine.delete_index(name)
    assert name not in engine.indices()


def test_other_aliases_in_the_same_directory_are_separate(tmp_path):
    a, b = EmbeddedEngine(tmp_path, alias="alpha"), EmbeddedEngine(tmp_path, alias="beta")
    a.apply([UpsertItem(product("p1"))])
    b.apply([UpsertItem(product("p2")), UpsertItem(product("p3"))])
    assert (a.count(), b.count()) == (1, 2)
    assert set(a.indices()).isdisjoint(b.indices())


# ---------------------------------------------------------------- reads
def test_an_empty_index_answers_without_panicking(engine):
    engine.apply([Tombstone("p1", 1)])  # index exists, nothing visible
    result = engine.search(SearchRequest(text="anything"))
    assert result.hits == [] and result.total.value == 0 and result.next_cursor is None
    assert engine.search(SearchRequest(sort=Sort.PRICE_ASC, size=1)).hits == []
    assert engine.suggest("any") == [] and engine.count() == 0


def test_a_cursor_is_bound_to_its_search(engine):
    engine.apply([UpsertItem(product(f"p{i}", price=float(i))) for i in range(5)])
    first = engine.search(SearchRequest(size=2, sort=Sort.PRICE_ASC, facets=()))
    with pytest.raises(InvalidRequest, match="does not belong"):
        engine.search(SearchRequest(size=2, sort=Sort.PRICE_DESC, cursor=first.next_cursor))
    with pytest.raises(InvalidRequest) as err:
        engine.search(SearchRequest(size=2, sort=Sort.PRICE_ASC, cursor=first.next_cursor[:-3] + "xyz"))
    assert err.value.parameter == "cursor"


def test_suggest_size_is_bounded(engine):
    engine.apply([UpsertItem(product("p1"))])
    with pytest.raises(InvalidRequest) as err:
        engine.suggest("plain", size=0)
    assert err.value.parameter == "size"


def test_highlighter_escapes_and_windows_long_text():
    mark = Highlighter(analyse("headphones"))
    assert mark("a <script> & headphones") == "a &lt;script&gt; &amp; <em>headphones</em>"
    assert mark("nothing here") is None and mark("") is None
    assert mark("Great hedphones") is None  # typo (and prefix) matches are not marked: catalog.analysis
    long = " ".join(["filler"] * 200) + " best headphones ever " + " ".join(["tail"] * 200)
    snippet = mark(long)
    assert "<em>headphones</em>" in snippet and len(snippet) < 400
    assert snippet.startswith("\u2026") and snippet.endswith("\u2026")
    typo = Highlighter(analyse("hedphones"))
    assert typo("Sony headphones") is None
    assert Highlighter(analyse("Headphone"))("Sony HEADPHONES") == "Sony <em>HEADPHONES</em>"  # same stem


def test_took_ms_is_measured(engine):
    engine.apply([UpsertItem(product("p1"))])
    assert engine.search(SearchRequest()).took_ms > 0


def test_an_index_from_another_schema_is_refused(tmp_path):
    engine = EmbeddedEngine(tmp_path / "idx")
    engine.apply([UpsertItem(product("p1"))])
    marker = engine.directory / engine.alias_target() / "storefront-index.json"
    data = json.loads(marker.read_text())
    marker.write_text(json.dumps({**data, "schema": "0000"}))
    fresh = EmbeddedEngine(tmp_path / "idx")
    with pytest.raises(EngineUnavailable, match="another index schema"):
        fresh.search(SearchRequest())
    assert not fresh.health().ok


def test_processes_racing_on_a_fresh_directory_share_one_alias(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from catalog.engine.embedded import EmbeddedEngine
        from catalog.engine.port import UpsertItem
        from tests.contract.builders import product
        EmbeddedEngine({str(tmp_path / "idx")!r}).apply([UpsertItem(product(sys.argv[1]))])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, pid]) for pid in ("p1", "p2")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    engine = EmbeddedEngine(tmp_path / "idx")
    assert len(engine.indices()) == 1 and engine.count() == 2


def test_every_title_word_keeps_its_typo_tolerance_as_on_opensearch(engine):
    # no doc-frequency shortcut: OpenSearch cannot know it when the query is built, so a
    # common word's typo neighbours match on both engines (catalog.analysis.TYPO)
    engine.apply([UpsertItem(product(f"p{i}", title="Brass lamp")) for i in range(3)]
                 + [UpsertItem(product("q1", title="Toy lamb"))])
    assert sorted(h.id for h in engine.search(SearchRequest(text="lamp", facets=())).hits) == ["p0", "p1", "p2", "q1"]
    assert engine.search(SearchRequest(text="lamx", facets=())).total.value == 4  # lamp x3, lamb


def test_one_pass_brand_category_facets_equal_one_pass_per_facet(engine, catalog_1k, monkeypatch):
    engine.apply([UpsertItem(g.product) for g in catalog_1k[:400]] + [UpsertItem(product("nobrand", brand=""))])
    requests = [
        SearchRequest(brands=("Sony", "bose")),
        SearchRequest(categories=("Audio",), facets=("brand", "category")),
        SearchRequest(text="wireless", brands=("Sony",), categories=("audio > headphones", "Computers")),
        SearchRequest(text="pro", categories=("Clothing",), price_max=200, in_stock=True),
        SearchRequest(brands=("Anker",), rating_min=4.0, facets=("brand", "price")),
        SearchRequest(categories=("Audio > Headphones",)),  # all four facets, category filtered
        SearchRequest(text="wireless", brands=("Sony", "JBL"), in_stock=True),  # all four, brand filtered
        SearchRequest(brands=("Sony",), categories=("Audio",), facets=("rating", "brand", "category")),
    ]
    fast = [engine.search(r) for r in requests]
    monkeypatch.setattr(embedded_facets, "_MATRIX", {})  # one aggregation pass per filtered facet
    slow = [engine.search(r) for r in requests]
    for a, b in zip(fast, slow, strict=True):
        assert a.total == b.total and a.facets == b.facets
        assert [h.id for h in a.hits] == [h.id for h in b.hits]
    assert any(f.facets["brand"] for f in fast)


@pytest.mark.parametrize("batch_size", [1, 3, 7, 1000])
def test_iter_states_walks_in_id_order_across_key_collisions(engine, batch_size):
    pids = ([f"sku-0000-{i:02d}" for i in range(12)] + ["a", "b", "sku-0000", "sku-00001", "zz-top"]
            + [f"p{i}" for i in range(5)])
    engine.apply([UpsertItem(product(pid)) for pid in reversed(pids)] + [Tombstone("dead", 1)])
    walked = [s.id for s in engine.iter_states(batch_size=batch_size)]
    assert walked == sorted([*pids, "dead"])


def test_totals_above_the_exact_bound_are_at_least(engine, monkeypatch):
    import catalog.analysis

    engine.apply([UpsertItem(product(f"p{i}", title="Brass lamp")) for i in range(3)])
    assert engine.search(SearchRequest(text="lamp", facets=())).total == Total(3, "eq")
    monkeypatch.setattr(catalog.analysis, "TOTAL_EXACT_UP_TO", 2)  # as OpenSearch's track_total_hits
    assert engine.search(SearchRequest(text="lamp", facets=())).total == Total(2, "gte")


def test_suggest_titles_are_distinct_and_one_letter_completes(engine):
    engine.apply([UpsertItem(product(f"p{i}", title="Sony WH-1000XM5")) for i in range(3)]
                 + [UpsertItem(product("q1", title="sony wh-1000xm5")),
                    UpsertItem(product("q2", title="Sony Walkman"))])
    titles = [s.text for s in engine.suggest("sony w", 5)]
    assert sorted(t.casefold() for t in titles) == ["sony walkman", "sony wh-1000xm5"]
