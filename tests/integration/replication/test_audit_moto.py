"""Audit and repair against moto tables and buckets and real embedded indexes."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.convert import content_to_json
from catalog.engine import Tombstone, UpsertItem
from catalog.generator import generate
from catalog.model import content_key
from replication.audit import audit
from tests.integration.replication.replication_harness import index_everything, write_products

N = 120


@pytest.fixture
def loaded(cfg, clients, target):
    gen = list(generate(N, seed=7))
    products = [g.product for g in gen]
    contents = [g.content for g in gen]
    for region in cfg.regions:
        write_products(cfg, clients, region, products, contents)
        index_everything(target, region, products, contents)
    return products, contents


def test_consistent_regions_have_no_findings(target, loaded, monkeypatch):
    import replication.audit

    reads = []
    real = replication.audit.read_contents
    monkeypatch.setattr(replication.audit, "read_contents", lambda s3, b, ids, pool: reads.extend(ids) or real(
        s3, b, ids, pool))
    report = audit(target)
    assert report.ok, report.render()
    assert report.items_checked == {"us-east-1": N, "eu-west-1": N}
    assert report.index_docs_checked == {"us-east-1": N, "eu-west-1": N}
    assert report.objects_checked == {"us-east-1": N, "eu-west-1": N}
    assert report.objects_compared == N
    assert reads == []  # equal ETags: no object had to be read


def _break_things(cfg, clients, target, products, contents):
    """One discrepancy of each kind, all in us-east-1 (and its table/bucket vs eu-west-1)."""
    eng = target.engine("us-east-1")
    p_missing, p_stale, p_resurrected, p_diff = products[0], products[1], products[2], products[3]
    newer = dataclasses.replace(p_stale, version=p_stale.version + 10, title="Newer title")
    write_products(cfg, clients, "us-east-1", [newer])  # table moves on, index does not
    write_products(cfg, clients, "eu-west-1", [newer])
    eng.apply([Tombstone(p_resurrected.id, p_resurrected.version + 5)])  # the index saw a later delete
    # missing: rebuild the index copy of p_missing as a tombstone-free hole: new physical index without it
    # is heavy; instead the product is written to the tables with an id the index never saw.
    ghost = dataclasses.replace(p_missing, id="zz-not-indexed", version=p_missing.version)
    write_products(cfg, clients, "us-east-1", [ghost])
    write_products(cfg, clients, "eu-west-1", [ghost])
    index_everything(target, "eu-west-1", [ghost])
    # extra: the index shows a product no table has
    extra = dataclasses.replace(p_missing, id="zz-extra")
    eng.apply([UpsertItem(extra)])
    # table differs: eu-west-1 has an older version of p_diff
    write_products(cfg, clients, "us-east-1", [dataclasses.replace(p_diff, version=p_diff.version + 3)])
    eng.apply([UpsertItem(dataclasses.replace(p_diff, version=p_diff.version + 3))])
    # content: index misses a newer object; bucket of eu-west-1 keeps the old one
    c = contents[4]
    newer_c = dataclasses.replace(c, version=c.version + 7, long_description="changed")
    clients("s3", "us-east-1").put_object(Bucket=cfg.bucket_name("us-east-1"), Key=content_key(c.id),
                                          Body=content_to_json(newer_c))
    # content extra: object deleted from the us-east-1 bucket, the index still has it
    clients("s3", "us-east-1").delete_object(Bucket=cfg.bucket_name("us-east-1"), Key=content_key(contents[5].id))
    return {"stale": p_stale.id, "resurrected": p_resurrected.id, "missing": ghost.id, "extra": extra.id,
            "table_differs": p_diff.id, "content_stale": c.id, "content_extra": contents[5].id}


def test_each_kind_of_discrepancy_is_found_and_repaired(cfg, clients, target, loaded):
    products, contents = loaded
    expected = _break_things(cfg, clients, target, products, contents)
    report = audit(target, regions=["us-east-1"])
    found = {(f.kind, f.id) for f in report.findings}
    for kind, pid in expected.items():
        assert (kind, pid) in found, (kind, pid, report.render())
    # the two bucket objects differ between the regions' buckets as well
    assert {f.id for f in report.findings if f.kind == "bucket_differs"} == {contents[4].id, contents[5].id}
    assert not report.ok

    repaired = audit(target, regions=["us-east-1"], repair=True)
    assert repaired.repaired["stale"] == 1 and repaired.repaired["missing"] == 1
    assert repaired.repaired["extra"] == 1 and repaired.repaired["content_stale"] == 1
    assert repaired.repaired["content_extra"] == 1
    eng = target.engine("us-east-1")
    assert eng.get(expected["extra"]) is None
    assert eng.get(expected["stale"])[0].title == "Newer title"
    assert eng.get(expected["content_extra"])[1] is None

    after = audit(target, regions=["us-east-1"])
    # what the port cannot fix stays reported: the table, not the index, is wrong
    assert set(after.counts) == {"resurrected", "table_differs", "bucket_differs"}, after.render()


def test_fresh_writes_are_in_flight_not_findings(cfg, clients, target, loaded):
    from catalog.versioning import VersionClock

    products, _ = loaded
    fresh = dataclasses.replace(products[9], version=VersionClock().next())
    write_products(cfg, clients, "us-east-1", [fresh])
    # The audit's clock stands at the moment of the write: however slow this run is,
    # the write is younger than the lag threshold.
    report = audit(target, regions=["us-east-1"], now_ms=lambda: fresh.version // 1000)
    assert report.in_flight >= 1
    assert not any(f.id == fresh.id for f in report.findings), report.render()
    # Once the clock passes the lag threshold, the same unindexed write is a finding.
    late = fresh.version // 1000 + int(cfg.thresholds.index_lag_seconds * 1000) + 1000
    report = audit(target, regions=["us-east-1"], now_ms=lambda: late)
    assert any(f.id == fresh.id for f in report.findings), report.render()


def test_sample_checks_about_n_items(target, loaded):
    report = audit(target, sample=30, seed=1)
    assert report.mode == "sample"
    assert all(25 <= n <= 30 for n in report.items_checked.values()), report.items_checked
    assert report.index_docs_checked == {}  # the index-side pass runs only in full mode
    assert report.ok


def test_invalid_items_are_reported(cfg, clients, target, loaded):
    clients("dynamodb", "us-east-1").put_item(TableName=cfg.table_name, Item={
        "id": {"S": "bad-1"}, "version": {"N": "5"}, "title": {"S": "x"}})
    report = audit(target, regions=["us-east-1"])
    assert any(f.kind == "invalid" and f.id == "bad-1" for f in report.findings)
    # JSON form is serialisable and complete
    import json

    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"]["invalid"] == 1 and data["ok"] is False
