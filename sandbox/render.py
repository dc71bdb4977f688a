"""The sandbox as text: its endpoints once it is up, and a search answer as a table.

Shared by ``storefront sandbox up|status``, ``storefront search`` and ``storefront demo``;
plain functions of their input, so both commands print the same lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.config import DeploymentConfig
    from sandbox.state import Endpoints


def describe(cfg: DeploymentConfig, endpoints: Endpoints, started_seconds: float | None = None) -> str:
    took = f" in {started_seconds:.1f} s" if started_seconds is not None else ""
    width = max(len(r) for r in cfg.regions)
    lines = [f"sandbox up{took}: regions {', '.join(cfg.regions)} (primary {cfg.primary}), routing {cfg.routing}",
             f"  {'global':<{width}}  {endpoints.global_url}   routed by the emulated Route 53 ({endpoints.domain})",
             f"  {'page':<{width}}  {endpoints.global_url.rstrip('/')}/   the storefront search page"]
    lines += [f"  {r:<{width}}  {url}" for r, url in endpoints.regions.items()]
    lines += [f"  {'aws':<{width}}  {endpoints.aws}   moto: AWS_ENDPOINT_URL={endpoints.aws}"]
    return "\n".join(lines)


def format_results(body: dict[str, Any], region: str | None, query: str) -> str:
    hits = body.get("hits", [])
    total = body.get("total", {})
    more = "+" if total.get("relation") == "gte" else ""
    lines = [f"{total.get('value', len(hits))}{more} results for {query!r} from {region or body.get('region')} "
             f"in {body.get('took_ms', 0):.1f} ms"]
    if not hits:
        return lines[0]
    title_w = min(60, max(len(h["title"]) for h in hits))
    lines.append(f"{'id':<9} {'title':<{title_w}} {'brand':<14} {'price':>10} {'rating':>6}")
    for h in hits:
        title = h["title"] if len(h["title"]) <= title_w else h["title"][: title_w - 1] + "…"
        rating = "" if h.get("rating") is None else f"{h['rating']:.1f}"
        lines.append(f"{h['id']:<9} {title:<{title_w}} {h['brand'][:14]:<14} "
                     f"{h['price']:>7.2f} {h['currency']} {rating:>6}")
    return "\n".join(lines)
