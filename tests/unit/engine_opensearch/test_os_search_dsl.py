"""Read side of the OpenSearch adapter: the search DSL built from representative
requests, the cursor, and parsing real search responses (aggregations, highlights,
totals) into the port's result."""

from __future__ import annotations

import json
import re

import pytest

from catalog.analysis import split
from catalog.engine import (
    EngineUnavailable,
    FacetValue,
    IndexNotFound,
    InvalidRequest,
    RangeBucket,
    SearchRequest,
    Sort,
    Total,
)
from catalog.engine.opensearch.paging import decode_cursor, encode_cursor
from catalog.engine.opensearch.search import parse_search, search_body
from catalog.engine.opensearch.suggest import suggest_body
from catalog.schema import MAX_DEPTH

from . import os_shapes as shapes

VISIBLE = [{"term": {"has_item": True}}, {"term": {"deleted": False}}]


def walk(node):
    """Every (key, value) pair of a nested JSON-like structure."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def inner_bool(body):
    """The bool query under the relevance function_score wrappers."""
    query = body["query"]
    while "function_score" in query:
        query = query["function_score"]["query"]
    return query["bool"]


# ---------------------------------------------------------------- text
def test_text_becomes_one_clause_per_term_over_weighted_fields():
    body = search_body(SearchRequest(text="Wireless headphones", facets=()))
    clauses = inner_bool(body)["must"]
    assert len(clauses) == 2  # every term must match somewhere
    first, last = (c["bool"] for c in clauses)
    assert first["minimum_should_match"] == 1
    stemmed, exact, fuzzy = (c["multi_match"] for c in first["should"])
    # the token as written: OpenSearch's analyzer folds it (catalog.analysis.split)
    assert stemmed == {"query": "Wireless", "type": "best_fields", "fields": [
        "title^6", "brand.text^3", "category.text^2", "tags.text^1.5", "description^1",
        "long_description^0.5", "specifications^0.5"]}
    assert exact["fields"] == ["title.exact^9"]  # exact and typo matching: the title (as embedded)
    assert fuzzy["fuzziness"] == "AUTO:4,8" and fuzzy["boost"] == 0.3 and fuzzy["prefix_length"] == 0
    assert fuzzy["max_expansions"] == 50 and fuzzy["fuzzy_transpositions"] is True
    assert fuzzy["fields"] == ["title.exact^6"]  # typo matches rank below exact (x1.5) and stemmed (x1)
    # only the last term may also be a prefix of a title word
    assert len(first["should"]) == 3
    prefix = last["should"][3]["multi_match"]
    assert prefix == {"query": "headphones", "type": "best_fields", "fields": ["title.prefix^3.6"]}


def test_user_text_never_reaches_a_query_parser():
    text = 'men\'s "shoes" AND (title:x OR y*) -z ~2 {}'
    body = search_body(SearchRequest(text=text, facets=()))
    keys = {k for k, _ in walk(body)}
    assert not keys & {"query_string", "simple_query_string", "regexp", "wildcard", "script"}
    queries = [v for k, v in walk(inner_bool(body)["must"]) if k == "query"]
    assert set(queries) == set(split(text)) and all(" " not in q for q in queries)


def test_terms_are_capped_and_typo_distance_is_left_to_auto():
    body = search_body(SearchRequest(text="usb c " + " ".join(f"w{i:03d}" for i in range(40)), facets=()))
    clauses = inner_bool(body)["must"]
    assert len(clauses) == 16
    # AUTO:4,8 counts the analysed token: "usb" gets no edit, as TYPO.distance on the embedded engine
    fuzzy = [c["multi_match"] for c in clauses[0]["bool"]["should"] if "fuzziness" in c["multi_match"]]
    assert [f["fuzziness"] for f in fuzzy] == ["AUTO:4,8"]


def test_relevance_adds_mild_in_stock_and_rating_multipliers():
    body = search_body(SearchRequest(text="speaker", facets=()))
    outer = body["query"]["function_score"]
    assert outer["functions"] == [{"filter": {"term": {"in_stock": True}}, "weight": 1.15}]
    assert outer["boost_mode"] == "multiply"
    inner = outer["query"]["function_score"]
    # 1 + 0.1 x rating / 5, summed then multiplied into the text score
    assert inner["functions"] == [{"weight": 1}, {"field_value_factor": {"field": "rating", "factor": 0.02,
                                                                         "missing": 0}}]
    assert (inner["score_mode"], inner["boost_mode"]) == ("sum", "multiply")


def test_browse_without_text_matches_all_visible_products():
    body = search_body(SearchRequest(facets=()))
    assert inner_bool(body) == {"filter": VISIBLE, "must": [{"match_all": {}}]}
    assert "highlight" not in body and "post_filter" not in body and "aggs" not in body


def test_highlight_title_and_description_html_encoded():
    body = search_body(SearchRequest(text="bose", facets=()))
    assert body["highlight"] == {
        "encoder": "html", "pre_tags": ["<em>"], "post_tags": ["</em>"],
        "require_field_match": True,
        "fields": {"title": {"number_of_fragments": 0},
                   "description": {"fragment_size": 160, "number_of_fragments": 1}},
        # only the stemmed tokens: prefix and typo matches are not marked (as on the embedded engine)
        "highlight_query": {"bool": {"should": [
            {"multi_match": {"query": "bose", "type": "best_fields", "fields": ["title", "description"]}}]}},
    }
    assert "highlight" not in search_body(SearchRequest(text="bose", facets=(), highlight=False))


def test_body_basics_total_source_and_server_timeout():
    body = search_body(SearchRequest(text="tv", size=5, page=3, facets=()), timeout_ms=1500)
    assert body["from"] == 10 and body["size"] == 5
    assert body["track_total_hits"] == 10_000
    assert body["timeout"] == "1500ms"
    assert set(body["_source"]) == {"id", "title", "brand", "category", "price", "currency", "rating",
                                    "review_count", "in_stock", "image_url"}


# ---------------------------------------------------------------- filters and facets
def test_filters_of_each_kind():
    request = SearchRequest(categories=("audio >headphones ",), brands=("Sony", "Bose"), price_min=10,
                            price_max=99.5, in_stock=True, rating_min=4, facets=())
    body = search_body(request)
    assert inner_bool(body)["filter"] == [*VISIBLE, {"term": {"in_stock": True}}]  # no facet: part of the query
    assert body["post_filter"] == {"bool": {"filter": [
        {"terms": {"category_path.key": ["audio > headphones"]}},  # the path and all its descendants
        {"terms": {"brand.key": ["Sony", "Bose"]}},
        {"range": {"price": {"gte": 10, "lte": 99.5}}},
        {"range": {"rating": {"gte": 4}}},
    ]}}


def test_open_price_range_and_out_of_stock():
    body = search_body(SearchRequest(price_max=20, in_stock=False, facets=()))
    assert body["post_filter"] == {"bool": {"filter": [{"range": {"price": {"lte": 20}}}]}}
    assert {"term": {"in_stock": False}} in inner_bool(body)["filter"]


def test_each_facet_is_counted_without_its_own_filter():
    request = SearchRequest(categories=("Audio",), brands=("Sony",), price_min=50)
    aggs = search_body(request)["aggs"]
    category = {"terms": {"category_path.key": ["Audio"]}}
    brand = {"terms": {"brand.key": ["Sony"]}}
    price = {"range": {"price": {"gte": 50}}}
    assert aggs["category"]["filter"] == {"bool": {"filter": [brand, price]}}
    assert aggs["brand"]["filter"] == {"bool": {"filter": [category, price]}}
    assert aggs["price"]["filter"] == {"bool": {"filter": [category, brand]}}
    assert aggs["rating"]["filter"] == {"bool": {"filter": [category, brand, price]}}


def test_facet_aggregations_follow_the_schema():
    aggs = search_body(SearchRequest())["aggs"]
    assert aggs["brand"] == {"filter": {"match_all": {}}, "aggs": {"values": {"terms": {"field": "brand",
                                                                                          "size": 25}}}}
    assert aggs["price"]["aggs"]["values"] == {"range": {"field": "price", "ranges": [
        {"from": 0, "to": 25}, {"from": 25, "to": 50}, {"from": 50, "to": 100}, {"from": 100, "to": 250},
        {"from": 250, "to": 500}, {"from": 500, "to": 1000}, {"from": 1000}]}}
    assert aggs["rating"]["aggs"]["values"] == {"range": {"field": "rating", "ranges": [
        {"from": 4.0}, {"from": 3.0}, {"from": 2.0}, {"from": 1.0}]}}
    only = search_body(SearchRequest(facets=("brand",)))["aggs"]
    assert set(only) == {"brand"}


def lucene_to_python(pattern: str) -> re.Pattern:
    """The subset of Lucene regexp the hierarchy facet uses means the same in Python."""
    return re.compile(pattern)


def test_category_facet_shows_the_top_level_and_children_of_selected_categories():
    hierarchy = search_body(SearchRequest(categories=("Audio > Headphones", "Home")))["aggs"]["category"]
    values = hierarchy["aggs"]["values"]
    top = values["aggs"]["top"]["terms"]
    assert top["field"] == "category_path" and top["size"] == 50
    children = values["aggs"]["children_0"]
    assert children["filter"] == {"term": {"category_path.key": "Audio > Headphones"}}
    child_terms = children["aggs"]["values"]["terms"]
    top_re, child_re = lucene_to_python(top["include"]), lucene_to_python(child_terms["include"])
    assert top_re.fullmatch("Audio") and not top_re.fullmatch("Audio > Headphones")
    assert child_re.fullmatch("Audio > Headphones > Over-ear")
    assert not child_re.fullmatch("Audio > Headphones") and not child_re.fullmatch("A > B > C > D")
    assert lucene_to_python(values["aggs"]["children_1"]["aggs"]["values"]["terms"]["include"]).fullmatch(
        "Home > Kitchen")


# ---------------------------------------------------------------- sort, depth, cursor
@pytest.mark.parametrize(("sort", "first"), [
    (Sort.RELEVANCE, "_score"),
    (Sort.PRICE_ASC, {"price": {"order": "asc"}}),
    (Sort.PRICE_DESC, {"price": {"order": "desc"}}),
    (Sort.RATING_DESC, {"rating": {"order": "desc", "missing": "_last"}}),
    (Sort.NEWEST, {"created_at": {"order": "desc", "missing": "_last"}}),
])
def test_each_sort_with_the_id_tie_break(sort, first):
    body = search_body(SearchRequest(text="lamp", sort=sort, facets=()))
    assert body["sort"] == [first, {"id": {"order": "asc"}}]
    assert ("function_score" in body["query"]) is (sort is Sort.RELEVANCE)


def test_paging_stops_at_max_depth():
    assert search_body(SearchRequest(size=20, page=MAX_DEPTH // 20, facets=()))["from"] == MAX_DEPTH - 20
    with pytest.raises(InvalidRequest) as err:
        SearchRequest(size=20, page=MAX_DEPTH // 20 + 1)
    assert err.value.parameter == "page"


def hit(pid, sort_values, **src):
    return {"_index": shapes.INDEX, "_id": pid, "_score": None, "_source": shapes.source(pid, **src),
            "sort": sort_values}


def search_response(hits, total=10_000, relation="gte", aggregations=None):
    body = {"took": 7, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": total, "relation": relation}, "max_score": None, "hits": hits}}
    if aggregations is not None:
        body["aggregations"] = aggregations
    return body


def test_cursor_round_trip_continues_after_the_last_hit():
    request = SearchRequest(text="desk", brands=("IKEA",), sort=Sort.PRICE_ASC, size=2, facets=())
    first = parse_search(search_response([hit("a", [10.0, "a"]), hit("b", [12.5, "b"])]), request)
    assert first.next_cursor and first.total == Total(10_000, "gte")
    follow = SearchRequest(text="desk", brands=("ikea",), sort=Sort.PRICE_ASC, size=3, cursor=first.next_cursor,
                           facets=())
    body = search_body(follow)
    assert body["search_after"] == [12.5, "b"] and "from" not in body
    assert decode_cursor(follow) == ([12.5, "b"], 2)


@pytest.mark.parametrize("changed", [
    {"text": "chair"}, {"brands": ("Hay",)}, {"sort": Sort.PRICE_DESC}, {"price_min": 1.0}, {"in_stock": True},
    {"categories": ("Home",)}, {"rating_min": 3.0},
])
def test_a_cursor_cannot_be_replayed_against_another_query(changed):
    base = {"text": "desk", "brands": ("IKEA",), "sort": Sort.PRICE_ASC, "size": 2, "facets": ()}
    cursor = encode_cursor(SearchRequest(**base), [12.5, "b"], 2)
    with pytest.raises(InvalidRequest) as err:
        search_body(SearchRequest(**{**base, **changed, "cursor": cursor}))
    assert err.value.parameter == "cursor" and "different query" in err.value.message


@pytest.mark.parametrize("cursor", ["", "not base64!", "eyJhIjoxfQ", "W10"])
def test_a_malformed_cursor_names_the_parameter(cursor):
    with pytest.raises(InvalidRequest) as err:
        search_body(SearchRequest(cursor=cursor, facets=()))
    assert err.value.parameter == "cursor"


def test_no_cursor_after_the_last_page():
    request = SearchRequest(size=2, facets=())
    assert parse_search(search_response([hit("a", [1.0, "a"])], total=1, relation="eq"), request).next_cursor is None
    full = search_response([hit("a", [1.0, "a"]), hit("b", [1.0, "b"])], total=2, relation="eq")
    assert parse_search(full, request).next_cursor is None
    more = search_response([hit("a", [1.0, "a"]), hit("b", [1.0, "b"])], total=3, relation="eq")
    assert parse_search(more, request).next_cursor is not None


# ---------------------------------------------------------------- parsing a real response
AGGREGATIONS = {
    "brand": {"doc_count": 180, "values": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 4, "buckets": [
        {"key": "Sony", "doc_count": 61}, {"key": "Bose", "doc_count": 40}]}},
    # range buckets come back in the engine's order, keyed "from-to"
    "price": {"doc_count": 150, "values": {"buckets": [
        {"key": "0.0-25.0", "from": 0.0, "to": 25.0, "doc_count": 3},
        {"key": "25.0-50.0", "from": 25.0, "to": 50.0, "doc_count": 9},
        {"key": "50.0-100.0", "from": 50.0, "to": 100.0, "doc_count": 30},
        {"key": "100.0-250.0", "from": 100.0, "to": 250.0, "doc_count": 70},
        {"key": "250.0-500.0", "from": 250.0, "to": 500.0, "doc_count": 35},
        {"key": "500.0-1000.0", "from": 500.0, "to": 1000.0, "doc_count": 3},
        {"key": "1000.0-*", "from": 1000.0, "doc_count": 0}]}},
    "rating": {"doc_count": 140, "values": {"buckets": [
        {"key": "1.0-*", "from": 1.0, "doc_count": 139}, {"key": "2.0-*", "from": 2.0, "doc_count": 131},
        {"key": "3.0-*", "from": 3.0, "doc_count": 102}, {"key": "4.0-*", "from": 4.0, "doc_count": 57}]}},
    "category": {"doc_count": 300, "values": {"doc_count": 300,
        "top": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
            {"key": "Audio", "doc_count": 180}, {"key": "Home", "doc_count": 120}]},
        "children_0": {"doc_count": 180, "values": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
            "buckets": [{"key": "Audio > Headphones", "doc_count": 100}, {"key": "Audio > Speakers",
                                                                        "doc_count": 80}]}}}},
}


def test_parse_a_search_response_with_aggregations_and_highlights():
    request = SearchRequest(text="sony headphones", categories=("Audio",), size=2)
    raw = search_response([
        {**hit("p1", [3.2, "p1"]), "_score": 3.2,
         "highlight": {"title": ["<em>Sony</em> WH-1000XM5 &amp; case"]}},
        {**hit("p2", [2.9, "p2"], rating=None, image_url=None, in_stock=False), "_score": 2.9},
    ], aggregations=AGGREGATIONS)
    result = parse_search(raw, request)
    assert result.total == Total(10_000, "gte") and result.took_ms == 7.0
    first, second = result.hits
    assert (first.id, first.title, first.brand, first.category, first.price, first.currency, first.rating,
            first.review_count, first.in_stock, first.image_url, first.score) == (
        "p1", "Title p1", "Sony", "Audio > Headphones > Over-ear", 199.99, "USD", 4.5, 120, True,
        "https://img.test/p1.jpg", 3.2)
    assert first.highlight == {"title": "<em>Sony</em> WH-1000XM5 &amp; case", "description": None}
    assert (second.rating, second.image_url, second.in_stock) == (None, None, False)
    assert result.facets["brand"] == [FacetValue("Sony", 61), FacetValue("Bose", 40)]
    assert result.facets["price"][0] == RangeBucket(0.0, 25.0, 3)
    assert result.facets["price"][-1] == RangeBucket(1000.0, None, 0)
    assert result.facets["rating"] == [FacetValue(4.0, 57), FacetValue(3.0, 102), FacetValue(2.0, 131),
                                       FacetValue(1.0, 139)]
    assert result.facets["category"] == [FacetValue("Audio", 180), FacetValue("Home", 120),
                                         FacetValue("Audio > Headphones", 100), FacetValue("Audio > Speakers", 80)]
    assert result.next_cursor is not None


def test_total_relation_eq_and_no_highlight_without_text():
    raw = search_response([hit("p1", [1.0, "p1"])], total=1, relation="eq")
    result = parse_search(raw, SearchRequest(facets=()))
    assert result.total == Total(1, "eq") and result.facets == {} and result.hits[0].highlight == {}


# ---------------------------------------------------------------- search() through the real client
def test_search_sends_the_body_to_the_alias(engine, http):
    http.answer((200, search_response([hit("p1", [1.0, "p1"])], total=1, relation="eq",
                                      aggregations=AGGREGATIONS)))
    request = SearchRequest(text="sony", brands=("Sony",))
    result = engine.search(request)
    (sent,) = http.sent
    assert sent.path == "/products/_search" and sent.method in ("GET", "POST")
    assert sent.json() == json.loads(json.dumps(search_body(request, timeout_ms=3000)))
    assert sent.timeout == 3.0
    assert [h.id for h in result.hits] == ["p1"] and result.facets["brand"][0] == FacetValue("Sony", 61)


def test_search_errors_map_to_the_port(engine, http):
    http.answer((200, {**search_response([]), "timed_out": True}))
    with pytest.raises(EngineUnavailable, match="timed out"):
        engine.search(SearchRequest(facets=()))
    http.answer((404, shapes.error_body(404, "index_not_found_exception", "no such index [products]",
                                        index="products")))
    with pytest.raises(IndexNotFound, match="no such index"):
        engine.search(SearchRequest(facets=()))
    http.answer((429, shapes.error_body(429, "circuit_breaking_exception", "[parent] Data too large")))
    with pytest.raises(EngineUnavailable, match="429"):
        engine.search(SearchRequest(facets=()))


def test_a_cursor_the_engine_rejects_is_invalid_request(engine, http):
    request = SearchRequest(sort=Sort.PRICE_ASC, facets=())
    cursor = encode_cursor(request, ["x", "p1"], 20)
    http.answer((400, shapes.error_body(400, "search_phase_execution_exception", "all shards failed")))
    with pytest.raises(InvalidRequest) as err:
        engine.search(SearchRequest(sort=Sort.PRICE_ASC, facets=(), cursor=cursor))
    assert err.value.parameter == "cursor"


# ---------------------------------------------------------------- suggest
def test_suggest_completes_the_last_word_of_visible_titles(engine, http):
    body = suggest_body("Noise canc", 50)
    assert body["query"]["bool"]["filter"] == VISIBLE
    head, last = body["query"]["bool"]["must"]
    assert head == {"multi_match": {"query": "Noise", "type": "best_fields", "fields": ["title", "title.exact"]}}
    assert last["multi_match"]["fields"] == ["title", "title.exact", "title.prefix"]
    assert body["size"] == 80  # MAX_SUGGEST_SIZE x 4: distinct titles are kept
    assert suggest_body("  !! ", 5) is None
    http.answer((200, search_response([hit("p9", [1.0, "p9"], title="Noise cancelling headphones")])))
    (suggestion,) = engine.suggest("noise canc", 5)
    assert (suggestion.text, suggestion.id) == ("Noise cancelling headphones", "p9")
    assert http.sent[0].json()["size"] == 20
    assert engine.suggest("   ") == [] and len(http.sent) == 1


def test_suggest_keeps_distinct_titles(engine, http):
    hits = [hit(f"p{i}", [1.0, f"p{i}"], title=t) for i, t in enumerate(["Mug", "mug", "MUG ", "Lamp", "Desk"])]
    http.answer((200, search_response(hits)))
    assert [s.text for s in engine.suggest("m", 2)] == ["Mug", "Lamp"]
