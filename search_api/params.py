"""Query parameters: ONE declarative table per route, from which both the validator and
the OpenAPI document (:mod:`search_api.openapi`) are generated.

Limits and facet names come from :mod:`catalog.schema`; sort orders from
:class:`catalog.engine.port.Sort`. Nothing here restates them.

Values arrive as API Gateway hands them over: ``multiValueQueryStringParameters``
(name -> list of strings, already percent-decoded) or, failing that,
``queryStringParameters``. Every problem raises :class:`ParameterError` naming the
parameter; unknown parameters are rejected (a typo in a filter must not widen results).
Text is passed on raw: the engine adapters normalise (:mod:`catalog.text`) and tokenise
it, and it never reaches a query-string parser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.convert import MAX_ID_LEN, TransformError, validate_id
from catalog.engine.port import InvalidRequest, SearchRequest, Sort
from catalog.schema import (
    DEFAULT_PAGE_SIZE,
    FACET_NAMES,
    MAX_DEPTH,
    MAX_FILTER_VALUES,
    MAX_PAGE_SIZE,
    MAX_QUERY_CHARS,
    MAX_SUGGEST_SIZE,
)

MAX_CURSOR_CHARS = 2048  # an opaque token: generous, but bounded
DEFAULT_SUGGEST_SIZE = 10

_INTEGER = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would take "١٢", "1_0", " 7"
_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})")


class ParameterError(ValueError):
    """A query or path parameter is invalid; answered 400 ``invalid_parameter``."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")


@dataclass(frozen=True)
class Param:
    """One query parameter: its type, bounds and documentation.

    ``kind`` is ``string``, ``integer``, ``number``, ``boolean``, ``enum`` (one of
    ``choices``), ``list`` (comma-separated ``choices``) or ``string[]`` (repeatable).
    """

    name: str
    kind: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None  # characters of one value
    max_items: int | None = None  # repeatable: how many values
    choices: tuple[str, ...] = ()
    default: Any = None
    example: str | None = None

    @property
    def repeatable(self) -> bool:
        return self.kind == "string[]"


def _text(value: str, param: Param) -> str:
    if param.max_length is not None and len(value) > param.max_length:
        raise ParameterError(param.name, f"must be at most {param.max_length} characters, got {len(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParameterError(param.name, "is not valid UTF-8 text") from None
    if "\x00" in value:
        raise ParameterError(param.name, "must not contain NUL characters")
    return value


def _bounded(number: float, param: Param, what: str) -> None:
    if param.minimum is not None and number < param.minimum:
        raise ParameterError(param.name, f"must be {what} >= {_fmt(param.minimum)}, got {_fmt(number)}")
    if param.maximum is not None and number > param.maximum:
        raise ParameterError(param.name, f"must be {what} <= {_fmt(param.maximum)}, got {_fmt(number)}")


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e15 else repr(float(number))


def _integer(value: str, param: Param) -> int:
    if not _INTEGER.fullmatch(value):
        raise ParameterError(param.name, f"must be a whole number, got {_show(value)}")
    number = int(value)
    _bounded(number, param, "a whole number")
    return number


def _number(value: str, param: Param) -> float:
    if not _NUMBER.fullmatch(value):
        raise ParameterError(param.name, f"must be a decimal number, got {_show(value)}")
    number = float(value)
    if not math.isfinite(number):  # pragma: no cover - the pattern admits no inf/nan
        raise ParameterError(param.name, "must be a finite number")
    _bounded(number, param, "a number")
    return number


def _boolean(value: str, param: Param) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise ParameterError(param.name, f"must be true or false, got {_show(value)}")


def _enum(value: str, param: Param) -> str:
    if value not in param.choices:
        raise ParameterError(param.name, f"must be one of {', '.join(param.choices)}, got {_show(value)}")
    return value


def _choice_list(value: str, param: Param) -> tuple[str, ...]:
    chosen: list[str] = []
    for part in (p.strip() for p in value.split(",")) if value.strip() else ():
        if part not in param.choices:
            raise ParameterError(param.name, f"each entry must be one of {', '.join(param.choices)}, "
                                             f"got {_show(part)}")
        if part not in chosen:
            chosen.append(part)
    return tuple(chosen)


def _show(value: str, limit: int = 40) -> str:
    """A user's value, quoted and shortened, safe to echo in a message."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return repr(shown.encode("utf-8", "backslashreplace").decode("utf-8"))


_PARSERS: dict[str, Callable[[str, Param], Any]] = {
    "string": _text,
    "string[]": _text,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "enum": _enum,
    "list": _choice_list,
}

# ---------------------------------------------------------------- the tables
SEARCH_PARAMS: tuple[Param, ...] = (
    Param("q", "string", "Search text; empty browses everything. Unicode-normalised and case-folded.",
          max_length=MAX_QUERY_CHARS, default="", example="wireless headphones"),
    Param("category", "string[]", "Category path (repeatable, any of); a path also matches its descendants, "
          "e.g. `Audio > Headphones`. Use the values of the `category` facet.",
          max_length=MAX_QUERY_CHARS, max_items=MAX_FILTER_VALUES, example="Audio > Headphones"),
    Param("brand", "string[]", "Brand (repeatable, any of); matched case- and accent-insensitively.",
          max_length=MAX_QUERY_CHARS, max_items=MAX_FILTER_VALUES, example="Sony"),
    Param("price_min", "number", "Lowest price (inclusive).", minimum=0, example="25"),
    Param("price_max", "number", "Highest price (inclusive); not below `price_min`.", minimum=0, example="250"),
    Param("in_stock", "boolean", "Only products in stock (`true`) or out of stock (`false`).", example="true"),
    Param("rating_min", "number", "Lowest average rating.", minimum=0, maximum=5, example="4"),
    Param("sort", "enum", "Result order.", choices=tuple(s.value for s in Sort), default=Sort.RELEVANCE.value,
          example="price_asc"),
    Param("size", "integer", "Hits per page.", minimum=1, maximum=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE,
          example="20"),
    Param("page", "integer", f"Page number; `page` x `size` at most {MAX_DEPTH}. Deeper: use `cursor`.",
          minimum=1, maximum=MAX_DEPTH, default=1, example="2"),
    Param("cursor", "string", "The `next_cursor` of a previous response (not together with `page`).",
          max_length=MAX_CURSOR_CHARS),
    Param("facets", "list", "Comma-separated facets to compute (empty for none).",
          choices=FACET_NAMES, default=",".join(FACET_NAMES), example="brand,price"),
)

SUGGEST_PARAMS: tuple[Param, ...] = (
    Param("q", "string", "The prefix typed so far (the last word completes as a prefix).",
          max_length=MAX_QUERY_CHARS, default="", example="sen"),
    Param("size", "integer", "How many suggestions.", minimum=1, maximum=MAX_SUGGEST_SIZE,
          default=DEFAULT_SUGGEST_SIZE, example="5"),
)

NO_PARAMS: tuple[Param, ...] = ()

ID_PARAM = Param("id", "string", "Product id.", max_length=MAX_ID_LEN, example="p000042")


# ---------------------------------------------------------------- parsing
def collect(multi: Mapping[str, Sequence[str]] | None, single: Mapping[str, str] | None) -> dict[str, list[str]]:
    """The query string of an API Gateway REST event as name -> values.

    API Gateway fills both maps; the multi-value one keeps every repeated value.
    """
    if multi:
        return {str(k): [str(v) for v in (vs if isinstance(vs, list | tuple) else [vs])] for k, vs in multi.items()}
    if single:
        return {str(k): [str(v)] for k, v in single.items()}
    return {}


def parse(table: Sequence[Param], query: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Validate ``query`` against ``table``: name -> parsed value, only for given names."""
    known = {p.name: p for p in table}
    for name in sorted(query):
        if name not in known:
            expected = ", ".join(known) if known else "none"
            raise ParameterError(name if name else "(empty name)", f"unknown parameter (accepted: {expected})")
    out: dict[str, Any] = {}
    for param in table:
        values = query.get(param.name)
        if values is None:
            continue
        if param.repeatable:
            if param.max_items is not None and len(values) > param.max_items:
                raise ParameterError(param.name, f"at most {param.max_items} values, got {len(values)}")
            parsed = []
            for value in values:
                text = _text(value, param).strip()
                if not text:
                    raise ParameterError(param.name, "must not be empty")
                if text not in parsed:
                    parsed.append(text)
            out[param.name] = tuple(parsed)
            continue
        if len(values) != 1:
            raise ParameterError(param.name, f"given {len(values)} times; give it once")
        out[param.name] = _PARSERS[param.kind](values[0], param)
    return out


def search_request(query: Mapping[str, Sequence[str]]) -> SearchRequest:
    """The validated :class:`SearchRequest` for a ``GET /search`` query string."""
    p = parse(SEARCH_PARAMS, query)
    if "cursor" in p and "page" in p:
        raise ParameterError("cursor", "cannot be combined with page")
    if "cursor" in p and not p["cursor"]:
        raise ParameterError("cursor", "must not be empty")
    if "price_min" in p and "price_max" in p and p["price_min"] > p["price_max"]:
        raise ParameterError("price_min", f"must not exceed price_max ({_fmt(p['price_max'])})")
    try:
        return SearchRequest(
            text=p.get("q", ""),
            categories=p.get("category", ()),
            brands=p.get("brand", ()),
            price_min=p.get("price_min"),
            price_max=p.get("price_max"),
            in_stock=p.get("in_stock"),
            rating_min=p.get("rating_min"),
            sort=Sort(p.get("sort", Sort.RELEVANCE.value)),
            size=p.get("size", DEFAULT_PAGE_SIZE),
            page=p.get("page", 1),
            cursor=p.get("cursor"),
            facets=p.get("facets", FACET_NAMES),
        )
    except InvalidRequest as exc:  # the port's own checks (depth): same 400, same naming
        raise ParameterError(exc.parameter, exc.message) from None


def suggest_request(query: Mapping[str, Sequence[str]]) -> tuple[str, int]:
    """``(prefix, size)`` for a ``GET /suggest`` query string."""
    p = parse(SUGGEST_PARAMS, query)
    return p.get("q", ""), p.get("size", DEFAULT_SUGGEST_SIZE)


def product_id(value: str) -> str:
    """A product id from the path, checked with the catalog's own id rule."""
    _text(value, ID_PARAM)
    try:
        return validate_id(value)
    except TransformError as exc:
        raise ParameterError(ID_PARAM.name, exc.reason) from None
