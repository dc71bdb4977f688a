"""Small hand-built products and content for the contract suite."""

from __future__ import annotations

from typing import Any

from catalog.engine.port import SearchEngine, SearchRequest
from catalog.model import Content, Product


def product(pid: str, version: int = 1, **fields: Any) -> Product:
    values: dict[str, Any] = {
        "title": f"Plain item {pid}",
        "brand": "Acme",
        "category": "Misc > General > Other",
        "price": 10.0,
        "currency": "USD",
        "in_stock": True,
        "description": "",
        "rating": 4.0,
        "review_count": 3,
        "tags": (),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }
    values.update(fields)
    return Product(id=pid, version=version, **values)


def content(pid: str, version: int = 1, text: str = "", **specs: str) -> Content:
    return Content(id=pid, version=version, long_description=text, specifications=specs,
                   images=(f"https://img.example.com/{pid}.jpg",))


def ids(engine: SearchEngine, **request: Any) -> list[str]:
    request.setdefault("facets", ())
    request.setdefault("size", 100)
    return [h.id for h in engine.search(SearchRequest(**request)).hits]


def walk(engine: SearchEngine, size: int = 7, **request: Any) -> list[str]:
    """Every id a cursor walk returns, in order (fails on a cycle)."""
    request.setdefault("facets", ())
    out: list[str] = []
    cursor = None
    for _ in range(10_000):
        result = engine.search(SearchRequest(size=size, cursor=cursor, **request))
        out.extend(h.id for h in result.hits)
        cursor = result.next_cursor
        if cursor is None:
            return out
    raise AssertionError("cursor walk did not end")
