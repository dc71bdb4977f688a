"""moto tuning for the catalog's bulk reads (``storefront audit``, ``reindex``): DynamoDB
``Scan``/``Query``/``GetItem``/``BatchGetItem`` answers and S3 listing timestamps.

Installed and undone by :func:`sandbox.moto_host.tune_moto` (not with
``STOREFRONT_MOTO_TUNING=baseline``); each replacement answers as moto does, compared request by
request in tests/integration/sandbox/test_moto_tuning.py, and is listed in the README's table of
moto tuning.
"""

from __future__ import annotations

from typing import Any


# ---------------------------------------------------------------- DynamoDB Scan: one native sort per page
# moto's ``Table.scan`` answers every page by sorting the whole table with ``DynamoType.__lt__``
# (two ``cast_value`` property calls per comparison, ~3 us: ~0.9 s per page at 20,000 items) and
# then walking it from the first item to ``ExclusiveStartKey``, building a ``DynamoType`` of the
# key for every item of the segment it passes: a paged scan cost O(table) per page, O(table^2)
# per scan. The replacement sorts the same items by the same values with native comparisons
# (``cast_value`` is what ``DynamoType.__lt__`` compares; a key's type is fixed by the schema),
# finds the start with a binary search using moto's own ``_item_comes_before_dct`` (monotone over
# that order), and hands the rest of the list to moto's own ``scan`` without a start key: the same
# loop then applies segments, ``Limit``, the 1 MB page limit, filters, projection, ``Count``,
# ``ScannedCount`` and ``LastEvaluatedKey``. Index scans, and any start key or key value the fast
# path does not expect, go to moto's own ``scan`` unchanged (its errors included).
def _native(value: Any) -> Any:
    return value.value if value.type in ("S", "B") else value.cast_value


def _table_order(item: Any) -> Any:
    """moto's ``all_items`` sort key, with each ``DynamoType`` replaced by what its ``__lt__`` compares."""
    return (_native(item.hash_key), _native(item.range_key)) if item.range_key else _native(item.hash_key)


class _Rows:
    """A table whose ``all_items()`` is a given list (the rest of it is the table's)."""

    def __init__(self, table: Any, items: list[Any]) -> None:
        self._table = table
        self._items = items

    def all_items(self) -> list[Any]:
        return self._items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def scan_from_start_key(original: Any) -> Any:
    import bisect

    def scan(self: Any, filters: dict[str, Any], limit: int, exclusive_start_key: dict[str, Any] | None,
             filter_expression: Any = None, index_name: str | None = None, consistent_read: bool = False,
             projection_expression: Any = None, segments: Any = (None, None)) -> Any:
        rest = (filters, limit, exclusive_start_key, filter_expression, index_name, consistent_read,
                projection_expression)
        if index_name:
            return original(self, *rest, segments=segments)
        key_attrs = [a for a in (self.hash_key_attr, self.range_key_attr) if a is not None]
        if exclusive_start_key is not None and not (
                isinstance(exclusive_start_key, dict)
                and all(isinstance(exclusive_start_key.get(a), dict) and exclusive_start_key[a] for a in key_attrs)):
            return original(self, *rest, segments=segments)
        try:
            items = []
            for hash_set in self.items.values():
                if self.range_key_attr:
                    items.extend(hash_set.values())
                else:
                    items.append(hash_set)
            items.sort(key=_table_order)
            start = 0
            if exclusive_start_key is not None:
                hash_attrs, range_attrs = [self.hash_key_attr], [self.range_key_attr]

                def after_start(item: Any) -> bool:
                    return not self._item_comes_before_dct(item, exclusive_start_key, hash_attrs, range_attrs, True)

                start = bisect.bisect_left(items, True, key=after_start)
        except Exception:  # an order or a start key moto would treat its own way (or fail on): moto's scan
            return original(self, *rest, segments=segments)
        return original(_Rows(self, items[start:]), filters, limit, None, filter_expression, index_name,
                        consistent_read, projection_expression, segments=segments)

    return scan


# ---------------------------------------------------------------- DynamoDB items written with json.dumps
# moto writes every DynamoDB answer through its generic, model-driven serializer, which looks up
# each member of the botocore shape of every AttributeValue of every item (ten members, each
# tried under two names through alias providers): ~70% of moto's time answering a Scan or a
# BatchGetItem of 100-500 catalog items. For the answers made of items (Scan, Query, GetItem,
# BatchGetItem) the items are written here by the same rules (the AttributeValue members in
# the shape's order, strings through ``str``, binary as base64, booleans as they are kept, maps
# and lists recursively); everything else of the answer (counts, ConsumedCapacity,
# UnprocessedKeys, status, headers) is still moto's serializer's, which writes the answer with
# the items left out; the items are put back in their places. Anything the fast writer does
# not expect sends the whole answer to moto's serializer.
_ITEM_MEMBERS = {"Scan": {"Items": "list", "LastEvaluatedKey": "map"},
                 "Query": {"Items": "list", "LastEvaluatedKey": "map"},
                 "GetItem": {"Item": "map"}, "BatchGetItem": {"Responses": "tables"}}


class _NotAnItem(Exception):
    """A value the fast writer leaves to moto's serializer."""


def _string(value: Any) -> Any:
    return str(value) if value not in [None, {}, []] else value  # moto's JSON string rule


def _blob(value: Any) -> str:
    import base64

    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray):
        raise _NotAnItem(type(value).__name__)
    return base64.b64encode(value).strip().decode("utf-8")


def _attribute_value(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise _NotAnItem(repr(value)[:80])
    (kind, inner), = value.items()
    if inner is None:
        return {}
    if kind in ("S", "N"):
        return {kind: _string(inner)}
    if kind in ("NULL", "BOOL"):
        return {kind: inner}
    if kind == "M":
        return {kind: _attribute_map(inner)}
    if not isinstance(inner, list):
        raise _NotAnItem(kind)
    if kind in ("SS", "NS"):
        return {kind: [_string(v) for v in inner]}
    if kind == "BS":
        return {kind: [_blob(v) for v in inner]}
    if kind == "L":
        return {kind: [_attribute_value(v) if v is not None else None for v in inner]}
    if kind == "B":
        return {kind: _blob(inner)}
    raise _NotAnItem(kind)


def _attribute_map(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _NotAnItem(type(item).__name__)
    return {name: _attribute_value(value) for name, value in item.items() if value is not None}


def _items_of(kind: str, value: Any) -> Any:
    if kind == "map":
        return _attribute_map(value)
    if kind == "list":
        if not isinstance(value, list):
            raise _NotAnItem("list")
        return [_attribute_map(item) for item in value]
    if not isinstance(value, dict):
        raise _NotAnItem("tables")
    return {table: _items_of("list", items) for table, items in value.items()}


def items_as_json(original: Any) -> Any:
    def execute_result(self: Any, context: Any) -> Any:
        import json

        from moto import settings
        from moto.core.responses import ActionResult

        members = _ITEM_MEMBERS.get(str(context.operation_model.name))
        result = self.result
        if members is None or not isinstance(result, dict) or context.operation_model.service_model.protocol != "json":
            return original(self, context)
        light, items = dict(result), {}
        try:
            for name, kind in members.items():
                if light.get(name) is not None:
                    items[name] = _items_of(kind, light[name])
                    light[name] = [] if kind == "list" else {}
        except _NotAnItem:
            return original(self, context)
        status, headers, body = original(ActionResult(light), context)
        if not items:
            return status, headers, body
        answer = json.loads(body)
        if not all(name in answer for name in items):
            return original(self, context)
        answer.update(items)  # same keys: each keeps its place
        return status, headers, json.dumps(answer, indent=4 if settings.PRETTIFY_RESPONSES else None)

    return execute_result


# ---------------------------------------------------------------- timestamps written once per value
# moto's serializer writes a timestamp kept as a string (S3's ``LastModified`` of every listed
# object) by parsing it with dateutil and formatting it again: about a third of a 1,000-key
# ListObjectsV2 answer. The result is a function of the string and the format, so it is
# remembered (for strings only; other values go to moto's own method each time).
TIMESTAMP_MEMO_SIZE = 65536


def memo_timestamps(original: Any) -> Any:
    memo: dict[tuple[type, str, str], Any] = {}

    def _convert_timestamp_to_str(self: Any, value: Any, timestamp_format: str) -> Any:
        if type(value) is not str:
            return original(self, value, timestamp_format)
        key = (type(self), value, timestamp_format)
        try:
            return memo[key]
        except KeyError:
            pass
        out = original(self, value, timestamp_format)
        if len(memo) >= TIMESTAMP_MEMO_SIZE:
            memo.clear()
        memo[key] = out
        return out

    return _convert_timestamp_to_str


# ---------------------------------------------------------------- DynamoDB items to plain values
# ``DynamoResult`` first turns the answer into plain values with ``dynamo_to_dict``, which tests
# every node against datetime, DynamoType, ``to_json``, dict and list (an import and five
# isinstance/hasattr calls per attribute). The same conversion with a type switch for the nodes
# of items (DynamoType, exact dicts, moto's item attribute dict, lists, strings); any other node
# goes to moto's own function.
def plain_items(original: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    def dynamo_to_dict(obj: Any) -> Any:
        kind = type(obj)
        if kind is DynamoType and obj.type not in ("B", "BS"):
            value = obj.value
            return {obj.type: value if type(value) is str else dynamo_to_dict(value)}
        if kind is dict or kind is LimitedSizeDict:
            return {k: dynamo_to_dict(v) for k, v in obj.items()}
        if kind is list:
            return [dynamo_to_dict(v) for v in obj]
        if kind is str or kind is int or kind is bool or obj is None:
            return obj
        return original(obj)

    return dynamo_to_dict
