"""An audit's report: its findings by kind, what was checked and repaired, and how it reads.

:class:`AuditReport` counts every finding (and its repair) but lists at most
:data:`MAX_LISTED` of a kind; ``to_dict`` is ``storefront audit --json``, ``render`` its
text. The kinds are those of :mod:`replication.audit`; :data:`REPAIRABLE` are those a
repair re-applies through the port.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

REPAIRABLE = ("missing", "stale", "extra", "content_missing", "content_stale", "content_extra")
MAX_LISTED = 200  # findings kept per kind for the report; all are counted (and repaired)


@dataclass
class Finding:
    kind: str
    region: str
    id: str
    detail: str = ""
    table_version: int | None = None
    index_version: int | None = None
    other_region: str | None = None
    repaired: bool | None = None  # None: not attempted


@dataclass
class AuditReport:
    regions: list[str]
    mode: str  # "full" or "sample"
    repair: bool
    items_checked: dict[str, int] = field(default_factory=dict)
    index_docs_checked: dict[str, int] = field(default_factory=dict)
    objects_checked: dict[str, int] = field(default_factory=dict)  # bucket objects vs index
    objects_compared: int = 0  # bucket objects vs the other regions' buckets
    in_flight: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def unrepaired(self) -> int:
        return sum(self.counts.values()) - sum(self.repaired.values())

    def add(self, finding: Finding) -> None:
        self.counts[finding.kind] += 1
        if sum(1 for f in self.findings if f.kind == finding.kind) < MAX_LISTED:
            self.findings.append(finding)

    def items_per_second(self) -> float:
        n = sum(self.items_checked.values())
        return n / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "regions": self.regions, "mode": self.mode, "repair": self.repair,
            "items_checked": self.items_checked, "index_docs_checked": self.index_docs_checked,
            "objects_checked": self.objects_checked, "objects_compared": self.objects_compared,
            "in_flight": self.in_flight,
            "counts": dict(self.counts), "repaired": dict(self.repaired),
            "findings": [asdict(f) for f in self.findings], "seconds": round(self.seconds, 3),
            "items_per_second": round(self.items_per_second(), 1),
        }

    def render(self) -> str:
        lines = [f"audit ({self.mode}) of {', '.join(self.regions)}: "
                 f"{sum(self.items_checked.values()):,} items, {sum(self.index_docs_checked.values()):,} index docs, "
                 f"{sum(self.objects_checked.values()):,} objects checked, {self.objects_compared:,} compared "
                 f"across buckets in {self.seconds:.1f}s"]
        if self.in_flight:
            lines.append(f"  {self.in_flight} writes in flight (younger than the lag thresholds) were not counted")
        if self.ok:
            lines.append("  no discrepancies")
            return "\n".join(lines)
        for kind, n in sorted(self.counts.items()):
            fixed = f" ({self.repaired[kind]} repaired)" if self.repair and kind in REPAIRABLE else ""
            lines.append(f"  {kind}: {n}{fixed}")
        for f in self.findings[:50]:
            other = f" vs {f.other_region}" if f.other_region else ""
            lines.append(f"    {f.region}{other} {f.kind} {f.id}: {f.detail}")
        if len(self.findings) > 50:
            lines.append(f"    ... {sum(self.counts.values()) - 50} more (use --json)")
        return "\n".join(lines)
