"""The sandbox's view of what deploys: the CDK app synthesized for the sandbox's configuration.

:func:`cloud_assembly` synthesizes the app (bundling skipped, cdk-nag off: only the
templates matter here) in a child process and caches the templates under a hash of the
configuration (its ``[sandbox]`` section aside: ports and folders do not go into a
template) and of every file of code that goes into the app (:data:`CODE`). The first
build prints progress; later ``sandbox up`` runs read the cache. The cache folder is
``$STOREFRONT_SANDBOX_CACHE``, else ``.sandbox-cache`` in the project root, so one
synth serves every sandbox of the same configuration (the e2e suite's too).

:func:`sandbox_functions` reads each region's functions from its search stack: handler
string, environment, timeout, memory and event source mappings, with intrinsics resolved
to the sandbox's own resources (:func:`sandbox_values`). No second list of variables:
what the sandbox changes is :func:`local_addition` (the embedded engine in place of the
OpenSearch domain, which cannot run here) and :data:`COMPRESSED_TIMING`, nothing else.
:func:`sandbox_api` reads the REST API's stage and custom domain for the API front.

``python -m sandbox.deployed CONFIG OUTDIR`` is the child that synthesizes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.config import AwsConfig, DeploymentConfig, SandboxConfig, load_config
from infra.deployed import DeployedFunction, TemplateError, Values, deployed_functions, resolve
from sandbox.state import SANDBOX_DOMAIN, SandboxError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# every file whose content can change a synthesized template
CODE = ("infra", "catalog", "indexer", "search_api", "requirements/lambda.txt", "cdk.json")
CACHE_ENV = "STOREFRONT_SANDBOX_CACHE"
SYNTH_TIMEOUT_SECONDS = 600.0
# The engine the functions use in the sandbox: the one named local addition (OpenSearch cannot
# run here). These variables replace the template's OPENSEARCH_* ones; nothing else is changed.
ENGINE_VARIABLES_REPLACED = ("OPENSEARCH_ENDPOINT", "OPENSEARCH_AUTH")


# The sandbox compresses Route 53's timing ([sandbox] health_check_interval_seconds, 1 s
# instead of 10 or 30): the search function's maintenance-switch cache is compressed with it,
# so a region taken out is detected within interval x threshold + 1 s (issue 6). Only a
# variable the template sets is changed: one the CDK code lost stays missing.
COMPRESSED_TIMING = {"MAINTENANCE_CACHE_SECONDS": "0"}
# Route 53 health checks keep the template's settings (type, path, threshold, inversion...) but for
# two local changes, here and nowhere else: every endpoint check probes every
# [sandbox] health_check_interval_seconds (:func:`probe_interval_seconds`) in place of its
# RequestInterval, and a check of a region's execute-api host probes that region's port over HTTP
# (:func:`sandbox_health_check`: no TLS here), with the host name kept for the Host header.
EXECUTE_API_HOST = re.compile(r"^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")


def probe_interval_seconds(cfg: DeploymentConfig) -> float:
    """How often the sandbox probes a health check's endpoint (the template says 10 or 30 s)."""
    return float(cfg.sandbox.health_check_interval_seconds)


def sandbox_health_check(cfg: DeploymentConfig, config: Mapping[str, Any]) -> dict[str, Any]:
    """A template's ``HealthCheckConfig`` (intrinsics resolved) as the sandbox creates it (see above)."""
    out = dict(config)
    match = EXECUTE_API_HOST.match(str(out.get("FullyQualifiedDomainName", "")))
    if match and match.group(1) in cfg.regions and str(out.get("Type", "")).startswith(("HTTP", "HTTPS")):
        out["Type"] = out["Type"].replace("HTTPS", "HTTP")
        out["IPAddress"] = cfg.sandbox.host if cfg.sandbox.host != "localhost" else "127.0.0.1"
        out["Port"] = cfg.sandbox.region_port(cfg.regions, match.group(1))
        out.pop("EnableSNI", None)
    return out


def stack_region(stack: str, cfg: DeploymentConfig) -> str:
    """A regional stack's region (its name ends with it); the primary region for the global stacks."""
    return next((r for r in cfg.regions if stack.endswith(f"-{r}")), cfg.primary)


def sdk_method(action: str) -> str:
    """An AWS SDK action as a template's ``AwsCustomResource`` names it (``describeTable``,
    ``PutBucketReplicationCommand``) -> the boto3 client method (``describe_table``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action.removesuffix("Command")).lower()


def local_addition(index_dir: str) -> dict[str, str]:
    """The embedded engine's variables (see :mod:`catalog.engine`)."""
    return {"SEARCH_ENGINE": "embedded", "EMBEDDED_INDEX_DIR": index_dir}


def sandbox_aws(cfg: DeploymentConfig) -> AwsConfig:
    """``[aws]`` when configured, else one for the sandbox's account and domain (defaults for the rest)."""
    if cfg.aws is not None:
        return cfg.aws
    return AwsConfig(account=cfg.account, domain_name=SANDBOX_DOMAIN, hosted_zone_id="ZSANDBOX",
                     hosted_zone_name=SANDBOX_DOMAIN.split(".", 1)[1])


def deployed_config(cfg: DeploymentConfig) -> DeploymentConfig:
    """What the app is synthesized from: the configuration with its ``[aws]`` (:func:`sandbox_aws`),
    without what only the sandbox reads."""
    return dataclasses.replace(cfg, aws=sandbox_aws(cfg), sandbox=SandboxConfig(), source=None)


def code_files() -> list[Path]:
    files: list[Path] = []
    for item in CODE:
        path = PROJECT_ROOT / item
        found = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [p for p in found if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return files


def cache_key(cfg: DeploymentConfig) -> str:
    """A hash of what the synthesized templates depend on: the configuration and the code."""
    h = hashlib.sha256(json.dumps(dataclasses.asdict(deployed_config(cfg)), sort_keys=True, default=str).encode())
    for path in code_files():
        h.update(str(path.relative_to(PROJECT_ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:24]


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or PROJECT_ROOT / ".sandbox-cache")


def synthesize(cfg: DeploymentConfig, outdir: Path) -> dict[str, dict[str, Any]]:
    """Synthesize the CDK app for ``cfg`` into ``outdir`` (in this process); the templates by stack name."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.app import create_app, new_app
    from infra.settings import for_aws

    dep = for_aws(deployed_config(cfg))
    app = new_app(outdir=str(outdir), context={"skip_bundling": True, "nag": False}, validation=False)
    create_app(dep, app, nag=False)
    app.synth()
    return read_templates(outdir)


def read_templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return {p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in outdir.glob("*.template.json")}


def cloud_assembly(cfg: DeploymentConfig, progress: Callable[[str], None] | None = None,
                   root: Path | None = None) -> dict[str, dict[str, Any]]:
    """The templates synthesized for ``cfg``: from the cache, else synthesized now (in a child process)."""
    root = root or cache_root()
    outdir = root / "synth" / cache_key(cfg)
    if (outdir / "manifest.json").is_file():
        return read_templates(outdir)
    say = progress or (lambda _m: None)
    say(f"synthesizing the CDK app for this configuration (first build, cached in {outdir.parent}) ...")
    t0 = time.monotonic()
    tmp = outdir.with_name(f"{outdir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "sandbox.deployed", str(cfg.source or ""), str(tmp / "cdk.out")],
                          capture_output=True, text=True, timeout=SYNTH_TIMEOUT_SECONDS, cwd=str(PROJECT_ROOT),
                          check=False)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SandboxError(f"synthesizing the CDK app failed: {proc.stderr.strip()[-3000:]}")
    with contextlib.suppress(OSError):  # another sandbox cached the same key meanwhile
        os.replace(tmp / "cdk.out", outdir)
    shutil.rmtree(tmp, ignore_errors=True)
    say(f"synthesized in {time.monotonic() - t0:.1f} s")
    return read_templates(outdir)


# ---------------------------------------------------------------- the functions as the sandbox runs them
@dataclass(frozen=True)
class SandboxNames:
    """The sandbox's own values for what a template refers to: queue URLs by the URL or ARN AWS would give."""

    endpoint: str
    queue_urls: Mapping[str, str]  # AWS queue URL or ARN -> the sandbox's queue URL

    def queue_url(self, aws_url_or_arn: str) -> str:
        try:
            return self.queue_urls[aws_url_or_arn]
        except KeyError:
            raise TemplateError(f"the template refers to the queue {aws_url_or_arn}, which the sandbox "
                                "does not create") from None


def aws_queue_url(region: str, account: str, name: str) -> str:
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def aws_queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def sandbox_values(template: Mapping[str, Any], region: str, account: str,
                   created: Mapping[str, Mapping[str, Any]] | None = None) -> Values:
    """Intrinsics -> what the sandbox created (``created``: logical id -> ``{"Ref": ..., attribute: ...}``,
    :mod:`sandbox.resources`), else the names AWS would give (the sandbox creates its resources under
    the same names)."""
    made = created if created is not None else {}

    def ref(logical: str) -> Any:
        if logical in made:
            return made[logical]["Ref"]
        if logical in template.get("Parameters", {}):
            return str(template["Parameters"][logical].get("Default", logical))
        return logical

    def getatt(logical: str, attr: str) -> Any:
        if attr in made.get(logical, {}):
            return made[logical][attr]
        if attr == "DomainEndpoint":
            return "opensearch-domain-not-in-the-sandbox"  # replaced by the local addition
        return f"{logical}.{attr}"  # an ESM's stream ARN: the sandbox takes its own

    return Values(region, account, ref, getatt)


def sandbox_functions(templates: Mapping[str, Mapping[str, Any]], cfg: DeploymentConfig,
                      region: str) -> dict[str, DeployedFunction]:
    """The region's indexer and search functions from its search stack (``indexer``/``search`` -> function)."""
    stack = cfg.stack_name("search", region)
    if stack not in templates:
        raise TemplateError(f"no stack {stack} in the synthesized app")
    functions = deployed_functions(templates[stack], sandbox_values(templates[stack], region, cfg.account))
    out: dict[str, DeployedFunction] = {}
    for role, name in (("indexer", cfg.indexer_function_name(region)), ("search", cfg.search_function_name(region))):
        if name not in functions:
            raise TemplateError(f"stack {stack} has no function {name}")
        out[role] = functions[name]
    return out


@dataclass(frozen=True)
class SandboxApi:
    """What the region's API front (:mod:`sandbox.apigw`) takes from the search stack's template."""

    stage: str  # the AWS::ApiGateway::Stage's StageName (an execute-api URL names it first)
    domain_name: str  # the AWS::ApiGateway::DomainName's (requests to it carry no stage); "" when none


def sandbox_api(templates: Mapping[str, Mapping[str, Any]], cfg: DeploymentConfig, region: str) -> SandboxApi:
    """The region's REST API stage and custom domain, as its search stack declares them."""
    stack = cfg.stack_name("search", region)
    if stack not in templates:
        raise TemplateError(f"no stack {stack} in the synthesized app")
    template = templates[stack]
    values = sandbox_values(template, region, cfg.account)

    def properties(rtype: str) -> list[Mapping[str, Any]]:
        return [r.get("Properties", {}) for r in template.get("Resources", {}).values() if r.get("Type") == rtype]

    stages = properties("AWS::ApiGateway::Stage")
    if len(stages) != 1 or not stages[0].get("StageName"):
        raise TemplateError(f"stack {stack}: expected one AWS::ApiGateway::Stage with a StageName, "
                            f"found {len(stages)}")
    domains = properties("AWS::ApiGateway::DomainName")
    if len(domains) > 1:
        raise TemplateError(f"stack {stack}: expected at most one AWS::ApiGateway::DomainName, found {len(domains)}")
    domain = str(resolve(domains[0]["DomainName"], values)) if domains else ""
    return SandboxApi(str(resolve(stages[0]["StageName"], values)), domain)


def sandbox_environment(fn: DeployedFunction, region: str, names: SandboxNames, index_dir: str,
                        credentials: Mapping[str, str]) -> dict[str, str]:
    """The function's environment in the sandbox: its template's, queue URLs pointed at the sandbox's
    queues, the engine replaced by :func:`local_addition`, :data:`COMPRESSED_TIMING`; plus what the
    Lambda runtime sets."""
    env = fn.lambda_environment(region, credentials)
    for key, value in env.items():
        if value.startswith("https://sqs."):
            env[key] = names.queue_url(value)
    for key in ENGINE_VARIABLES_REPLACED:
        env.pop(key, None)
    env.update({k: v for k, v in COMPRESSED_TIMING.items() if k in env})
    env.update(local_addition(index_dir))
    env["AWS_ENDPOINT_URL"] = names.endpoint
    return env


def main(argv: list[str]) -> int:
    config, outdir = argv
    cfg = load_config(config or None)
    synthesize(cfg, Path(outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
