"""Conversions: DynamoDB stream image -> item -> :class:`Product` -> search document,
and S3 content JSON -> :class:`Content` -> search document fields.

Every number leaves here with one fixed type per field (DynamoDB hands out ``Decimal``;
a field seen as long and then as float would break an OpenSearch mapping). A malformed
item or content raises :class:`TransformError` naming the field and the reason; the
indexer routes such records to its dead-letter queue.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from catalog.model import CATEGORY_SEPARATOR, Content, Product, category_ancestors, split_category
from catalog.schema import subfield

MAX_ID_LEN = 256
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")  # also published in the OpenAPI document
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class TransformError(ValueError):
    """A record cannot become a search document. ``field`` names the culprit."""

    def __init__(self, field: str, reason: str, product_id: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.product_id = product_id
        who = f"product {product_id!r}: " if product_id else ""
        super().__init__(f"{who}{field}: {reason}")


# ---------------------------------------------------------------- DynamoDB typed values
def _av(value: Mapping[str, Any], path: str) -> Any:
    # exact-dict fast path: an ABC isinstance check per attribute costs ~15% of the indexer's decoding
    if (type(value) is not dict and not isinstance(value, Mapping)) or len(value) != 1:
        raise TransformError(path, "not a DynamoDB attribute value")
    (tag, raw), = value.items()
    if tag == "S":
        return raw
    if tag == "N":
        try:
            return Decimal(raw)
        except (InvalidOperation, TypeError):
            raise TransformError(path, f"bad number {raw!r}") from None
    if tag == "BOOL":
        return bool(raw)
    if tag == "NULL":
        return None
    if tag == "L":
        try:
            return [_av(v, path) for v in raw]
        except TransformError:  # name the element only on the error path (no f-string per element)
            for i, v in enumerate(raw):
                _av(v, f"{path}[{i}]")
            raise
    if tag == "M":
        return {k: _av(v, f"{path}.{k}") for k, v in raw.items()}
    if tag == "SS":
        return set(raw)
    if tag == "NS":
        return {Decimal(n) for n in raw}
    if tag == "B" or tag == "BS":
        raise TransformError(path, "binary attributes are not part of the product model")
    raise TransformError(path, f"unknown attribute type {tag!r}")


def deserialize_image(image: Mapping[str, Any]) -> dict[str, Any]:
    """A stream ``NewImage``/``OldImage`` (typed attribute values) -> plain item."""
    if not isinstance(image, Mapping):
        raise TransformError("<image>", "stream image is not a map")
    return {k: _av(v, k) for k, v in image.items()}


# ---------------------------------------------------------------- item -> Product
def _str(item: Mapping[str, Any], name: str, pid: str | None, *, required: bool = True,
         max_len: int = 10_000) -> str | None:
    value = item.get(name)
    if value is None:
        if required:
            raise TransformError(name, "is required", pid)
        return None
    if not isinstance(value, str):
        raise TransformError(name, f"expected a string, got {type(value).__name__}", pid)
    if len(value) > max_len:
        raise TransformError(name, f"longer than {max_len} characters", pid)
    return value


def _number(item: Mapping[str, Any], name: str, pid: str | None, *, lo: float, hi: float,
            required: bool = True) -> float | None:
    value = item.get(name)
    if value is None:
        if required:
            raise TransformError(name, "is required", pid)
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise TransformError(name, f"expected a number, got {type(value).__name__}", pid)
    f = float(value)
    if not math.isfinite(f) or not lo <= f <= hi:
        raise TransformError(name, f"must be between {lo:g} and {hi:g}, got {value}", pid)
    return f


def _integer(item: Mapping[str, Any], name: str, pid: str | None, *, lo: int, hi: int,
             required: bool = True, default: int = 0) -> int:
    value = item.get(name)
    if value is None:
        if required:
            raise TransformError(name, "is required", pid)
        return default
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise TransformError(name, f"expected an integer, got {type(value).__name__}", pid)
    if isinstance(value, Decimal | float) and value != int(value):
        raise TransformError(name, f"expected an integer, got {value}", pid)
    i = int(value)
    if not lo <= i <= hi:
        raise TransformError(name, f"must be between {lo} and {hi}, got {i}", pid)
    return i


def _timestamp(item: Mapping[str, Any], name: str, pid: str | None) -> str | None:
    value = _str(item, name, pid, required=False, max_len=64)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TransformError(name, f"not an ISO-8601 timestamp: {value!r}", pid) from None
    if parsed.tzinfo is None:
        raise TransformError(name, f"timestamp needs a time zone (e.g. 'Z'): {value!r}", pid)
    return parsed.isoformat().replace("+00:00", "Z")


def validate_id(value: Any, field: str = "id") -> str:
    if not isinstance(value, str) or not value:
        raise TransformError(field, "is required and must be a non-empty string")
    if len(value) > MAX_ID_LEN or not ID_PATTERN.fullmatch(value):
        raise TransformError(field, f"must be 1-{MAX_ID_LEN} of A-Z a-z 0-9 . _ : - (got {value[:40]!r})")
    return value


def version_of(item: Mapping[str, Any], pid: str | None = None, field: str = "version") -> int:
    return _integer(item, field, pid, lo=1, hi=2**63 - 1)


def product_from_item(item: Mapping[str, Any]) -> Product:
    """A plain DynamoDB item (numbers as Decimal) -> validated :class:`Product`."""
    pid = validate_id(item.get("id"))
    category_levels = split_category(_str(item, "category", pid, max_len=500) or "")
    if not category_levels:
        raise TransformError("category", "must be a non-empty path like 'Audio > Headphones'", pid)
    currency = _str(item, "currency", pid, max_len=3)
    if not _CURRENCY.match(currency or ""):
        raise TransformError("currency", f"must be an ISO 4217 code like 'USD', got {currency!r}", pid)
    in_stock = item.get("in_stock")
    if not isinstance(in_stock, bool):
        raise TransformError("in_stock", "is required and must be true or false", pid)
    tags_raw = item.get("tags") or []
    if isinstance(tags_raw, set):
        tags_raw = sorted(tags_raw)
    if not isinstance(tags_raw, list) or not all(isinstance(t, str) for t in tags_raw):
        raise TransformError("tags", "must be a list of strings", pid)
    if len(tags_raw) > 100:
        raise TransformError("tags", "more than 100 tags", pid)
    price = _number(item, "price", pid, lo=0, hi=10_000_000)
    return Product(
        id=pid,
        title=_str(item, "title", pid, max_len=1000) or "",
        brand=_str(item, "brand", pid, max_len=200) or "",
        category=CATEGORY_SEPARATOR.join(category_levels),
        price=round(price or 0.0, 2),
        currency=currency or "",
        in_stock=in_stock,
        version=version_of(item, pid),
        description=_str(item, "description", pid, required=False, max_len=100_000) or "",
        rating=_number(item, "rating", pid, lo=0, hi=5, required=False),
        review_count=_integer(item, "review_count", pid, lo=0, hi=2**31 - 1, required=False),
        tags=tuple(tags_raw),
        image_url=_str(item, "image_url", pid, required=False, max_len=2048),
        created_at=_timestamp(item, "created_at", pid),
        updated_at=_timestamp(item, "updated_at", pid),
    )


def item_from_product(product: Product) -> dict[str, Any]:
    """:class:`Product` -> the DynamoDB item a writer puts (numbers as Decimal, no Nones)."""
    item: dict[str, Any] = {
        "id": product.id,
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": Decimal(str(product.price)),
        "currency": product.currency,
        "in_stock": product.in_stock,
        "version": product.version,
        "review_count": product.review_count,
    }
    if product.description:
        item["description"] = product.description
    if product.rating is not None:
        item["rating"] = Decimal(str(product.rating))
    if product.tags:
        item["tags"] = list(product.tags)
    for name in ("image_url", "created_at", "updated_at"):
        if getattr(product, name):
            item[name] = getattr(product, name)
    return item


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain item -> DynamoDB typed attribute values (for stream-shaped test events)."""
    def av(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"BOOL": v}
        if v is None:
            return {"NULL": True}
        if isinstance(v, str):
            return {"S": v}
        if isinstance(v, int | float | Decimal):
            return {"N": str(v)}
        if isinstance(v, list | tuple):
            return {"L": [av(x) for x in v]}
        if isinstance(v, Mapping):
            return {"M": {k: av(x) for k, x in v.items()}}
        raise TypeError(f"cannot serialize {type(v).__name__}")
    return {k: av(v) for k, v in item.items()}


# ---------------------------------------------------------------- content
MAX_CONTENT_BYTES = 1024 * 1024


def content_from_json(product_id: str, body: bytes | str) -> Content:
    """The bytes of ``products/{id}.json`` -> validated :class:`Content`."""
    pid = validate_id(product_id)
    if len(body) > MAX_CONTENT_BYTES:
        raise TransformError("<content>", f"larger than {MAX_CONTENT_BYTES} bytes", pid)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TransformError("<content>", f"not valid JSON: {exc}", pid) from None
    if not isinstance(data, dict):
        raise TransformError("<content>", "must be a JSON object", pid)
    if "id" in data and data["id"] != pid:
        raise TransformError("id", f"is {data['id']!r} but the object key names {pid!r}", pid)
    specs = data.get("specifications") or {}
    if not isinstance(specs, dict) or not all(isinstance(k, str) for k in specs):
        raise TransformError("specifications", "must be an object of name -> value", pid)
    for key, value in specs.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TransformError(f"specifications.{key}", "must be a string or a number", pid)
    images = data.get("images") or []
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise TransformError("images", "must be a list of URLs", pid)
    long_description = data.get("long_description") or ""
    if not isinstance(long_description, str):
        raise TransformError("long_description", "must be a string", pid)
    return Content(
        id=pid,
        version=version_of(data, pid),
        long_description=long_description,
        specifications={k: str(v) for k, v in specs.items()},
        images=tuple(images),
    )


def content_to_json(content: Content) -> bytes:
    return json.dumps({
        "id": content.id,
        "version": content.version,
        "long_description": content.long_description,
        "specifications": dict(content.specifications),
        "images": list(content.images),
    }, ensure_ascii=False, separators=(",", ":")).encode()


# ---------------------------------------------------------------- search document fields
def item_fields(product: Product) -> dict[str, Any]:
    """The search-document fields that come from the item (schema ``Source.ITEM``)."""
    return {
        "id": product.id,
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        subfield("category", "path", "_"): list(category_ancestors(product.category)),
        "tags": list(product.tags),
        "description": product.description,
        "price": product.price,
        "currency": product.currency,
        "rating": product.rating,
        "review_count": product.review_count,
        "in_stock": product.in_stock,
        "image_url": product.image_url,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def specifications_text(specs: Mapping[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in specs.items())


def content_fields(content: Content | None) -> dict[str, Any]:
    """The search-document fields that come from the content (``None`` clears them)."""
    if content is None:
        return {"long_description": None, "specifications": None, "images": []}
    return {
        "long_description": content.long_description,
        "specifications": specifications_text(content.specifications),
        "images": list(content.images),
    }


def product_from_fields(fields: Mapping[str, Any], version: int) -> Product:
    """Rebuild a :class:`Product` from stored document fields (the inverse of item_fields)."""
    return Product(
        id=fields["id"],
        title=fields.get("title") or "",
        brand=fields.get("brand") or "",
        category=fields.get("category") or "",
        price=float(fields.get("price") or 0.0),
        currency=fields.get("currency") or "",
        in_stock=bool(fields.get("in_stock")),
        version=version,
        description=fields.get("description") or "",
        rating=None if fields.get("rating") is None else float(fields["rating"]),
        review_count=int(fields.get("review_count") or 0),
        tags=tuple(fields.get("tags") or ()),
        image_url=fields.get("image_url"),
        created_at=fields.get("created_at"),
        updated_at=fields.get("updated_at"),
    )
