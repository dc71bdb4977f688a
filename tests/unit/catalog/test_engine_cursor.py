"""The paging rules of the port (catalog.engine.cursor): one fingerprint, one envelope,
one depth limit, and one error text from both adapters."""

from __future__ import annotations

import pytest

from catalog.engine import cursor
from catalog.engine.opensearch.paging import encode_cursor
from catalog.engine.opensearch.search import search_body
from catalog.engine.port import InvalidRequest, SearchRequest, Sort, UpsertItem
from catalog.schema import MAX_DEPTH
from tests.contract.builders import product


def test_the_fingerprint_binds_text_filters_and_sort_not_the_page_shape():
    base = SearchRequest(text="Desk  Lamp", brands=("IKEA", "Hay"), categories=("home>lighting",), size=2)
    same = SearchRequest(text="desk lamp", brands=("hay", "ikea"), categories=("Home > Lighting",), size=5,
                         facets=(), highlight=False)
    assert cursor.fingerprint(base) == cursor.fingerprint(same)
    for changed in ({"text": "desk"}, {"brands": ("IKEA",)}, {"sort": Sort.PRICE_ASC}, {"in_stock": True},
                    {"price_min": 1.0}, {"price_max": 9.0}, {"rating_min": 4.0}, {"categories": ("home",)}):
        other = SearchRequest(**{"text": "Desk  Lamp", "brands": ("IKEA", "Hay"), "categories": ("home>lighting",),
                                 **changed})
        assert cursor.fingerprint(other) != cursor.fingerprint(base), changed


def test_the_envelope_round_trips_and_refuses_what_it_did_not_issue():
    request = SearchRequest(text="desk", sort=Sort.PRICE_ASC)
    token = cursor.encode(request, {"n": 3})
    assert "=" not in token
    assert cursor.decode(SearchRequest(text="desk", sort=Sort.PRICE_ASC, cursor=token)) == {"n": 3}
    for bad in ("not base64!", "W10", token[:-3] + "xyz"):
        with pytest.raises(InvalidRequest) as err:
            cursor.decode(SearchRequest(text="desk", sort=Sort.PRICE_ASC, cursor=bad))
        assert err.value.parameter == "cursor"
    with pytest.raises(InvalidRequest) as err:
        cursor.decode(SearchRequest(text="chair", sort=Sort.PRICE_ASC, cursor=token))
    assert err.value.message == cursor.FOREIGN


def test_both_adapters_refuse_a_cursor_of_another_query_with_one_text(tmp_path):
    from catalog.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine(tmp_path)
    try:
        engine.apply([UpsertItem(product(f"p{i}", price=float(i))) for i in range(5)])
        first = engine.search(SearchRequest(size=2, sort=Sort.PRICE_ASC, facets=()))
        with pytest.raises(InvalidRequest) as embedded:
            engine.search(SearchRequest(size=2, sort=Sort.PRICE_DESC, cursor=first.next_cursor))
    finally:
        engine.close()
    token = encode_cursor(SearchRequest(size=2, sort=Sort.PRICE_ASC), [1.0, "p1"], 2)
    with pytest.raises(InvalidRequest) as opensearch:
        search_body(SearchRequest(size=2, sort=Sort.PRICE_DESC, cursor=token))
    assert embedded.value.message == opensearch.value.message == cursor.FOREIGN
    assert embedded.value.parameter == opensearch.value.parameter == "cursor"


def test_the_depth_limit_has_one_text():
    with pytest.raises(InvalidRequest) as err:
        SearchRequest(size=20, page=MAX_DEPTH // 20 + 1)
    assert (err.value.parameter, err.value.message) == ("page", cursor.DEPTH)
    cursor.check_depth(MAX_DEPTH // 20, 20)  # at the limit: fine
