"""The sandbox runs what deploys, so a break in what deploys breaks the sandbox, naming the
cause: a variable removed from a function's environment in the CDK code fails the
function's start naming the variable; a runtime dependency missing from the asset fails it
naming the module; a batch size changed in the CDK code is the size of the sandbox's batches;
a permission removed from the indexer's role in the CDK code fails its reads with
``AccessDenied`` naming the action (the function runs as its role, and moto judges it).

One synth of the (deliberately broken) CDK app for the module, in this process, with the
CDK code patched; the sandbox's own code (:func:`sandbox.supervisor.region_spec`, the region
process's :func:`sandbox.region.start_functions` and :func:`sandbox.region.event_sources`)
reads it. The assets are the sandbox's (built for this host once, cached).
"""

from __future__ import annotations

import dataclasses
import shutil
import time

import pytest

from catalog.config import load_config
from catalog.convert import content_to_json
from catalog.generator import generate
from catalog.model import content_key
from sandbox.aws import client, credentials_of
from sandbox.deployed import cloud_assembly, synthesize
from sandbox.function_process import FunctionInitError, FunctionProcess
from sandbox.iam import SandboxIam
from sandbox.lambda_runtime import Invoker
from sandbox.moto_host import MotoHost
from sandbox.region import ensure_index, event_sources, start_functions
from sandbox.resources import RegionResources, Resources, create_resources
from sandbox.state import free_sandbox_ports, planned_endpoints
from sandbox.supervisor import function_paths, region_spec

pytestmark = pytest.mark.xdist_group("cdk")
REGION = "us-east-1"
REMOVED = "DLQ_URL"
BATCH_SIZE = 7
REVOKED = "ReadContent"  # the indexer role's statement allowing s3:GetObject on products/*


def _cfg(tmp_path, aws_port: int | None = None):
    path = tmp_path / "storefront.toml"
    sandbox = f"[sandbox]\naws_port = {aws_port}\n" if aws_port else ""
    path.write_text(f'name_prefix = "deployed"\nregions = ["{REGION}", "eu-west-1"]\n{sandbox}')
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


# ---------------------------------------------------------------- the indexer's role
@pytest.fixture(scope="module")
def revoked(tmp_path_factory):
    """The app synthesized with the indexer role's ReadContent statement removed in the CDK code."""
    import infra.stacks.search as search

    tmp = tmp_path_factory.mktemp("revoked-app")
    cfg = _cfg(tmp)
    mp = pytest.MonkeyPatch()
    real = search._read_content
    mp.setattr(search, "_read_content", lambda *args: [st for st in real(*args) if st.sid != REVOKED])
    try:
        templates = synthesize(cfg, tmp / "cdk.out")
    finally:
        mp.undo()
    return templates


class _Recorded:
    """The indexer as its queue event source calls it, keeping each answer."""

    def __init__(self, invoker: Invoker) -> None:
        self.invoker = invoker
        self.function_arn = invoker.function_arn
        self.answers: list[dict] = []

    def __call__(self, event):
        self.answers.append(self.invoker(event))
        return self.answers[-1]


def _index_content_as_deployed(templates, paths, tmp_path) -> tuple[dict, str]:
    """The sandbox's moto (IAM judged), its resources and the template's roles; one product's content
    object put in the bucket, its S3 event delivered through the queue event source (polling as the
    indexer's role) to the indexer (running as its role): the indexer's answer and its log."""
    cfg = _cfg(tmp_path, free_sandbox_ports()[0])
    host = MotoHost(cfg.sandbox.host, cfg.sandbox.aws_port).start()
    iam = SandboxIam(cfg, host.endpoint).start()
    try:
        resources = create_resources(cfg, templates, host.endpoint)
        iam.create_roles(templates)
        spec = region_spec(cfg, templates, planned_endpoints(cfg, 1), resources, REGION, paths,
                           iam.function_credentials(templates, REGION))
        ensure_index(spec.indexer.environment)
        g = next(iter(generate(1, seed=3)))
        client("s3", REGION, host.endpoint).put_object(Bucket=cfg.bucket_name(REGION), Key=content_key(g.product.id),
                                                       Body=content_to_json(g.content))
        log = tmp_path / "indexer.log"
        with open(log, "w") as out:
            fn = FunctionProcess(spec.indexer.handler, spec.indexer.paths, spec.indexer.environment, log=out).start()
            try:
                indexer = _Recorded(Invoker(fn, spec.indexer.name, REGION, cfg.account,
                                            spec.indexer.timeout_seconds, spec.indexer.memory_mb))
                sqs = client("sqs", REGION, host.endpoint, credentials=credentials_of(spec.indexer.environment))
                _stream, queue = event_sources(spec, indexer, None, sqs)
                deadline = time.monotonic() + 30
                while not indexer.answers and time.monotonic() < deadline:
                    queue.poll_once()
            finally:
                fn.stop()
        assert indexer.answers, "the content event never reached the indexer"
        return indexer.answers[0], log.read_text()
    finally:
        iam.stop()
        host.stop()


def test_a_permission_removed_from_the_indexers_role_fails_its_reads_naming_it(revoked, paths, tmp_path):
    (tmp_path / "revoked").mkdir()
    answer, log = _index_content_as_deployed(revoked, paths, tmp_path / "revoked")
    assert answer["batchItemFailures"], answer  # reported, so SQS redelivers: nothing dropped
    assert "AccessDenied" in log and "is not authorized to perform: s3:GetObject" in log, log[-3000:]
    assert "assumed-role/" in log  # as the indexer's role, not as an all-powerful key

    # the same from the app as it is: the indexer reads the object and indexes it
    intact = tmp_path / "intact"
    intact.mkdir()
    answer, log = _index_content_as_deployed(cloud_assembly(_cfg(intact)), paths, intact)
    assert answer == {"batchItemFailures": []}, log[-3000:]
    assert "AccessDenied" not in log
