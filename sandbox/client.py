"""Small HTTP and catalog helpers the CLI, the demo, the tests and the benchmark share."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from catalog.config import DeploymentConfig
from catalog.convert import content_to_json, item_from_product
from catalog.generator import Generated, generate
from catalog.model import content_key
from catalog.progress import ProgressFactory, silent
from sandbox.aws import OPERATOR_CREDENTIALS, client


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def region(self) -> str | None:
        return self.headers.get("x-served-region")


def get(base_url: str, path: str, params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        timeout: float = 10.0) -> HttpAnswer:
    """GET ``base_url + path`` with query ``params`` (lists repeat the parameter); JSON decoded."""
    query = ""
    if params:
        pairs: list[tuple[str, Any]] = []
        items = params.items() if isinstance(params, Mapping) else params
        for k, v in items:
            if v is None:
                continue
            if isinstance(v, list | tuple):
                pairs.extend((k, x) for x in v)
            else:
                pairs.append((k, v))
        query = "?" + urlencode(pairs)
    req = urllib.request.Request(base_url.rstrip("/") + path + query, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, headers, raw = err.code, err.headers, err.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return HttpAnswer(status, {k.lower(): v for k, v in headers.items()}, body)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``timeout``."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(interval)


def search_total(base_url: str, params: Mapping[str, Any] | None = None) -> int | None:
    """``total.value`` of a one-hit search, or None if the region does not answer 200."""
    try:
        answer = get(base_url, "/search", {"size": 1, "facets": "", **(params or {})}, timeout=5.0)
    except OSError:
        return None
    if answer.status != 200 or not isinstance(answer.body, dict):
        return None
    return int(answer.body["total"]["value"])


def wait_for_count(base_url: str, n: int, timeout: float) -> float | None:
    """Seconds until the region's index shows ``n`` products, or None after ``timeout``."""
    return wait_until(lambda: search_total(base_url) == n, timeout, interval=0.25)


def content_settled(cfg: DeploymentConfig, aws_endpoint: str) -> bool:
    """Every content queue is drained (its approximate counts are 0) and every bucket holds as
    many ``products/`` objects as the primary: the indexes have all the content. The queues are
    asked first: two cheap calls per region, where a listing is a page per 1,000 objects, so
    the buckets are listed only once the queues say the work is done."""
    for region in cfg.regions:
        sqs = client("sqs", region, aws_endpoint)
        url = sqs.get_queue_url(QueueName=cfg.queue_name(region))["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if any(v != "0" for v in attrs.values()):
            return False
    counts = []
    for region in cfg.regions:
        s3 = client("s3", region, aws_endpoint)
        n, token = 0, None
        while True:
            kw = {"Bucket": cfg.bucket_name(region), "Prefix": "products/"}
            page = s3.list_objects_v2(**kw, **({"ContinuationToken": token} if token else {}))
            n += page.get("KeyCount", 0)
            token = page.get("NextContinuationToken")
            if not token:
                break
        counts.append(n)
    return len(set(counts)) == 1


def wait_for_load(cfg: DeploymentConfig, endpoints: Any, n: int, timeout: float) -> float | None:
    """Seconds until every region's index shows ``n`` products and all content is indexed."""
    start = time.monotonic()
    for url in endpoints.regions.values():
        if wait_for_count(url, n, timeout - (time.monotonic() - start)) is None:
            return None
    # queue counts are approximate for up to a second: require two settled readings in a row
    settled = [False]

    def twice() -> bool:
        ok = content_settled(cfg, endpoints.aws)
        done, settled[0] = ok and settled[0], ok
        return done

    if wait_until(twice, max(0.0, timeout - (time.monotonic() - start)), interval=1.2) is None:
        return None
    return time.monotonic() - start


def load_catalog(cfg: DeploymentConfig, aws_endpoint: str, products: Iterable[Generated] | int, *, seed: int = 42,
                 progress: ProgressFactory | None = None, content: bool = True, workers: int = 4) -> int:
    """Write generated products into the primary table (batch writes) and their content
    objects into the primary bucket; returns the number of products."""
    rows = list(generate(products, seed) if isinstance(products, int) else products)
    region = cfg.primary
    table = _table(cfg, aws_endpoint, region)
    with (progress or silent)("items", len(rows)) as bar, table.batch_writer() as batch:
        for g in rows:
            batch.put_item(Item=item_from_product(g.product))
            bar.advance()
    if content:
        s3 = client("s3", region, aws_endpoint)
        bucket = cfg.bucket_name(region)

        def put(g: Generated) -> None:
            s3.put_object(Bucket=bucket, Key=content_key(g.product.id), Body=content_to_json(g.content),
                          ContentType="application/json")

        with (progress or silent)("content", len(rows)) as bar, ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(put, rows):
                bar.advance()
    return len(rows)


_resources = threading.local()


def _table(cfg: DeploymentConfig, aws_endpoint: str, region: str) -> Any:
    """One ``Table`` per thread, endpoint, region and name: a new session and resource per call
    loaded DynamoDB's model each time (about a third of a bench's CPU while it changed prices);
    per thread because boto3 resources are not thread-safe."""
    cache: dict[tuple[str, str, str], Any] = _resources.__dict__.setdefault("tables", {})
    key = (aws_endpoint, region, cfg.table_name)
    if key not in cache:
        import boto3

        resource = boto3.session.Session().resource("dynamodb", region_name=region, endpoint_url=aws_endpoint,
                                                    **OPERATOR_CREDENTIALS)
        cache[key] = resource.Table(cfg.table_name)
    return cache[key]


def table(cfg: DeploymentConfig, aws_endpoint: str, region: str) -> Any:
    """The boto3 ``Table`` resource of ``region``'s replica."""
    return _table(cfg, aws_endpoint, region)
