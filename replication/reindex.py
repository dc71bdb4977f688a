"""``storefront reindex``: rebuild a region's index from its table and bucket, then swap
the alias, with no moment of empty search (DESIGN rule 6).

1. ``create_index`` makes a new physical index; the alias keeps serving the old one, and
   the indexer keeps writing through the alias meanwhile.
2. A parallel scan of the region's table and a listing of its bucket's ``products/`` fill
   the new index (``UpsertItem`` / ``UpsertContent`` to ``index=new``).
3. Catch up with what changed during the build: every document of the old index that is
   newer than the new index's copy marks an id that changed; for those ids the table's
   and bucket's *current* state is applied (versions make re-application safe).
4. Verify: the new index's visible count must equal what the build and the catch-up
   made visible; otherwise the alias is not touched.
5. ``swap_alias`` atomically; after a short settle, one more catch-up for writes that
   resolved the alias just before the swap. The previous index is kept for ``--rollback``,
   which catches the previous index up the same way and swaps back.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from catalog.convert import TransformError, product_from_item
from catalog.engine import (
    ClearContent,
    DocState,
    EngineError,
    Operation,
    Outcome,
    SearchEngine,
    Tombstone,
    UpsertContent,
    UpsertItem,
)
from catalog.progress import ProgressFactory, silent
from catalog.versioning import content_is_newer, item_is_newer
from replication.sources import batch_get, batches, list_content, parallel_scan, read_contents
from replication.targets import Target

BATCH = 500
RETRIES = 5


class ReindexError(Exception):
    """Reindexing cannot start or must stop (no previous index, counts disagree...)."""


@dataclass
class CatchUp:
    changed: int = 0  # ids whose state was re-applied
    visible_delta: int = 0  # change in the destination's visible count


@dataclass
class ReindexReport:
    region: str
    action: str  # "reindex" or "rollback"
    previous_index: str | None
    new_index: str
    items_scanned: int = 0
    items_applied: int = 0
    items_invalid: int = 0
    contents_applied: int = 0
    contents_invalid: int = 0
    failed: int = 0
    catch_up: list[CatchUp] = field(default_factory=list)
    expected_count: int | None = None
    new_count: int | None = None
    previous_count: int | None = None
    swapped: bool = False
    seconds: float = 0.0
    build_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.swapped and not self.errors

    @property
    def items_per_second(self) -> float:
        return self.items_scanned / self.build_seconds if self.build_seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(ok=self.ok, items_per_second=round(self.items_per_second, 1))
        return d

    def render(self) -> str:
        head = (f"{self.action} {self.region}: alias -> {self.new_index}" if self.swapped
                else f"{self.action} {self.region}: alias NOT swapped (still {self.previous_index})")
        lines = [head]
        if self.action == "reindex":
            lines.append(f"  built from {self.items_scanned:,} items ({self.items_invalid} invalid) and "
                         f"{self.contents_applied:,} content objects ({self.contents_invalid} invalid) in "
                         f"{self.build_seconds:.1f}s ({self.items_per_second:,.0f} items/s)")
        for i, c in enumerate(self.catch_up, 1):
            lines.append(f"  catch-up {i}: {c.changed} changed ids re-applied ({c.visible_delta:+d} visible)")
        lines.append(f"  count: new {self.new_count}, expected {self.expected_count}, previous {self.previous_count}")
        if self.previous_index and self.action == "reindex":
            lines.append(f"  previous index {self.previous_index} kept (storefront reindex --rollback)")
        elif self.previous_index:
            lines.append(f"  index {self.previous_index} kept")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        lines.extend(f"  error: {e}" for e in self.errors)
        return "\n".join(lines)


def apply_all(engine: SearchEngine, ops: Sequence[Operation], index: str | None = None) -> tuple[int, int]:
    """Apply ``ops``, retrying retryable outcomes with backoff; (visible-making applied items, failed)."""
    pending = list(ops)
    applied_items = failed = 0
    delay = 0.1
    for attempt in range(RETRIES + 1 if pending else 0):
        results = engine.apply(pending, index=index)
        retry = []
        for op, res in zip(pending, results, strict=True):
            if res.outcome == Outcome.RETRYABLE and attempt < RETRIES:
                retry.append(op)
            elif res.outcome == Outcome.APPLIED and isinstance(op, UpsertItem):
                applied_items += 1
            elif not res.ok:
                failed += 1
        if not retry:
            break
        pending = retry
        time.sleep(delay)
        delay *= 2
    return applied_items, failed


class Reindexer:
    def __init__(self, target: Target, region: str, *, segments: int = 4, workers: int = 8,
                 progress: ProgressFactory | None = None, settle_seconds: float = 1.0) -> None:
        self.t = target
        self.cfg = target.config
        self.region = self.cfg.require_region(region)
        self.segments = segments
        self.workers = workers
        self.progress = progress or silent
        self.settle = settle_seconds
        self.engine = target.engine(region)
        self.ddb = target.client("dynamodb", region)
        self.s3 = target.client("s3", region)
        self.bucket = self.cfg.bucket_name(region)

    # -- catch-up: ids newer in `source` than in `dest` get the sources' current state
    def catch_up(self, source: str, dest: str, pool: ThreadPoolExecutor) -> CatchUp:
        out = CatchUp()
        for batch in batches(self.engine.iter_states(index=source, batch_size=BATCH), BATCH):
            dest_states = self.engine.states([s.id for s in batch], index=dest)
            changed = [s for s in batch if _newer(s, dest_states.get(s.id))]
            if not changed:
                continue
            ids = [s.id for s in changed]
            before = sum(1 for pid in ids if dest_states.get(pid) is not None and dest_states[pid].visible)
            ops = self._current_state_ops(changed, pool)
            apply_all(self.engine, ops, index=dest)
            after_states = self.engine.states(ids, index=dest)
            after = sum(1 for s in after_states.values() if s.visible)
            out.changed += len(ids)
            out.visible_delta += after - before
        return out

    def _current_state_ops(self, changed: list[DocState], pool: ThreadPoolExecutor) -> list[Operation]:
        ids = [s.id for s in changed]
        items = batch_get(self.ddb, self.cfg.table_name, ids, consistent=True)
        contents = read_contents(self.s3, self.bucket, ids, pool)
        ops: list[Operation] = []
        for s in changed:
            item = items.get(s.id)
            if item is not None:
                with contextlib.suppress(TransformError):  # the indexer dead-letters it; audit reports it
                    ops.append(UpsertItem(product_from_item(item)))
            elif s.item_version is not None:
                ops.append(Tombstone(s.id, s.item_version))
            read = contents[s.id]
            if read.content is not None:
                ops.append(UpsertContent(read.content))
            elif s.content_version is not None and read.error is None:
                ops.append(ClearContent(s.id, s.content_version))
        return ops

    # -- reindex
    def run(self) -> ReindexReport:
        start = time.monotonic()
        previous = self.engine.alias_target()
        new = self.engine.create_index()
        report = ReindexReport(self.region, "reindex", previous, new)
        visible = 0
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="reindex") as pool:
            total = int(self.ddb.describe_table(TableName=self.cfg.table_name)["Table"].get("ItemCount", 0)) or None
            with self.progress(f"reindex {self.region} items", total) as bar:
                for page in parallel_scan(self.ddb, self.cfg.table_name, segments=self.segments, page_size=BATCH):
                    ops: list[Operation] = []
                    for item in page:
                        try:
                            ops.append(UpsertItem(product_from_item(item)))
                        except TransformError:
                            report.items_invalid += 1
                    applied, failed = apply_all(self.engine, ops, index=new)
                    visible += applied
                    report.items_applied += applied
                    report.failed += failed
                    report.items_scanned += len(page)
                    bar.advance(len(page))
            with self.progress(f"reindex {self.region} content", None) as bar:
                for batch in batches(list_content(self.s3, self.bucket), BATCH):
                    reads = read_contents(self.s3, self.bucket, [pid for pid, _ in batch], pool)
                    ops = [UpsertContent(r.content) for r in reads.values() if r.content is not None]
                    report.contents_invalid += sum(1 for r in reads.values() if r.error)
                    _, failed = apply_all(self.engine, ops, index=new)
                    report.contents_applied += len(ops) - failed
                    report.failed += failed
                    bar.advance(len(batch))
            report.build_seconds = time.monotonic() - start
            source = previous if previous is not None and self._readable(previous, report) else None
            if source is not None:
                c = self.catch_up(source, new, pool)
                report.catch_up.append(c)
                visible += c.visible_delta
                report.previous_count = self.engine.count(index=source)
            report.expected_count = visible
            report.new_count = self.engine.count(index=new)
            if report.failed:
                report.errors.append(f"{report.failed} operations failed; the alias was not swapped")
            elif report.new_count != report.expected_count:
                report.errors.append(f"the new index counts {report.new_count} visible products, expected "
                                     f"{report.expected_count}; the alias was not swapped")
            if report.errors:
                report.seconds = time.monotonic() - start
                return report
            self.engine.swap_alias(new)
            report.swapped = True
            if source is not None:
                time.sleep(self.settle)
                report.catch_up.append(self.catch_up(source, new, pool))
                report.new_count = self.engine.count(index=new)
        report.seconds = time.monotonic() - start
        return report

    def _readable(self, index: str, report: ReindexReport) -> bool:
        """Whether the previous index can be read (it may predate a schema change, which is
        a reason to reindex): if not, the build is swapped in without a catch-up from it."""
        try:
            self.engine.count(index=index)
            return True
        except EngineError as exc:
            report.warnings.append(f"previous index {index} is unreadable ({exc}); no catch-up from it: run "
                                   f"`storefront audit --region {self.region} --repair` to re-apply writes made "
                                   "during the build")
            return False

    # -- rollback
    def rollback(self) -> ReindexReport:
        start = time.monotonic()
        current = self.engine.alias_target()
        indices = self.engine.indices()
        if current is None or current not in indices or indices.index(current) == 0:
            raise ReindexError(f"no previous index to roll back to in {self.region} "
                               f"(alias -> {current}, indices {indices})")
        previous = indices[indices.index(current) - 1]
        report = ReindexReport(self.region, "rollback", current, previous)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="rollback") as pool:
            report.catch_up.append(self.catch_up(current, previous, pool))
            report.previous_count = self.engine.count(index=current)
            report.expected_count = report.previous_count
            self.engine.swap_alias(previous)
            report.swapped = True
            time.sleep(self.settle)
            report.catch_up.append(self.catch_up(current, previous, pool))
            report.new_count = self.engine.count(index=previous)
        report.seconds = time.monotonic() - start
        return report


def _newer(src: DocState, dst: DocState | None) -> bool:
    """Whether ``src`` holds a newer item or content state than ``dst``."""
    if dst is None:
        return True
    if src.item_version is not None and item_is_newer(src.item_version, src.deleted, dst.item_version, dst.deleted):
        return True
    return src.content_version is not None and content_is_newer(src.content_version, dst.content_version)


def reindex(target: Target, region: str, **kwargs: Any) -> ReindexReport:
    return Reindexer(target, region, **kwargs).run()


def rollback(target: Target, region: str, **kwargs: Any) -> ReindexReport:
    return Reindexer(target, region, **kwargs).rollback()
