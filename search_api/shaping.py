"""Engine results -> response bodies (plain dicts, in the shapes the OpenAPI document gives)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.engine.port import FacetValue, Hit, RangeBucket, SearchRequest, SearchResult, Suggestion
from catalog.model import Content, Product
from catalog.schema import HIGHLIGHTED

HIGHLIGHT_FIELDS: tuple[str, ...] = tuple(f.name for f in HIGHLIGHTED)


def hit_body(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "title": hit.title,
        "brand": hit.brand,
        "category": hit.category,
        "price": hit.price,
        "currency": hit.currency,
        "rating": hit.rating,
        "review_count": hit.review_count,
        "in_stock": hit.in_stock,
        "image_url": hit.image_url,
        "highlight": {name: hit.highlight.get(name) for name in HIGHLIGHT_FIELDS},
    }


def _facet_entries(entries: Sequence[FacetValue | RangeBucket]) -> list[dict[str, Any]]:
    if entries and isinstance(entries[0], RangeBucket):
        return [{"from": e.from_, "to": e.to, "count": e.count} for e in entries]  # type: ignore[union-attr]
    return [{"value": e.value, "count": e.count} for e in entries]  # type: ignore[union-attr]


def search_body(request: SearchRequest, result: SearchResult, region: str) -> dict[str, Any]:
    """The ``GET /search`` body without ``took_ms`` (added last, outside the ETag)."""
    facets: Mapping[str, Sequence[FacetValue | RangeBucket]] = result.facets
    return {
        "hits": [hit_body(h) for h in result.hits],
        "total": {"value": result.total.value, "relation": result.total.relation},
        "facets": {name: _facet_entries(facets.get(name, ())) for name in request.facets},
        "page": None if request.cursor is not None else request.page,
        "size": request.size,
        "next_cursor": result.next_cursor,
        "region": region,
    }


def suggest_body(suggestions: Sequence[Suggestion], region: str) -> dict[str, Any]:
    return {"suggestions": [{"text": s.text, "id": s.id} for s in suggestions], "region": region}


def product_body(product: Product, content: Content | None, region: str) -> dict[str, Any]:
    """``GET /products/{id}``: the item fields, the rich content (or nulls), the region."""
    return {
        "id": product.id,
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": product.price,
        "currency": product.currency,
        "rating": product.rating,
        "review_count": product.review_count,
        "in_stock": product.in_stock,
        "image_url": product.image_url,
        "description": product.description,
        "tags": list(product.tags),
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "version": product.version,
        "content": None if content is None else {
            "long_description": content.long_description,
            "specifications": dict(content.specifications),
            "images": list(content.images),
            "version": content.version,
        },
        "region": region,
    }
