"""One picture of a drill under load: an SVG timeline (no dependency) of the shopper
requests per second (failed ones in red), their p99, and the region that served each
second, with the inject, detection, traffic-moved, restore and failback moments marked.
Input: the ``shoppers`` part of a drill report (:func:`replication.drill_shoppers.shopper_figures`).
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, LEFT, RIGHT = 900, 60, 20
RATE_TOP, RATE_H = 40, 140
P99_TOP, P99_H = 220, 100
REGION_TOP, REGION_H = 350, 24
HEIGHT = 420
PALETTE = ("#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948")
MARKS = (("inject", "inject"), ("detected", "detected"), ("moved", "traffic moved"), ("restore", "restore"),
         ("failback", "failback"))


def timeline_svg(shoppers: dict[str, Any], title: str = "") -> str:
    series = shoppers.get("series") or []
    end = max([shoppers.get("whole", {}).get("to") or 0] + [p["t"] + 1 for p in series]) or 1
    plot_w = WIDTH - LEFT - RIGHT

    def x(t: float) -> float:
        return LEFT + plot_w * t / end

    top_rate = max([p["sent"] for p in series] + [1])
    top_p99 = max([p["p99_ms"] or 0 for p in series] + [1])
    bar_w = max(1.0, plot_w / end - 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
           f'<text x="{LEFT}" y="{RATE_TOP - 4}">requests/s (red: failed), max {top_rate}</text>',
           f'<text x="{LEFT}" y="{P99_TOP - 4}">p99 latency, max {top_p99:,.0f} ms</text>',
           f'<text x="{LEFT}" y="{REGION_TOP - 4}">serving region</text>']
    for p in series:
        h_ok = RATE_H * (p["sent"] - p["failed"]) / top_rate
        h_bad = RATE_H * p["failed"] / top_rate
        base = RATE_TOP + RATE_H
        out.append(f'<rect x="{x(p["t"]):.1f}" y="{base - h_ok:.1f}" width="{bar_w:.1f}" height="{h_ok:.1f}" '
                   'fill="#9ecae1"/>')
        if p["failed"]:
            out.append(f'<rect x="{x(p["t"]):.1f}" y="{base - h_ok - h_bad:.1f}" width="{bar_w:.1f}" '
                       f'height="{h_bad:.1f}" fill="#d62728"/>')
    points = " ".join(f'{x(p["t"] + 0.5):.1f},{P99_TOP + P99_H - P99_H * (p["p99_ms"] or 0) / top_p99:.1f}'
                      for p in series)
    if points:
        out.append(f'<polyline points="{points}" fill="none" stroke="#333" stroke-width="1.5"/>')
    colours: dict[str, str] = {}
    for span in shoppers.get("regions_over_time") or []:
        region = span["region"]
        colour = "#d62728" if region is None else colours.setdefault(region, PALETTE[len(colours) % len(PALETTE)])
        out.append(f'<rect x="{x(span["from"]):.1f}" y="{REGION_TOP}" width="{x(span["to"]) - x(span["from"]):.1f}" '
                   f'height="{REGION_H}" fill="{colour}"><title>{escape(region or "all failed")}</title></rect>')
    legend_x = LEFT
    for region, colour in [*colours.items(), ("all failed", "#d62728")]:
        out.append(f'<rect x="{legend_x}" y="{REGION_TOP + REGION_H + 8}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{legend_x + 14}" y="{REGION_TOP + REGION_H + 17}">{escape(region)}</text>')
        legend_x += 24 + 7 * len(region)
    for i, (key, label) in enumerate(MARKS):
        t = (shoppers.get("marks") or {}).get(key)
        if t is None:
            continue
        out.append(f'<line x1="{x(t):.1f}" y1="{RATE_TOP}" x2="{x(t):.1f}" y2="{REGION_TOP + REGION_H}" '
                   'stroke="#000" stroke-dasharray="4,3"/>')
        out.append(f'<text x="{x(t) + 3:.1f}" y="{RATE_TOP + 12 + 12 * (i % 3)}">{escape(label)} {t:.1f} s</text>')
    for t in range(0, int(end) + 1, max(1, int(end) // 10)):
        out.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 10}" text-anchor="middle">{t} s</text>')
    out.append("</svg>")
    return "\n".join(out)
