"""Reading the sources of truth: a region's table (parallel scan, batch get) and its
bucket's ``products/`` objects. Bounded memory throughout: scans stream pages through
a small queue; callers work batch by batch.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from catalog.convert import TransformError, content_from_json, deserialize_image
from catalog.model import CONTENT_PREFIX, Content, content_key, product_id_from_key

_DONE = object()


def parallel_scan(ddb: Any, table: str, *, segments: int = 4, page_size: int = 500,
                  total_segments: int | None = None, only_segments: Sequence[int] | None = None,
                  consistent: bool = False) -> Iterator[list[dict[str, Any]]]:
    """Pages of plain items (numbers as Decimal) from a parallel scan of ``table``.

    ``segments`` threads each scan their segments; at most ``2 x segments`` pages wait
    in memory. ``total_segments``/``only_segments`` scan a subset (sampling).
    """
    total = total_segments or segments
    wanted = list(only_segments) if only_segments is not None else list(range(total))
    pages: queue.Queue[Any] = queue.Queue(maxsize=2 * segments)
    stop = threading.Event()
    errors: list[BaseException] = []
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for s in wanted:
        todo.put(s)

    def worker() -> None:
        try:
            while not stop.is_set():
                try:
                    segment = todo.get_nowait()
                except queue.Empty:
                    return
                kwargs: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": total,
                                          "Limit": page_size, "ConsistentRead": consistent}
                while not stop.is_set():
                    resp = ddb.scan(**kwargs)
                    items = [deserialize_image(i) for i in resp.get("Items", [])]
                    if items:
                        _put(pages, items, stop)
                    if "LastEvaluatedKey" not in resp:
                        break
                    kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        except BaseException as exc:  # reported to the consumer
            errors.append(exc)
        finally:
            _put(pages, _DONE, stop)

    n = max(1, min(segments, len(wanted)))
    threads = [threading.Thread(target=worker, daemon=True, name=f"scan-{i}") for i in range(n)]
    for t in threads:
        t.start()
    finished = 0
    try:
        while finished < n:
            page = pages.get()
            if page is _DONE:
                finished += 1
                continue
            yield page
        if errors:
            raise errors[0]
    finally:
        stop.set()
        while True:  # unblock workers waiting on a full queue
            try:
                pages.get_nowait()
            except queue.Empty:
                break
        for t in threads:
            t.join(timeout=5)


def _put(q: queue.Queue[Any], value: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(value, timeout=0.1)
            return
        except queue.Full:
            continue


def batches(it: Iterable[Any], n: int) -> Iterator[list[Any]]:
    """Lists of up to ``n`` consecutive elements of ``it``."""
    batch: list[Any] = []
    for x in it:
        batch.append(x)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def item_count(ddb: Any, table: str) -> int:
    """DynamoDB's approximate item count (refreshed about every six hours on AWS)."""
    return int(ddb.describe_table(TableName=table)["Table"].get("ItemCount", 0))


def sample_scan(ddb: Any, table: str, n: int, *, segments: int = 4, seed: int | None = None,
                per_segment: int = 50) -> Iterator[list[dict[str, Any]]]:
    """About ``n`` items from random segments of a fine-grained parallel scan: a random
    sample without reading the whole table."""
    count = item_count(ddb, table)
    total = max(1, min(1_000_000, count // per_segment))
    rng = random.Random(seed)
    order = list(range(total))
    rng.shuffle(order)
    needed = max(1, -(-n // per_segment))
    taken = 0
    for page in parallel_scan(ddb, table, segments=segments, total_segments=total,
                              only_segments=order[:needed] if total > 1 else None):
        if taken >= n:
            break
        page = page[: n - taken]
        taken += len(page)
        yield page


def batch_get(ddb: Any, table: str, ids: Sequence[str], *, consistent: bool = False) -> dict[str, dict[str, Any]]:
    """id -> plain item for the ids that exist (BatchGetItem, 100 keys a call, unprocessed retried)."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 100):
        keys = [{"id": {"S": pid}} for pid in dict.fromkeys(ids[i:i + 100])]
        request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": consistent}}
        delay = 0.05
        while request:
            resp = ddb.batch_get_item(RequestItems=request)
            for raw in resp.get("Responses", {}).get(table, []):
                item = deserialize_image(raw)
                out[item["id"]] = item
            request = resp.get("UnprocessedKeys") or {}
            if request:
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
    return out


def get_item(ddb: Any, table: str, product_id: str) -> dict[str, Any] | None:
    resp = ddb.get_item(TableName=table, Key={"id": {"S": product_id}}, ConsistentRead=True)
    return deserialize_image(resp["Item"]) if "Item" in resp else None


class ContentRead:
    """The content object of one id: ``content`` (None if absent), or ``error`` if it is unreadable."""

    __slots__ = ("content", "error", "id")

    def __init__(self, product_id: str, content: Content | None, error: str | None = None) -> None:
        self.id = product_id
        self.content = content
        self.error = error


def read_content(s3: Any, bucket: str, product_id: str) -> ContentRead:
    try:
        body = s3.get_object(Bucket=bucket, Key=content_key(product_id))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return ContentRead(product_id, None)
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return ContentRead(product_id, None)
        raise
    try:
        return ContentRead(product_id, content_from_json(product_id, body))
    except TransformError as exc:
        return ContentRead(product_id, None, str(exc))


def read_contents(s3: Any, bucket: str, ids: Iterable[str], pool: ThreadPoolExecutor) -> dict[str, ContentRead]:
    ids = list(ids)
    return dict(zip(ids, pool.map(lambda pid: read_content(s3, bucket, pid), ids), strict=True))


def list_content(s3: Any, bucket: str) -> Iterator[tuple[str, str]]:
    """(product id, ETag) of every ``products/{id}.json`` object, in key order."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=CONTENT_PREFIX):
        for obj in page.get("Contents", []):
            pid = product_id_from_key(obj["Key"])
            if pid is not None:
                yield pid, obj["ETag"]
