"""The sandbox takes its functions from the synthesized app, so a change to the CDK code shows
in the sandbox: a variable removed from a function's environment fails the function's start
naming the variable; a changed batch size is the size of the sandbox's batches.

One synth of the (deliberately broken) CDK app for the module, in this process, with the
CDK code patched; the sandbox's own code (:func:`sandbox.supervisor.region_spec`, the region
process's :func:`sandbox.region.load_handlers` and :func:`sandbox.region.event_sources`)
reads it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict

import pytest

from catalog.config import load_config
from infra.settings import PROJECT_ROOT
from sandbox.deployed import cloud_assembly, synthesize
from sandbox.region import event_sources
from sandbox.resources import RegionResources, Resources
from sandbox.state import planned_endpoints
from sandbox.supervisor import region_spec

pytestmark = pytest.mark.xdist_group("cdk")
REGION = "us-east-1"
REMOVED = "DLQ_URL"
BATCH_SIZE = 7


def _cfg(tmp_path):
    path = tmp_path / "storefront.toml"
    path.write_text(f'name_prefix = "deployed"\nregions = ["{REGION}", "eu-west-1"]\n')
    return load_config(path)


def _resources(cfg) -> Resources:
    out = Resources()
    for r in cfg.regions:
        out.regions[r] = RegionResources(
            region=r, table_name=cfg.table_name, stream_arn=f"arn:aws:dynamodb:{r}:{cfg.account}:table/x/stream/1",
            bucket=cfg.bucket_name(r), queue_url=f"http://127.0.0.1:1/{cfg.account}/{cfg.queue_name(r)}",
            queue_arn=f"arn:aws:sqs:{r}:{cfg.account}:{cfg.queue_name(r)}",
            dlq_url=f"http://127.0.0.1:1/{cfg.account}/{cfg.dlq_name(r)}",
            dlq_arn=f"arn:aws:sqs:{r}:{cfg.account}:{cfg.dlq_name(r)}",
            maintenance_parameter=cfg.maintenance_parameter(r))
    return out


def _spec(cfg, templates):
    return region_spec(cfg, templates, planned_endpoints(cfg, 1), _resources(cfg), REGION)


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The app synthesized with the indexer's DLQ_URL removed and the stream batch size changed in the CDK code."""
    import infra.constructs.functions as functions

    tmp = tmp_path_factory.mktemp("broken-app")
    cfg = _cfg(tmp)
    mp = pytest.MonkeyPatch()
    real_function, real_stream = functions._handler_function, functions.sources.DynamoEventSource

    def without_variable(*args, environment, **kwargs):
        return real_function(*args, environment={k: v for k, v in environment.items() if k != REMOVED}, **kwargs)

    def other_batch_size(*args, **kwargs):
        return real_stream(*args, **{**kwargs, "batch_size": BATCH_SIZE})

    mp.setattr(functions, "_handler_function", without_variable)
    mp.setattr(functions.sources, "DynamoEventSource", other_batch_size)
    try:
        templates = synthesize(cfg, tmp / "cdk.out")
    finally:
        mp.undo()
    return cfg, templates


def _start(fn) -> subprocess.CompletedProcess[str]:
    """The region process's start of one function (its handler imported under its environment)."""
    code = ("import json, sys\nfrom sandbox.region import FunctionSpec, load_handlers\n"
            "load_handlers([FunctionSpec(**json.loads(sys.argv[1]))])\nprint('STARTED')")
    return subprocess.run([sys.executable, "-c", code, json.dumps(asdict(fn))], capture_output=True, text=True,
                          timeout=120, cwd=str(PROJECT_ROOT), check=False)


def test_a_variable_removed_in_the_cdk_code_fails_the_function_naming_it(broken, tmp_path):
    cfg, templates = broken
    spec = _spec(cfg, templates)
    assert REMOVED not in spec.indexer.environment
    started = _start(spec.indexer)
    assert started.returncode != 0 and "STARTED" not in started.stdout
    assert REMOVED in started.stderr.strip().splitlines()[-1], started.stderr[-2000:]

    # the same start from the app as it is: the indexer starts
    intact = _spec(_cfg(tmp_path), cloud_assembly(_cfg(tmp_path)))
    assert intact.indexer.environment[REMOVED] == intact.stream_source.on_failure_url  # the sandbox's DLQ
    ok = _start(intact.indexer)
    assert ok.returncode == 0 and "STARTED" in ok.stdout, ok.stderr[-2000:]


class _Reader:
    """A stream of ``n`` records on one shard, read as DynamoDB Streams would give them."""

    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/x/stream/1"

    def __init__(self, n: int) -> None:
        self.records = [("shard-1", {"eventName": "INSERT", "dynamodb": {
            "SequenceNumber": str(100 + i), "Keys": {"id": {"S": f"p{i}"}}}}) for i in range(n)]

    def read(self, limit: int = 1000):
        out, self.records = self.records[:limit], self.records[limit:]
        return out

    def rewind(self, shard: str, sequence_number: str) -> None:  # pragma: no cover - nothing fails here
        raise AssertionError("no batch fails in this test")


class _Indexer:
    function_arn = "arn:aws:lambda:us-east-1:123456789012:function:deployed-indexer-us-east-1"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, event):
        self.batches.append(len(event["Records"]))
        return {"batchItemFailures": []}


def test_the_batch_size_changed_in_the_cdk_code_is_the_size_of_the_sandboxs_batches(broken):
    cfg, templates = broken
    spec = _spec(cfg, templates)
    assert spec.stream_source.batch_size == BATCH_SIZE
    indexer = _Indexer()
    stream, _queue = event_sources(spec, indexer, _Reader(20), sqs=None)
    while stream.poll_once():
        pass
    assert indexer.batches == [7, 7, 6]
