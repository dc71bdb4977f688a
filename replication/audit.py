"""``storefront audit``: is every region's index what its table and bucket say?

For each audited region R, batch by batch (bounded memory):

* the table (parallel scan segments, or a random sample of segments) against the index
  (``engine.states(ids)``):

  ============  =============================================================
  missing       the table has the item; the index has no item for it
  stale         the index holds an older item version (or an older tombstone)
  ahead         the index holds a newer item version than the table
  resurrected   the table holds an item the index tombstoned at the same or a
                newer version: a late or conflicting write brought it back
                in the table (the index is right to hide it; a writer must
                write it again with a new version, or delete it)
  invalid       the item cannot become a document (the indexer dead-letters it)
  extra         (``--full``) the index shows a product the table does not have
  ============  =============================================================

* the bucket's ``products/{id}.json`` for each scanned id against the index's content
  version: ``content_missing``, ``content_stale`` (index older or newer), ``content_extra``
  (index has content, the object is gone), ``content_invalid``;
* the other regions' tables by version (``table_differs``) and the buckets' ``products/``
  objects (``bucket_differs``: listed side by side in key order, equal ETags mean equal
  content, otherwise both objects are read and their versions compared).

A candidate is confirmed by a consistent re-read of the table and the index, and a write
younger than the lag threshold (its version encodes its time, see
:mod:`catalog.versioning`) is in flight, not a finding. ``repair=True`` re-applies the
table's current state through the port for every repairable finding: ``UpsertItem``
(missing, stale), ``Tombstone`` (extra), ``UpsertContent`` / ``ClearContent`` (content).

The comparisons themselves are pure (:mod:`replication.audit_rules`); the findings and
their report are :mod:`replication.audit_report`. This module reads the sources and the
index, batch by batch, and confirms and repairs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from catalog.convert import product_from_item, version_of
from catalog.engine import ClearContent, DocState, Operation, Tombstone, UpsertContent, UpsertItem
from catalog.model import CONTENT_PREFIX, content_key, product_id_from_key
from catalog.progress import ProgressBar, ProgressFactory, silent
from catalog.versioning import version_for_time
from replication.audit_report import AuditReport, Finding
from replication.audit_rules import (
    classify_content,
    classify_item,
    merge_listings,
    same_content,
    version_or_none,
    young,
)
from replication.sources import (
    batch_get,
    batches,
    list_content,
    parallel_scan,
    read_contents,
    sample_scan,
)
from replication.targets import Target

BATCH = 500


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Auditor:
    def __init__(self, target: Target, *, regions: list[str] | None = None, sample: int | None = None,
                 repair: bool = False, segments: int = 4, workers: int = 8,
                 progress: ProgressFactory | None = None, seed: int | None = None,
                 now_ms: Callable[[], int] | None = None) -> None:
        """``now_ms`` is the wall clock (epoch milliseconds) that decides which writes are
        still in flight; tests inject a fixed one so a slow run cannot age a fresh write."""
        cfg = target.config
        self.now_ms = now_ms or _wall_clock_ms
        self.t = target
        self.cfg = cfg
        self.regions = regions or list(cfg.regions)
        for r in self.regions:
            cfg.require_region(r)
        self.sample = sample
        self.repair = repair
        self.segments = segments
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit")
        self.progress = progress or silent
        self.seed = seed
        th = cfg.thresholds
        self.index_lag = th.index_lag_seconds
        self.replication_lag = th.replication_latency_ms / 1000
        self.report = AuditReport(self.regions, "sample" if sample else "full", repair)

    def run(self) -> AuditReport:
        start = time.monotonic()
        try:
            for region in self.regions:
                self._audit_table(region)
                if not self.sample:
                    self._audit_content(region)
                    self._audit_extra(region)
            self._audit_buckets()
        finally:
            self.pool.shutdown(wait=True)
            self.report.seconds = time.monotonic() - start
        return self.report

    # -- helpers
    def _bar(self, label: str, total: int | None) -> AbstractContextManager[ProgressBar]:
        return self.progress(label, total)

    def _pages(self, region: str) -> Iterator[list[dict[str, Any]]]:
        ddb = self.t.client("dynamodb", region)
        if self.sample:
            yield from sample_scan(ddb, self.cfg.table_name, self.sample, segments=self.segments, seed=self.seed)
        else:
            yield from parallel_scan(ddb, self.cfg.table_name, segments=self.segments, page_size=BATCH)

    # -- table vs index vs bucket vs other tables
    def _audit_table(self, region: str) -> None:
        ddb = self.t.client("dynamodb", region)
        s3 = self.t.client("s3", region)
        bucket = self.cfg.bucket_name(region)
        engine = self.t.engine(region)
        table = self.cfg.table_name
        others = [o for o in self.cfg.regions if o != region]
        total = self.sample or int(ddb.describe_table(TableName=table)["Table"].get("ItemCount", 0)) or None
        checked = 0
        with self._bar(f"audit {region}", total) as bar:
            for page in self._pages(region):
                ids = [item["id"] for item in page]
                items = {item["id"]: item for item in page}
                pending = {o: self.pool.submit(batch_get, self.t.client("dynamodb", o), table, ids) for o in others}
                states = engine.states(ids)
                other_items = {o: f.result() for o, f in pending.items()}
                item_cands = [pid for pid in ids if classify_item(items[pid], states.get(pid))]
                content_cands: list[str] = []
                if self.sample:  # a full audit checks content from the bucket's listing instead
                    contents = read_contents(s3, bucket, ids, self.pool)
                    content_cands = [pid for pid in ids if classify_content(contents[pid], states.get(pid))]
                if item_cands or content_cands:
                    self._confirm_index(region, item_cands, content_cands, ddb, s3, bucket, engine)
                self._compare_tables(region, page, other_items)
                checked += len(page)
                bar.advance(len(page))
        self.report.items_checked[region] = checked

    def _confirm_index(self, region: str, item_ids: list[str], content_ids: list[str], ddb: Any, s3: Any,
                       bucket: str, engine: Any) -> None:
        now_ms = self.now_ms()
        ids = list(dict.fromkeys(item_ids + content_ids))
        items = batch_get(ddb, self.cfg.table_name, ids, consistent=True)
        states = engine.states(ids)
        ops: list[tuple[Finding, Operation]] = []
        for pid in item_ids:
            item, state = items.get(pid), states.get(pid)
            verdict = classify_item(item, state)
            if verdict is None:
                continue
            kind, detail = verdict
            tv = version_of(item) if item is not None and kind != "invalid" else None
            if kind in ("missing", "stale") and young(tv, self.index_lag, now_ms):
                self.report.in_flight += 1
                continue
            f = Finding(kind, region, pid, detail, tv, state.item_version if state else None)
            op: Operation | None = None
            if kind in ("missing", "stale") and item:
                op = UpsertItem(product_from_item(item))
            self._record(f, op, ops)
        contents = read_contents(s3, bucket, content_ids, self.pool)
        for pid in content_ids:
            read, state = contents[pid], states.get(pid)
            verdict = classify_content(read, state)
            if verdict is None:
                continue
            kind, detail = verdict
            cv = read.content.version if read.content else None
            if kind in ("content_missing", "content_stale") and young(cv, self.index_lag, now_ms):
                self.report.in_flight += 1
                continue
            f = Finding(kind, region, pid, detail, cv, state.content_version if state else None)
            op = None
            if kind in ("content_missing", "content_stale") and read.content and (state is None or (
                    state.content_version or 0) < read.content.version):
                op = UpsertContent(read.content)
            elif kind == "content_extra" and state is not None:
                op = ClearContent(pid, max((state.content_version or 0) + 1, version_for_time(now_ms)))
            self._record(f, op, ops)
        self._apply(region, engine, ops)

    def _record(self, finding: Finding, op: Operation | None, ops: list[tuple[Finding, Operation]]) -> None:
        if self.repair and op is not None:
            ops.append((finding, op))
        self.report.add(finding)

    def _apply(self, region: str, engine: Any, ops: list[tuple[Finding, Operation]]) -> None:
        if not ops:
            return
        results = engine.apply([op for _, op in ops])
        for (finding, _), result in zip(ops, results, strict=True):
            finding.repaired = result.ok
            if result.ok:
                self.report.repaired[finding.kind] += 1
            else:
                finding.detail += f" (repair failed: {result.outcome.value} {result.reason or ''})".rstrip()

    def _compare_tables(self, region: str, page: list[dict[str, Any]],
                        other_items: dict[str, dict[str, dict[str, Any]]]) -> None:
        now_ms = self.now_ms()
        order = self.cfg.regions
        audited = set(self.regions)
        for other, found in other_items.items():
            # a difference in versions is seen from both sides: report it once
            report_versions = other not in audited or order.index(region) < order.index(other)
            cands = []
            for item in page:
                o = found.get(item["id"])
                v = version_or_none(item)
                if o is None or (report_versions and version_or_none(o) != v):
                    cands.append(item["id"])
            if not cands:
                continue
            mine = batch_get(self.t.client("dynamodb", region), self.cfg.table_name, cands, consistent=True)
            theirs = batch_get(self.t.client("dynamodb", other), self.cfg.table_name, cands, consistent=True)
            for pid in cands:
                a, b = mine.get(pid), theirs.get(pid)
                va, vb = version_or_none(a), version_or_none(b)
                if va == vb or (b is None and a is None):
                    continue
                if young(max(va or 0, vb or 0), self.replication_lag, now_ms):
                    self.report.in_flight += 1
                    continue
                if a is None and b is not None and other in audited:
                    continue  # the other region's own scan reports it
                detail = (f"{region} has version {va}, {other} has " + (f"version {vb}" if b else "no item"))
                self.report.add(Finding("table_differs", region, pid, detail, va, vb, other))

    # -- bucket vs index: every products/ object (listed; read only when its ETag differs)
    def _audit_content(self, region: str) -> None:
        s3, bucket, engine = self.t.client("s3", region), self.cfg.bucket_name(region), self.t.engine(region)
        ddb = self.t.client("dynamodb", region)
        with self._bar(f"content {region}", None) as bar:
            for batch in batches(list_content(s3, bucket), BATCH):
                states = engine.states([pid for pid, _ in batch])
                unsure = [pid for pid, etag in batch if not same_content(states.get(pid), etag)]
                if unsure:
                    reads = read_contents(s3, bucket, unsure, self.pool)
                    cands = [pid for pid in unsure if classify_content(reads[pid], states.get(pid))]
                    if cands:
                        self._confirm_index(region, [], cands, ddb, s3, bucket, engine)
                self.report.objects_checked[region] = self.report.objects_checked.get(region, 0) + len(batch)
                bar.advance(len(batch))

    # -- index vs table and bucket: what the index shows that the sources lack
    def _audit_extra(self, region: str) -> None:
        ddb = self.t.client("dynamodb", region)
        engine = self.t.engine(region)
        seen = 0
        with self._bar(f"index {region}", None) as bar:
            for batch in batches(engine.iter_states(batch_size=BATCH), BATCH):
                seen += len(batch)
                visible = [st for st in batch if st.visible]
                if visible:
                    self._check_extra(region, ddb, engine, visible)
                with_content = [st.id for st in batch if st.content is not None]
                if with_content:
                    self._check_content_extra(region, with_content)
                bar.advance(len(batch))
        self.report.index_docs_checked[region] = seen

    def _check_content_extra(self, region: str, ids: list[str]) -> None:
        """Ids whose content the index holds but whose object is gone (one ranged listing per batch)."""
        s3, bucket = self.t.client("s3", region), self.cfg.bucket_name(region)
        present = objects_in_range(s3, bucket, ids)
        gone = [pid for pid in ids if pid not in present]
        if gone:
            self._confirm_index(region, [], gone, self.t.client("dynamodb", region), s3, bucket,
                                self.t.engine(region))

    def _check_extra(self, region: str, ddb: Any, engine: Any, states: list[DocState]) -> None:
        ids = [s.id for s in states]
        present = batch_get(ddb, self.cfg.table_name, ids)
        absent = [pid for pid in ids if pid not in present]
        if not absent:
            return
        confirmed = batch_get(ddb, self.cfg.table_name, absent, consistent=True)
        now_states = engine.states([pid for pid in absent if pid not in confirmed])
        ops: list[tuple[Finding, Operation]] = []
        for pid, state in now_states.items():
            if classify_item(None, state) is None:
                continue
            f = Finding("extra", region, pid, "the index shows it; the table has no item", None, state.item_version)
            self._record(f, Tombstone(pid, state.item_version or 0), ops)
        self._apply(region, engine, ops)

    # -- buckets against each other
    def _audit_buckets(self) -> None:
        order = self.cfg.regions
        audited = set(self.regions)
        pairs = [(a, b) for a in self.regions for b in order
                 if b != a and not (b in audited and order.index(b) < order.index(a))]
        for a, b in pairs:
            self._compare_buckets(a, b)

    def _compare_buckets(self, a: str, b: str) -> None:
        s3a, s3b = self.t.client("s3", a), self.t.client("s3", b)
        ba, bb = self.cfg.bucket_name(a), self.cfg.bucket_name(b)
        pending: list[str] = []
        with self._bar(f"buckets {a}/{b}", None) as bar:
            for pid, etag_a, etag_b in merge_listings(list_content(s3a, ba), list_content(s3b, bb)):
                self.report.objects_compared += 1
                bar.advance()
                if etag_a != etag_b:
                    pending.append(pid)
                if len(pending) >= BATCH:
                    self._check_objects(a, b, pending)
                    pending = []
            if pending:
                self._check_objects(a, b, pending)

    def _check_objects(self, a: str, b: str, ids: list[str]) -> None:
        now_ms = self.now_ms()
        reads_a = read_contents(self.t.client("s3", a), self.cfg.bucket_name(a), ids, self.pool)
        reads_b = read_contents(self.t.client("s3", b), self.cfg.bucket_name(b), ids, self.pool)
        for pid in ids:
            ca, cb = reads_a[pid].content, reads_b[pid].content
            va, vb = (ca.version if ca else None), (cb.version if cb else None)
            if va == vb:
                continue
            if young(max(va or 0, vb or 0), self.replication_lag, now_ms):
                self.report.in_flight += 1
                continue
            detail = f"{content_key(pid)}: {a} " + (f"version {va}" if ca else "missing") + f", {b} " + (
                f"version {vb}" if cb else "missing")
            self.report.add(Finding("bucket_differs", a, pid, detail, va, vb, b))


def objects_in_range(s3: Any, bucket: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` have a ``products/`` object, listing only the key range they span."""
    keys = sorted(content_key(pid) for pid in ids)
    wanted = set(ids)
    found: set[str] = set()
    # pages sized to the batch: the range usually holds just these keys, and S3's default page
    # (1,000 keys) listed twice as many as a 500-id batch needs before the loop could stop
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=CONTENT_PREFIX, StartAfter=keys[0][:-1],
                                                         PaginationConfig={"PageSize": min(1000, len(keys) + 1)})
    for page in pages:
        for obj in page.get("Contents", []):
            if obj["Key"] > keys[-1]:
                return found
            pid = product_id_from_key(obj["Key"])
            if pid in wanted:
                found.add(pid)
    return found


def audit(target: Target, **kwargs: Any) -> AuditReport:
    """Run an audit (see :class:`Auditor` for the options)."""
    return Auditor(target, **kwargs).run()


__all__ = ["AuditReport", "Auditor", "Finding", "audit", "classify_content", "classify_item"]
