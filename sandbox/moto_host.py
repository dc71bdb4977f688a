"""Host the one moto server of a sandbox (all regions on one endpoint) in this process.

Never combine with ``mock_aws`` in the same process (it resets the server's backends).

:func:`tune_moto` replaces one moto 5.2.5 helper with an equivalent that costs O(1)
instead of O(queue length): ``SQSBackend.is_message_valid_based_on_retention_period``
computes *every* queue attribute (three scans of the queue) to read the retention period,
once per received message, which makes draining a queue of a few thousand S3 events
quadratic (minutes for 2,000 content objects). The replacement reads the retention
period directly and keeps the same rule (a message older than the retention period is
not delivered). Likewise every ``SendMessage`` computes all queue attributes, including the
three ``ApproximateNumberOfMessages*`` counts (each a scan of the queue); those counts are
kept for 1 s, which SQS's own semantics allow (the counts are approximate and eventually
consistent on AWS too). Finally, the server resolves every request's backend afresh:
``DomainDispatcherApplication.get_backend_for_host`` lists moto's package directory
(``os.listdir`` plus an ``isdir`` per entry) and then tries hundreds of URL patterns, about
a sixth of the server's CPU during a catalog load; the answer for a host never changes
within a process, so it is remembered per host.

Issue 13 (profiled with py-spy during a 2,000-product ``catalog load --wait``) added two more:
``Queue.messages`` and the not-visible/delayed counts read the clock once per scan instead of
twice per message (same rule, same clock), and DynamoDB Streams ``GetRecords`` is written with
``json.dumps`` from moto's stored records instead of moto's model-driven serializer (~2 ms per
record; the body is the same JSON, compared in tests/integration/sandbox/test_moto_tuning.py).
Then, for ``storefront audit``/``reindex``, the DynamoDB answers and S3 listing timestamps of
:mod:`sandbox.moto_dynamodb`. ``STOREFRONT_MOTO_TUNING=baseline`` installs only the first three
(for side-by-side benchmarks). Every request is counted by (service, region, action):
:func:`request_counts`.

:class:`MotoHost` installs all of them while it runs and restores moto's own on stop, so other
moto users in the same process (tests) are not affected.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)
_originals: dict[tuple[Any, str], Any] = {}
_lock = threading.Lock()
COUNT_PROPERTIES = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
                    "approximate_number_of_messages_delayed")
COUNT_CACHE_SECONDS = 1.0
# "baseline": only the tuning of before issue 13 (for side-by-side benchmarks, bench/bench_sandbox.py)
TUNING_ENV = "STOREFRONT_MOTO_TUNING"


def tune_moto() -> None:
    """Install the replacements (idempotent); :func:`untune_moto` restores moto's own."""
    with _lock:
        if _originals:
            return
        from moto.core.serialize import TimestampSerializer
        from moto.core.utils import unix_time
        from moto.dynamodb import responses as dynamodb_responses
        from moto.dynamodb.models.table import Table
        from moto.dynamodb.responses import DynamoResult
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication
        from moto.sqs.models import Queue, SQSBackend

        def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
            queue = self.get_queue(queue_name)
            retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
            return bool(retain_until > unix_time())

        baseline = os.environ.get(TUNING_ENV, "") == "baseline"
        replacements: list[tuple[Any, str, Any]] = [
            (SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period),
        ]
        if not baseline:
            replacements.append((Queue, "messages", property(_visible_messages)))
        scans = {} if baseline else {"approximate_number_of_messages_not_visible": property(_count_not_visible),
                                     "approximate_number_of_messages_delayed": property(_count_delayed)}
        replacements += [(Queue, name, _cached_count(name, scans.get(name) or Queue.__dict__[name]))
                         for name in COUNT_PROPERTIES]
        replacements.append((DomainDispatcherApplication, "get_backend_for_host",
                             _memo_per_host(DomainDispatcherApplication.get_backend_for_host)))
        replacements.append((DomainDispatcherApplication, "__call__",
                             _counted(DomainDispatcherApplication.__call__)))
        if not baseline:
            from sandbox.moto_dynamodb import items_as_json, memo_timestamps, plain_items, scan_from_start_key

            replacements.append((DynamoDBStreamsHandler, "get_records", _get_records))
            replacements.append((Table, "scan", scan_from_start_key(Table.__dict__["scan"])))
            replacements.append((DynamoResult, "execute_result", items_as_json(DynamoResult.execute_result)))
            replacements.append((dynamodb_responses, "dynamo_to_dict",
                                 plain_items(dynamodb_responses.__dict__["dynamo_to_dict"])))
            replacements.append((TimestampSerializer, "_convert_timestamp_to_str",
                                 memo_timestamps(TimestampSerializer.__dict__["_convert_timestamp_to_str"])))
        for owner, name, value in replacements:
            _originals[(owner, name)] = owner.__dict__.get(name, _INHERITED)
            setattr(owner, name, value)


_INHERITED = object()  # the replaced attribute was the base class's: untune deletes the replacement


# ---------------------------------------------------------------- SQS: one clock read per scan
# moto's ``Message.visible`` and ``Message.delayed`` each read the clock (``utcnow`` and a
# datetime subtraction), so listing a queue's visible messages costs two clock reads per
# message: with a backlog of 2,000 S3 events every ReceiveMessage spent milliseconds there.
# The same rule with the clock read once per scan: visible when now > visible_at, delayed while
# now < delayed_until (both in epoch milliseconds, as moto keeps them).
def _visible_messages(queue: Any) -> list[Any]:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _count_not_visible(queue: Any) -> int:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return sum(1 for m in queue._messages if not now > m.visible_at)


def _count_delayed(queue: Any) -> int:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return sum(1 for m in queue._messages if now < m.delayed_until)


# ---------------------------------------------------------------- DynamoDB Streams GetRecords
# moto answers GetRecords through its generic, model-driven serializer, which walks the
# botocore shape of every AttributeValue of every image: ~2 ms per record, the largest single
# cost of an indexer's stream poll. The records moto keeps are already the wire format except
# for binary values (bytes -> base64) and ApproximateCreationDateTime (datetime -> epoch
# seconds, truncated to milliseconds, as the generic serializer and AWS send it), so they are
# written with json.dumps directly. tests/integration/sandbox/test_moto_tuning.py compares both outputs.
STREAMS_CONTENT_TYPE = "application/x-amz-json-1.0"


def _wire_value(value: Any) -> Any:
    import base64
    import calendar
    import datetime

    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        seconds = calendar.timegm(value.timetuple())
        return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds
    raise TypeError(f"not serializable in a GetRecords answer: {type(value).__name__}")


def get_records_body(result: dict[str, Any]) -> str:
    """The GetRecords answer body for the backend's ``{"NextShardIterator", "Records"}``."""
    import json

    out = {"Records": result.get("Records", [])}
    if result.get("NextShardIterator") is not None:
        out["NextShardIterator"] = result["NextShardIterator"]
    return json.dumps(out, default=_wire_value)


def _get_records(self: Any) -> tuple[str, dict[str, Any]]:
    arn = self._get_param("ShardIterator")
    limit = self._get_param("Limit")
    result = self.backend.get_records(arn, 1000 if limit is None else limit)
    return get_records_body(result), {"status": 200, "Content-Type": STREAMS_CONTENT_TYPE}


def untune_moto() -> None:
    """Put moto's own implementations back (other code in this process may use moto)."""
    with _lock:
        for (owner, name), value in _originals.items():
            if value is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        _originals.clear()


REQUESTS: Counter[tuple[str, str, str]] = Counter()


def request_counts() -> dict[tuple[str, str, str], int]:
    """Requests served since the tuning was installed, by (service, region, action); an S3
    action is its HTTP method and ``bucket`` or ``object``."""
    return dict(REQUESTS)


def request_kind(environ: dict[str, Any]) -> tuple[str, str, str]:
    """(service, region, action) of a signed AWS request, from its credential scope and target."""
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    try:
        _, _, region, service, _ = auth.split(",")[0].split()[1].split("/")
    except (IndexError, ValueError):
        region, service = "-", "unsigned"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        action = target.rsplit(".", 1)[-1]
    elif service == "s3":
        path = environ.get("PATH_INFO", "")
        action = environ.get("REQUEST_METHOD", "") + (" object" if path.strip("/").count("/") else " bucket")
    else:
        action = environ.get("REQUEST_METHOD", "") + " " + environ.get("PATH_INFO", "")[:40]
    return service, region, action


def _counted(original: Any) -> Any:
    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        REQUESTS[request_kind(environ)] += 1
        return original(self, environ, start_response)

    return __call__


def _memo_per_host(original: Any) -> Any:
    """``get_backend_for_host`` remembered per host (the mapping is fixed by the moto install)."""
    memo: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        try:
            return memo[host]
        except KeyError:
            pass
        backend = original(self, host)
        if len(memo) < 4096:  # hosts are service-region names; the bound only guards odd clients
            memo[host] = backend
        return backend

    return get_backend_for_host


def _cached_count(name: str, original: property) -> property:
    read = original.fget
    if read is None:
        raise TypeError(f"moto's Queue.{name} has no getter to cache")

    def fget(queue: Any) -> int:
        cache = queue.__dict__.setdefault("_sandbox_counts", {})
        now = time.monotonic()
        hit = cache.get(name)
        if hit is not None and now - hit[0] < COUNT_CACHE_SECONDS:
            return int(hit[1])
        value = int(read(queue))
        cache[name] = (now, value)
        return value

    return property(fget)


class MotoHost:
    """A ``ThreadedMotoServer`` on ``host:port``, started and stopped with the sandbox.

    moto's own server (werkzeug's development server: ``Connection: close`` and a thread per
    request). cheroot, with keep-alive and a worker pool, was tried in issue 13: writes got faster
    but the indexers' concurrent reads waited longer, and a 2,000-product load took 117 s instead
    of 89 s (bench/RESULTS.md, "Sandbox speed (issue 13)")."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoHost:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        tune_moto()
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self._wait_serving()
        self.reset()
        return self

    def reset(self) -> None:
        """Empty every backend (moto keeps them per process, across server restarts)."""
        import urllib.request

        req = urllib.request.Request(self.endpoint + "/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def _wait_serving(self, timeout: float = 10.0) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"moto did not start serving on {self.host}:{self.port}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        untune_moto()
