"""Every Lambda function starts from what ``cdk deploy`` ships.

Each function's asset is built by :func:`infra.bundling.build` (the bundler's own code,
for this host's platform, from the same lock) into a clean directory. The handler runs
in a fresh ``python -I -S -B`` whose import path is only that directory plus boto3,
botocore and s3transfer (what the Lambda runtime provides); its handler string,
environment (intrinsics resolved to plausible values), tracing mode, memory and timeout
come from the synthesized template. A module the handler imports under the deployed
configuration that the asset lacks fails here, not in AWS.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.bundling import ASSETS, LOCK, LOCK_COMMAND, RUNTIME_PROVIDED, asset_for, build, runtime_provided
from infra.deployed import Values, deployed_functions
from infra.settings import PROJECT_ROOT
from sandbox.function_process import FunctionProcess
from tests.infra.cdk.conftest import ACCOUNT, resources

pytestmark = pytest.mark.xdist_group("cdk")
REGION = "us-east-1"
ASSET_BUDGET_BYTES = 15 * 1024 * 1024  # issue 10: each function's asset <= 15 MB unzipped


# ---------------------------------------------------------------- the assets, built once per session
@pytest.fixture(scope="session")
def host_assets(tmp_path_factory) -> dict[str, Path]:
    """handler -> its asset built for this host into a fresh directory (needs PyPI for the wheels)."""
    root = tmp_path_factory.mktemp("assets")
    return {handler: build(spec, root / spec.name, "host") for handler, spec in ASSETS.items()}


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory) -> Path:
    """What the Lambda Python runtime adds to the path: boto3, botocore, s3transfer (from this venv)."""
    return runtime_provided(tmp_path_factory.mktemp("lambda-runtime"))


# ---------------------------------------------------------------- the template's view of a function
def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources(template, "AWS::Lambda::Function").items()
            if v["Properties"].get("Handler") in ASSETS}


def plausible_values(template: dict[str, Any], region: str = REGION) -> Values:
    """Intrinsics -> plausible deployed values (queue URL, domain endpoint, ARNs, names)."""

    def ref(logical: str) -> str:
        rtype = template["Resources"].get(logical, {}).get("Type", "")
        if rtype == "AWS::SQS::Queue":
            return f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{logical.lower()}"
        if logical in template.get("Parameters", {}):
            return str(template["Parameters"][logical].get("Default", logical.lower()))
        return logical.lower()

    def getatt(logical: str, attr: str) -> str:
        if attr == "DomainEndpoint":
            return f"search-{logical.lower()}.{region}.es.amazonaws.com"
        if attr.endswith("Arn"):
            return f"arn:aws:service:{region}:{ACCOUNT}:{logical.lower()}"
        return f"{logical.lower()}-{attr.lower()}"

    def import_value(name: Any) -> str:
        return f"imported-{re.sub(r'[^a-z0-9-]', '-', json.dumps(name).lower())[:40]}"

    return Values(REGION, ACCOUNT, ref, getatt, import_value)


def lambda_environment(props: dict[str, Any], template: dict[str, Any], name: str) -> dict[str, str]:
    """The process environment Lambda gives the function: the template's variables plus the runtime's own."""
    fn = deployed_functions(template, plausible_values(template))[name]
    return fn.lambda_environment(REGION, {"AWS_ACCESS_KEY_ID": "ASIATESTTESTTESTTEST",
                                          "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test"})


class _Context:
    function_name = "fn"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
    aws_request_id = "r-1"
    log_group_name = "/aws/lambda/fn"
    log_stream_name = "2026/01/01/[$LATEST]0"

    def __init__(self, props: dict[str, Any]) -> None:
        self.memory_limit_in_mb = int(props.get("MemorySize", 128))
        self.timeout_ms = int(props.get("Timeout", 3)) * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


def invoke(asset: Path, runtime: Path, props: dict[str, Any], env: dict[str, str], event: dict[str, Any]) -> Any:
    """One cold start and one invocation in a fresh, isolated interpreter (the sandbox's own
    :class:`FunctionProcess`); returns the handler's result."""
    fn = FunctionProcess(props["Handler"], [asset, runtime], env)
    try:
        fn.start()
        result = fn(event, _Context(props))
        outside = fn.outside()
    finally:
        fn.stop()
    assert outside == [], f"imported from outside the asset and the runtime: {outside}"
    return result


def _one(synth, handler: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    template = synth.template("search", REGION)
    found = [(v["Properties"], k) for k, v in _functions(template).items() if v["Properties"]["Handler"] == handler]
    assert len(found) == 1, f"expected one function with handler {handler}, found {len(found)}"
    props, logical = found[0]
    return template, props, props.get("FunctionName", logical)


# ---------------------------------------------------------------- the handlers, from their deployed assets
def test_every_python_function_in_the_templates_has_a_known_asset(synth):
    for name, template in synth.templates.items():
        # CDK's own BucketDeployment provider (the search page's site stack): its code ships in aws-cdk-lib
        cdk_providers = {r["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
                         for r in resources(template, "Custom::CDKBucketDeployment").values()}
        for logical, res in resources(template, "AWS::Lambda::Function").items():
            props = res["Properties"]
            if str(props.get("Runtime", "")).startswith("python") and logical not in cdk_providers:
                assert props["Handler"] in ASSETS, f"{name}/{logical}: {props['Handler']} is not built by the bundler"


def test_search_api_answers_health_from_its_deployed_asset(synth, host_assets, runtime_dir):
    template, props, name = _one(synth, "search_api.handler.lambda_handler")
    assert props["TracingConfig"] == {"Mode": "Active"}  # so Powertools' tracer (and X-Ray SDK) load
    env = lambda_environment(props, template, name)
    assert "POWERTOOLS_TRACE_DISABLED" not in env
    event = {"resource": "/health", "path": "/health", "httpMethod": "GET", "headers": {"Accept": "application/json"},
             "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"resourcePath": "/health", "httpMethod": "GET", "requestId": "r-1", "stage": "prod",
                                "path": "/prod/health", "identity": {"sourceIp": "203.0.113.9"}}}
    result = invoke(host_assets[props["Handler"]], runtime_dir, props, env, event)
    # no domain reachable from here: 503 (unhealthy) is the expected answer; 200 would be too
    assert result["statusCode"] in (200, 503), result
    assert isinstance(json.loads(result["body"]), dict)


def test_indexer_processes_an_empty_batch_from_its_deployed_asset(synth, host_assets, runtime_dir):
    template, props, name = _one(synth, "indexer.handler.lambda_handler")
    assert props["TracingConfig"] == {"Mode": "Active"}
    env = lambda_environment(props, template, name)
    assert "POWERTOOLS_TRACE_DISABLED" not in env
    result = invoke(host_assets[props["Handler"]], runtime_dir, props, env, {"Records": []})
    assert result == {"batchItemFailures": []}


class _ResponseURL(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def test_index_bootstrap_answers_a_delete_from_its_deployed_asset(synth, host_assets, runtime_dir):
    template, props, name = _one(synth, "index_bootstrap.lambda_handler")
    env = lambda_environment(props, template, name)
    server = http.server.HTTPServer(("127.0.0.1", 0), _ResponseURL)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        event = {"RequestType": "Delete", "ResponseURL": f"http://127.0.0.1:{server.server_port}/cfn",
                 "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1", "RequestId": "q-1",
                 "LogicalResourceId": "Index", "PhysicalResourceId": "https://search-x/products",
                 "ResourceType": "Custom::StorefrontIndex",
                 "ResourceProperties": {"Endpoint": "https://search-x", "Alias": "products"}}
        invoke(host_assets[props["Handler"]], runtime_dir, props, env, event)
    finally:
        server.shutdown()
    assert [r["Status"] for r in _ResponseURL.received] == ["SUCCESS"]


# ---------------------------------------------------------------- small, reproducible
def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize("handler", ["indexer.handler.lambda_handler", "search_api.handler.lambda_handler"])
def test_lambda_asset_is_within_budget(handler, tmp_path):
    """Built for the Lambda platform exactly as ``cdk synth`` does (arm64 wheels)."""
    asset = build(asset_for(handler), tmp_path / "asset", "lambda")
    size = _tree_bytes(asset)
    assert size <= ASSET_BUDGET_BYTES, f"{handler}: {size / 2**20:.1f} MB unzipped, budget 15 MB"
    names = {p.name for p in asset.iterdir()}
    assert not names & {"grpc", "google", "boto3", "botocore"}, names  # no protobuf stack, no runtime SDK copies
    assert "aws_xray_sdk" in names


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", LOCK.read_text(), flags=re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def test_lock_pins_every_runtime_dependency_within_pyproject_ranges_with_hashes():
    text = LOCK.read_text()
    locked = _locked()
    assert LOCK_COMMAND.split(" -o ")[0] in " ".join(text.split()), "lock not made by bundling.LOCK_COMMAND"
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for raw in project:
        req = Requirement(raw)
        name = canonicalize_name(req.name)
        if name in RUNTIME_PROVIDED:
            assert name not in locked, f"{name} is provided by the Lambda runtime and must not be locked"
            continue
        assert name in locked, f"{req.name} (pyproject) is missing from {LOCK.name}: regenerate it"
        assert req.specifier.contains(locked[name], prereleases=True), \
            f"{req.name}=={locked[name]} in the lock is outside pyproject's {req.specifier}"
        if "tracer" in req.extras:
            assert "aws-xray-sdk" in locked
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    for block in blocks:
        if "==" in block.split("\n", 1)[0]:
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
    assert not {"grpcio", "protobuf", "opensearch-protobufs"} & set(locked)


def test_asset_hash_covers_the_locked_versions_and_the_sources(tmp_path, monkeypatch):
    import infra.assets as bundling

    spec = asset_for("indexer.handler.lambda_handler")
    before = bundling.asset_hash(spec)
    assert bundling.asset_hash(spec) == before  # same inputs, same hash (no clock, no machine path)
    changed = tmp_path / "lambda.txt"
    changed.write_text(LOCK.read_text().replace("opensearch-py==", "opensearch-py==0", 1))
    monkeypatch.setattr(bundling, "LOCK", changed)
    assert bundling.asset_hash(spec) != before
    assert bundling.asset_hash(spec, "host") != bundling.asset_hash(spec, "lambda")
