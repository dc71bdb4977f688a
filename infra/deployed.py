"""What deploys, read back from a synthesized template: each Python function's handler,
environment, timeout, memory and event source mappings, with intrinsics resolved.

Plain data, no CDK import: the infra tests (plausible deployed values) and the sandbox
(its own endpoints and names) read the same templates through these functions, each with
its own answer for a ``Ref`` or ``Fn::GetAtt`` (:class:`Values`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

LAMBDA_FUNCTION = "AWS::Lambda::Function"
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class TemplateError(ValueError):
    """The template lacks what a reader needs, or holds an intrinsic it cannot resolve; the message names it."""


@dataclass(frozen=True)
class Values:
    """How a reader resolves what only a deployment knows: ``ref(logical_id)`` for a ``Ref`` to a
    resource or parameter, ``getatt(logical_id, attribute)``, ``import_value(name)``, and the pseudo parameters."""

    region: str
    account: str
    ref: Callable[[str], Any]
    getatt: Callable[[str, str], Any]
    import_value: Callable[[Any], Any] = lambda name: f"imported-{name}"
    url_suffix: str = "amazonaws.com"

    def pseudo(self) -> dict[str, str]:
        return {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                "AWS::URLSuffix": self.url_suffix, "AWS::StackName": "stack", "AWS::NoValue": ""}


def resolve(value: Any, values: Values) -> Any:
    """``value`` with every intrinsic function (Ref, GetAtt, Join, Select, Split, Sub, ImportValue) resolved."""
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        pseudo = values.pseudo()
        return pseudo[value["Ref"]] if value["Ref"] in pseudo else values.ref(value["Ref"])
    if set(value) == {"Fn::GetAtt"}:
        att = value["Fn::GetAtt"]
        logical, attr = att if isinstance(att, list) else att.split(".", 1)
        return values.getatt(logical, attr)
    if set(value) == {"Fn::ImportValue"}:
        return values.import_value(resolve(value["Fn::ImportValue"], values))
    if set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(str(resolve(p, values)) for p in parts)
    if set(value) == {"Fn::Select"}:
        index, items = value["Fn::Select"]
        return resolve(items, values)[int(index)]
    if set(value) == {"Fn::Split"}:
        sep, text = value["Fn::Split"]
        return str(resolve(text, values)).split(sep)
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(resolve({"Ref": m.group(1)}, values)), text)
    if len(value) == 1 and next(iter(value)).startswith("Fn::"):
        raise TemplateError(f"cannot resolve the intrinsic {next(iter(value))}: {value!r}")
    return {k: resolve(v, values) for k, v in value.items()}


@dataclass(frozen=True)
class EventSourceMapping:
    """One ``AWS::Lambda::EventSourceMapping`` (settings resolved; Lambda's defaults where absent)."""

    logical_id: str
    source_arn: str
    batch_size: int
    batching_window_seconds: int
    starting_position: str | None
    bisect_on_error: bool
    max_retries: int
    max_record_age_seconds: int
    report_batch_item_failures: bool
    max_concurrency: int | None
    parallelization_factor: int
    on_failure_arn: str | None

    @property
    def service(self) -> str:
        """``dynamodb``, ``sqs``, ... (from the source's ARN)."""
        return self.source_arn.split(":")[2]


@dataclass(frozen=True)
class DeployedFunction:
    """A Lambda function as its template declares it."""

    logical_id: str
    name: str
    handler: str
    runtime: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    tracing_active: bool
    role_logical_id: str | None
    event_sources: tuple[EventSourceMapping, ...] = field(default_factory=tuple)

    def lambda_environment(self, region: str, credentials: Mapping[str, str]) -> dict[str, str]:
        """The process environment Lambda gives the function: the template's variables plus the runtime's own
        (``credentials``: the role's ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``;
        with active tracing, the X-Ray daemon's address and a sampled trace header)."""
        runtime = {
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb), "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}", "_HANDLER": self.handler,
            "LAMBDA_TASK_ROOT": "/var/task", "TZ": ":UTC", "LANG": "en_US.UTF-8", **credentials,
        }
        if self.tracing_active:
            runtime |= {"_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR"}
        return {**self.environment, **runtime}


def _resources(template: Mapping[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == rtype}


def logical_of(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names, else None."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        ref: str = value["Ref"]
        return ref
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        att = value["Fn::GetAtt"]
        logical: str = att[0] if isinstance(att, list) else att.split(".", 1)[0]
        return logical
    return None


def event_source_mapping(logical_id: str, props: Mapping[str, Any], values: Values) -> EventSourceMapping:
    """One mapping's settings; Lambda's defaults for what the template leaves out."""
    source_arn = str(resolve(props["EventSourceArn"], values))
    is_queue = source_arn.split(":")[2:3] == ["sqs"]
    on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return EventSourceMapping(
        logical_id=logical_id, source_arn=source_arn,
        batch_size=int(props.get("BatchSize", 10 if is_queue else 100)),
        batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
        starting_position=props.get("StartingPosition"),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        max_retries=int(props.get("MaximumRetryAttempts", -1)),
        max_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        max_concurrency=props.get("ScalingConfig", {}).get("MaximumConcurrency"),
        parallelization_factor=int(props.get("ParallelizationFactor", 1)),
        on_failure_arn=str(resolve(on_failure, values)) if on_failure is not None else None,
    )


def deployed_functions(template: Mapping[str, Any], values: Values) -> dict[str, DeployedFunction]:
    """Every Python function of ``template`` by its FunctionName (else its logical id), with its
    environment resolved by ``values`` and its event source mappings."""
    mappings: dict[str, list[EventSourceMapping]] = {}
    for logical, res in _resources(template, EVENT_SOURCE_MAPPING).items():
        target = logical_of(res["Properties"].get("FunctionName"))
        if target is not None:
            mappings.setdefault(target, []).append(event_source_mapping(logical, res["Properties"], values))
    out: dict[str, DeployedFunction] = {}
    for logical, res in _resources(template, LAMBDA_FUNCTION).items():
        props = res["Properties"]
        runtime = str(props.get("Runtime", ""))
        if not runtime.startswith("python"):
            continue
        name = str(resolve(props.get("FunctionName", logical), values))
        variables = props.get("Environment", {}).get("Variables", {})
        out[name] = DeployedFunction(
            logical_id=logical, name=name, handler=props["Handler"], runtime=runtime,
            environment={k: str(resolve(v, values)) for k, v in variables.items()},
            timeout_seconds=int(props.get("Timeout", 3)), memory_mb=int(props.get("MemorySize", 128)),
            tracing_active=props.get("TracingConfig", {}).get("Mode") == "Active",
            role_logical_id=logical_of(props.get("Role")),
            event_sources=tuple(mappings.get(logical, ())),
        )
    return out
