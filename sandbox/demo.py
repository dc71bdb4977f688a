"""``storefront demo``: what a newcomer runs first.

Starts the two-region sandbox (in a child process), loads a generated catalog into the
primary region, shows one search answered by each region (and by the global port), changes
a price in the primary and measures how long until the secondary's search shows it, checks
the search page on the global port, then stops everything it started and prints the page's URL.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from catalog.config import DeploymentConfig
from catalog.progress import ProgressFactory
from catalog.versioning import VersionClock
from sandbox.client import HttpAnswer, get, load_catalog, table, wait_for_count, wait_for_load, wait_until
from sandbox.render import describe, format_results

DEMO_QUERIES = ("wireless headphones", "headphones", "running shoes")  # the first with hits; else browse


def _say(text: str = "") -> None:
    print(text, flush=True)


def find_price(answer: HttpAnswer, product_id: str) -> float | None:
    if answer.status != 200:
        return None
    for hit in answer.body.get("hits", []):
        if hit["id"] == product_id:
            return float(hit["price"])
    return None


def change_price(cfg: DeploymentConfig, aws: str, region: str, product_id: str, price: float,
                 clock: VersionClock | None = None) -> int:
    """Update one product's price in ``region``'s replica with a newer version; returns it."""
    version = (clock or VersionClock()).next()
    table(cfg, aws, region).update_item(
        Key={"id": product_id},
        UpdateExpression="SET price = :p, #v = :v, updated_at = :u",
        ExpressionAttributeNames={"#v": "version"},
        ExpressionAttributeValues={":p": Decimal(str(price)), ":v": version,
                                   ":u": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")},
    )
    return version


def run_demo(cfg: DeploymentConfig, products: int = 2000, progress: ProgressFactory | None = None) -> int:
    """``progress`` draws the catalog load (the CLI passes its bar); None: silent.

    The sandbox runs as ``storefront sandbox up --detach`` runs it, in a child process
    (:func:`sandbox.child.start_supervisor`), stopped however the demo ends: this process is
    only its client, so the catalog load does not compete with moto for one interpreter."""
    from sandbox.child import SupervisorChild, start_supervisor
    from sandbox.state import planned_endpoints

    _say("== 1. start the two-region sandbox")
    began = time.monotonic()
    timings: dict[str, float] = {}
    child: SupervisorChild | None = None
    try:
        child = start_supervisor(cfg, detach=False, progress=lambda message: _say(f"sandbox: {message}"))
        endpoints = child.endpoints
        _say(describe(cfg, endpoints, child.started_seconds))

        _say(f"\n== 2. load {products} generated products into the primary ({cfg.primary})")
        timings["up"] = time.monotonic() - began
        t0 = time.monotonic()
        load_catalog(cfg, endpoints.aws, products, progress=progress)
        timings["load written"] = time.monotonic() - t0
        _say(f"written in {timings['load written']:.1f} s; waiting for every region's indexer")
        for region, url in endpoints.regions.items():
            if wait_for_count(url, products, timeout=600) is None:
                _say(f"{region}: the index did not reach {products} products; see {child.state / 'logs'}")
                return 1
            _say(f"  {region}: {products} products searchable ({time.monotonic() - t0:.1f} s after the load began)")
        if wait_for_load(cfg, endpoints, products, timeout=600) is None:
            _say(f"the content did not reach every index; see {child.state / 'logs'}")
            return 1
        timings["indexed everywhere"] = time.monotonic() - t0
        _say(f"  content (S3 -> replication -> SQS -> indexer) indexed everywhere "
             f"({timings['indexed everywhere']:.1f} s after the load began)")

        query = next((q for q in DEMO_QUERIES if get(endpoints.regions[cfg.primary], "/search", {
            "q": q, "size": 1, "facets": ""}).body["total"]["value"] > 0), "")
        _say(f"\n== 3. one search, answered by each region: {query!r}")
        answers: dict[str, Any] = {}
        for region, url in endpoints.regions.items():
            answers[region] = get(url, "/search", {"q": query, "size": 5, "facets": ""})
            _say(format_results(answers[region].body, answers[region].region or region, query))
            _say()
        ids = {r: [h["id"] for h in a.body["hits"]] for r, a in answers.items()}
        same = len({tuple(v) for v in ids.values()}) == 1
        _say("both regions answer identically" if same else "the regions answer differently: " + repr(ids))
        via = get(endpoints.global_url, "/search", {"q": query, "size": 1, "facets": ""})
        _say(f"the global port ({endpoints.global_url}) was answered by {via.region} "
             f"(Route 53 {cfg.routing} record {endpoints.domain})")

        _say(f"\n== 4. change a price in the primary ({cfg.primary}), watch it in the secondaries")
        top = answers[cfg.primary].body["hits"][0]
        old = float(top["price"])
        new = round(max(1.0, old * 0.8), 2)
        started = time.monotonic()
        change_price(cfg, endpoints.aws, cfg.primary, top["id"], new)
        for region in cfg.secondaries:
            url = endpoints.regions[region]

            def shows_new_price(url: str = url) -> bool:
                return find_price(get(url, "/search", {"q": top["title"], "size": 10, "facets": ""}), top["id"]) == new

            lag = wait_until(shows_new_price, timeout=60, interval=0.02)
            if lag is None:
                _say(f"{region}: the new price did not arrive within 60 s")
                return 1
            lag = time.monotonic() - started
            _say(f"{top['id']} {top['title']!r}: {old:.2f} -> {new:.2f} {top['currency']} in {cfg.primary}; "
                 f"searchable in {region} after {lag:.2f} s "
                 f"(replication lag setting {cfg.sandbox.replication_lag_ms} ms)")
        page = page_url(endpoints.global_url)
        status = page_status(page)
        _say(f"\n== 5. the storefront search page: {page} answered {status}")
        if status != 200:
            return 1
    finally:
        _say("\n== 6. stop")
        if child is not None:
            child.stop()
        _say("sandbox stopped")
    timings["total"] = time.monotonic() - began
    _say("\ntimings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    global_url = planned_endpoints(cfg, 0).global_url
    _say(f"\nthe search page, while a sandbox runs (`storefront sandbox up`): {page_url(global_url)}")
    return 0


def page_url(global_url: str) -> str:
    """The search page: the global port's ``/``."""
    return global_url.rstrip("/") + "/"


def page_status(url: str) -> int:
    """The HTTP status of a GET of the page (0 when unreachable)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0
