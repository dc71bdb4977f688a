"""The sandbox runs what deploys, so a break in what deploys breaks the sandbox, naming the
cause: a variable removed from a function's environment in the CDK code fails the
function's start naming the variable; a runtime dependency missing from the asset fails it
naming the module; a batch size changed in the CDK code is the size of the sandbox's batches.

One synth of the (deliberately broken) CDK app for the module, in this process, with the
CDK code patched; the sandbox's own code (:func:`sandbox.supervisor.region_spec`, the region
process's :func:`sandbox.region.start_functions` and :func:`sandbox.region.event_sources`)
reads it. The assets are the sandbox's (built for this host once, cached).
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from catalog.config import load_config
from sandbox.deployed import cloud_assembly, synthesize
from sandbox.function_process import FunctionInitError
from sandbox.region import event_sources, start_functions
from sandbox.resources import RegionResources, Resources
from sandbox.state import planned_endpoints
from sandbox.supervisor import function_paths, region_spec

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


HANDLERS = ["indexer.handler.lambda_handler", "search_api.handler.lambda_handler"]


@pytest.fixture(scope="module")
def paths():
    return function_paths(HANDLERS)


def _spec(cfg, templates, paths):
    return region_spec(cfg, templates, planned_endpoints(cfg, 1), _resources(cfg), REGION, paths)


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


def _start(fn) -> str:
    """The region process's start of one function: "STARTED", or the init error it raises."""
    try:
        started = start_functions([fn])
    except FunctionInitError as exc:
        return str(exc)
    for process in started:
        process.stop()
    return "STARTED"


def test_a_variable_removed_in_the_cdk_code_fails_the_function_naming_it(broken, paths, tmp_path):
    cfg, templates = broken
    spec = _spec(cfg, templates, paths)
    assert REMOVED not in spec.indexer.environment
    assert REMOVED in _start(spec.indexer)

    # the same start from the app as it is: the indexer starts
    intact = _spec(_cfg(tmp_path), cloud_assembly(_cfg(tmp_path)), paths)
    assert intact.indexer.environment[REMOVED] == intact.stream_source.on_failure_url  # the sandbox's DLQ
    assert _start(intact.indexer) == "STARTED"


def test_a_runtime_dependency_missing_from_the_asset_fails_the_function_naming_it(paths, tmp_path):
    cfg = _cfg(tmp_path)
    spec = _spec(cfg, cloud_assembly(cfg), paths)
    for fn in (spec.indexer, spec.search):
        asset, *runtime = fn.paths
        lacking = tmp_path / fn.name
        shutil.copytree(asset, lacking, symlinks=True)
        shutil.rmtree(lacking / "aws_lambda_powertools")
        error = _start(dataclasses.replace(fn, paths=[str(lacking), *runtime]))
        assert "No module named 'aws_lambda_powertools'" in error, error


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


def test_the_batch_size_changed_in_the_cdk_code_is_the_size_of_the_sandboxs_batches(broken, paths):
    cfg, templates = broken
    spec = _spec(cfg, templates, paths)
    assert spec.stream_source.batch_size == BATCH_SIZE
    indexer = _Indexer()
    stream, _queue = event_sources(spec, indexer, _Reader(20), sqs=None)
    while stream.poll_once():
        pass
    assert indexer.batches == [7, 7, 6]
