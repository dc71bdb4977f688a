"""Chaos: 5,000 random writes over 500 products, delivered the way Lambda would on a bad day.

Writes go to the moto table (puts, updates, deletes, 1% poison items); the stream is
delivered in random-size batches that restart from the lowest reported failure (as
Lambda does), with extra re-deliveries of earlier windows (duplicates, and records
ahead of the checkpoint: out of order), some TTL-marked removes, tight time budgets, and
10% of bulk items failing transiently (429). At the end the index must equal the table
exactly and every poison record must be in the dead-letter queue with its reason.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from catalog.convert import TransformError, deserialize_image, item_from_product, product_from_item
from catalog.generator import products
from catalog.versioning import VersionClock
from tests.doubles.faulty_engine import FaultyEngine
from tests.doubles.indexer_events import TTL_IDENTITY, from_stream_records
from tests.integration.indexer.awsenv import invoke

N_PRODUCTS = 500
N_WRITES = 5000


def _poison(item, rng):
    kind = rng.randrange(4)
    if kind == 0:
        item["price"] = "cheap"
    elif kind == 1:
        del item["currency"]
    elif kind == 2:
        item["in_stock"] = "yes"
    else:
        item["category"] = "   "
    return item


def _is_poison(record) -> bool:
    if record["eventName"] == "REMOVE":
        return False
    try:
        product_from_item(deserialize_image(record["dynamodb"]["NewImage"]))
    except TransformError:
        return True
    return False


@pytest.mark.slow
def test_chaos_index_equals_table_and_every_poison_record_is_dead_lettered(aws, handler):
    rng = random.Random(20261122)
    base = products(N_PRODUCTS, seed=5)
    clock = VersionClock()
    exists: set[str] = set()
    last_poison: set[str] = set()
    writes: list[tuple[str, object]] = []
    for n in range(N_WRITES):
        p = base[rng.randrange(N_PRODUCTS)]
        roll = rng.random()
        if roll < 0.01:
            writes.append(("put", _poison(item_from_product(replace(p, version=clock.next())), rng)))
            exists.add(p.id)
            last_poison.add(p.id)
            continue
        if roll < 0.2 and p.id in exists:
            writes.append(("delete", p.id))
            exists.discard(p.id)
        else:
            writes.append(("put", replace(p, version=clock.next(), price=round(rng.uniform(1, 900), 2),
                                          title=f"{p.title} r{n}", in_stock=rng.random() < 0.8)))
            exists.add(p.id)
        last_poison.discard(p.id)
    for pid in sorted(last_poison & exists):  # a writer repairs what it broke
        writes.append(("put", replace(next(b for b in base if b.id == pid), version=clock.next())))
    aws.write_batch(writes)

    records = aws.stream_records_from_backend()
    assert len(records) >= N_WRITES
    for r in records:
        if r["eventName"] == "REMOVE" and rng.random() < 0.3:
            r["userIdentity"] = dict(TTL_IDENTITY)  # what a TTL expiry's record carries
    where = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    poison = {r["dynamodb"]["SequenceNumber"] for r in records if _is_poison(r)}
    assert len(poison) >= N_WRITES // 200

    engine = handler.RUNTIME.engine
    handler.RUNTIME.engine = FaultyEngine(engine, failure_rate=0.10, seed=7)
    margin = handler.RUNTIME.settings.retry_margin_ms

    def deliver(batch, tight):
        event = from_stream_records(batch, aws.stream_arn)
        return [f["itemIdentifier"] for f in
                invoke(handler, event, margin + (40 if tight else 30_000))["batchItemFailures"]]

    pos = invocations = restarts = 0
    while pos < len(records):
        invocations += 1
        assert invocations < 2000, "the shard does not make progress"
        n = rng.randint(50, 500)
        failed = deliver(records[pos:pos + n], tight=rng.random() < 0.15)
        if failed:
            restarts += 1
            pos = min(where[s] for s in failed)
        else:
            pos += n
        if rng.random() < 0.1:  # a duplicate delivery of some earlier (or later) window
            start = rng.randrange(max(0, pos - 300), min(len(records), pos + 50))
            deliver(records[start:start + rng.randint(1, 100)], tight=False)

    table = aws.table_products()
    indexed = {s.id: s.product for s in engine.iter_states() if s.visible}
    assert set(indexed) == set(table), "lost or resurrected products"
    assert indexed == table, "stale values in the index"
    deleted = {p.id for p in base} - set(table)
    states = engine.states(sorted(deleted))
    assert all(states[pid].deleted for pid in deleted if pid in states)

    letters = aws.dead_letters()
    assert {d["record"]["dynamodb"]["SequenceNumber"] for d in letters} == poison
    assert all(d["reason"] and d["field"] and d["source"] == "dynamodb" for d in letters)
    assert restarts > 0 and handler.RUNTIME.engine.injected > 0  # the faults did happen
