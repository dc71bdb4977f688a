"""The indexer reads a batch's S3 objects concurrently, keeping the batch's order and its per-record errors."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from catalog.convert import content_to_json
from catalog.engine.port import ClearContent, UpsertContent
from catalog.generator import generate
from catalog.model import content_key
from catalog.versioning import version_for_time
from indexer.content import READ_CONCURRENCY, resolve_content
from indexer.records import Status, sqs_work
from tests.doubles.indexer_events import s3_note, sqs_record

BUCKET = "storefront-content-123456789012-us-east-1"
CONTENT = [g.content for g in generate(12, seed=5)]
TIMEOUT = 5.0  # a read that waits this long failed the test: the reads were not concurrent


def _works(pids):
    return [sqs_work(i, sqs_record(s3_note(BUCKET, content_key(pid), event_time="2024-01-01T00:00:05.000Z"),
                                   f"m{i}"), BUCKET) for i, pid in enumerate(pids)]


def test_reads_are_in_flight_together():
    # Every read waits at a barrier for all of them: sequential reads would time out at the first one.
    pids = [c.id for c in CONTENT[:8]]
    barrier = threading.Barrier(len(pids), timeout=TIMEOUT)
    objects = {content_key(c.id): content_to_json(c) for c in CONTENT[:8]}
    peak, in_flight, lock = [0], [0], threading.Lock()

    def read(key):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        barrier.wait()  # raises BrokenBarrierError after TIMEOUT rather than hang
        with lock:
            in_flight[0] -= 1
        return objects[key]

    works = _works(pids)
    started = time.monotonic()
    assert resolve_content(works, read) == len(pids)
    assert time.monotonic() - started < TIMEOUT
    assert peak[0] == len(pids) <= READ_CONCURRENCY
    assert [w.status for w in works] == [Status.PENDING] * len(pids)
    assert [w.ops for w in works] == [[UpsertContent(c)] for c in CONTENT[:8]]


def test_at_most_max_workers_reads_at_once():
    pids = [c.id for c in CONTENT]
    objects = {content_key(c.id): content_to_json(c) for c in CONTENT}
    peak, in_flight, lock = [0], [0], threading.Lock()

    def read(key):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return objects[key]

    assert resolve_content(_works(pids), read, max_workers=3) == len(pids)
    assert 1 < peak[0] <= 3


def test_order_and_per_record_errors_survive_reads_finishing_out_of_order():
    # p0 answers last, p1 is absent (a clear), p2 is denied (the record fails and SQS delivers it
    # again), p3 is poison; records hinting the same key share its outcome.
    good = [replace(CONTENT[0], id="p0"), replace(CONTENT[4], id="p4")]
    pids = ["p0", "p1", "p2", "p3", "p4", "p2", "p0"]
    released = threading.Event()

    class AccessDenied(Exception):
        pass

    def read(key):
        if key == content_key("p0"):
            assert released.wait(TIMEOUT)  # the others finish first
            return content_to_json(good[0])
        try:
            if key == content_key("p1"):
                return None
            if key == content_key("p2"):
                raise AccessDenied("An error occurred (AccessDenied) when calling the GetObject operation")
            if key == content_key("p3"):
                return b'{"id": "p3", "version": "x"}'
            return content_to_json(good[1])
        finally:
            if key == content_key("p4"):
                released.set()

    works = _works(pids)
    assert resolve_content(works, read) == 5
    assert [w.status for w in works] == [Status.PENDING, Status.PENDING, Status.FAILED, Status.POISON,
                                         Status.PENDING, Status.FAILED, Status.PENDING]
    assert works[0].ops == works[6].ops == [UpsertContent(good[0])]
    assert works[1].ops == [ClearContent("p1", version_for_time(1_704_067_205_000))]
    assert works[4].ops == [UpsertContent(good[1])]
    assert "AccessDenied" in (works[2].failure or "") and works[2].ops == [] and works[5].failure == works[2].failure
    assert works[3].error is not None and works[3].error.field == "version"


def test_a_warm_instance_reads_with_the_threads_of_its_earlier_invocations():
    # Starting up to 16 threads per invocation was ~7% of the indexer's CPU; the pool outlives it.
    # Each read waits at a barrier, so every invocation needs (and reaches) 4 threads at once.
    pids = [c.id for c in CONTENT[:4]]
    objects = {content_key(c.id): content_to_json(c) for c in CONTENT[:4]}
    threads: list[set[str]] = []

    def invoke() -> None:
        barrier = threading.Barrier(len(pids), timeout=TIMEOUT)
        seen: set[str] = set()

        def read(key):
            seen.add(threading.current_thread().name)  # unique per pool; idents are reused
            barrier.wait()
            return objects[key]

        assert resolve_content(_works(pids), read, max_workers=4) == len(pids)
        threads.append(seen)

    for _ in range(3):
        invoke()
    assert len(threads[0]) == 4
    assert threads[1] == threads[2] == threads[0]
