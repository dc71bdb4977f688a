"""Every field the adapter's requests name exists in the index body built from the
schema: with ``dynamic: strict`` and sub-fields such as ``brand.exact``, a name the
mapping does not have silently matches nothing (queries) or fails every write."""

from __future__ import annotations

from catalog.engine import SearchRequest, Sort
from catalog.engine.opensearch.admin import purge_queries
from catalog.engine.opensearch.query import visible_query
from catalog.engine.opensearch.search import search_body
from catalog.engine.opensearch.states import iter_states_body
from catalog.engine.opensearch.suggest import suggest_body
from catalog.schema import opensearch_index_body

FIELD_KEYED = {"term", "terms", "range", "match", "match_phrase_prefix"}


def mapped_paths() -> set[str]:
    paths = set()
    for name, prop in opensearch_index_body()["mappings"]["properties"].items():
        paths.add(name)
        for sub in prop.get("fields", {}):
            paths.add(f"{name}.{sub}")
            assert "fields" not in prop["fields"][sub], f"{name}.{sub}: multi-field inside a multi-field"
    return paths


def referenced_fields(node, out=None) -> set[str]:
    out = set() if out is None else out
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                out.add(value)
            elif key == "fields" and isinstance(value, list):
                out.update(v.split("^")[0] for v in value)
            elif key in FIELD_KEYED and isinstance(value, dict) and "field" not in value:  # a query, not an agg
                out.update(value)
            elif key == "sort" and isinstance(value, list):
                out.update(k for clause in value for k in ([clause] if isinstance(clause, str) else clause)
                           if k != "_score")
            elif key == "highlight" and isinstance(value, dict):
                out.update(value["fields"])
            elif key == "_source" and isinstance(value, list):
                out.update(value)
            referenced_fields(value, out)
    elif isinstance(node, list):
        for value in node:
            referenced_fields(value, out)
    return out


def test_every_field_the_requests_name_is_mapped():
    bodies = [
        search_body(SearchRequest(text="wireless headphones", categories=("Audio > Headphones",), brands=("Sony",),
                                  price_min=1, price_max=2, in_stock=True, rating_min=3)),
        *(search_body(SearchRequest(text="lamp", sort=s, facets=())) for s in Sort),
        suggest_body("noise canc", 5),
        visible_query(),
        iter_states_body(10, "p1"),
        *purge_queries(0),
    ]
    named = set()
    for body in bodies:
        referenced_fields(body, named)
    assert named  # the walk found the names
    assert {"title.prefix", "title.exact", "brand.text", "category_path.key", "tombstoned_at"} <= named
    assert named <= mapped_paths(), sorted(named - mapped_paths())
