"""Roles as they deploy: each function calls AWS as its own role from the synthesized template,
and the sandbox's moto judges every call against the caller's policies.

:class:`SandboxIam` (started by the supervisor right after moto):

* creates the sandbox's operator, an IAM user with administrator access whose access key is
  :data:`catalog.sandbox_endpoints.OPERATOR_CREDENTIALS`: everything that is not a function (the
  CLI, the emulators, the operator tooling, the tests) signs as it;
* turns moto's IAM enforcement on for this process, with the corrections of
  :mod:`sandbox.iam_judging`, and off again on stop;
* :meth:`SandboxIam.create_roles` creates every ``AWS::IAM::Role`` of every template in moto's
  IAM with its trust policy, its inline ``Policies``, its ``ManagedPolicyArns``, and every
  ``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy`` attached to it, intrinsics resolved to the
  sandbox's ARNs (:func:`policy_values`), through the IAM API (moto validates each document);
* :meth:`SandboxIam.function_credentials` assumes each function's role as Lambda does (the
  trust policy must admit ``lambda.amazonaws.com``; the session is named after the function) and
  gives the temporary key as ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``.
  The region process also polls the function's event sources (stream, queue, on-failure
  destination) with them, as Lambda's event source mappings use the execution role.

Credentials last the role's ``MaxSessionDuration`` (default 1 h). Lambda refreshes an execution
environment's credentials; the sandbox assumes anew at every ``sandbox up`` and keeps them for
the sandbox's life (a function process restarted after a timeout gets the same key): moto does
not expire assumed-role credentials, so a long-running sandbox keeps working.

What moto judges, and the corrections that make it judge as AWS does, are in
:mod:`sandbox.iam_judging` (installed by :meth:`SandboxIam.start`, removed by :meth:`SandboxIam.stop`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from catalog.config import DeploymentConfig
from catalog.sandbox_endpoints import OPERATOR_CREDENTIALS
from infra.deployed import TemplateError, Values, resolve
from sandbox import iam_judging
from sandbox.deployed import sdk_method, stack_region
from sandbox.state import SandboxError

OPERATOR_USER = "sandbox-operator"
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
DEFAULT_SESSION_SECONDS = 3600  # a role's MaxSessionDuration when the template does not set one
READ_ONLY_SDK_CALL = re.compile(r"^(describe|get|list)[A-Z]")


# ---------------------------------------------------------------- the template's roles
@dataclass(frozen=True)
class SandboxRole:
    stack: str
    logical_id: str
    name: str
    arn: str
    trust: Mapping[str, Any]
    max_session_seconds: int

    def trusts_lambda(self) -> bool:
        for st in _listed(self.trust.get("Statement")):
            services = _listed(st.get("Principal", {}).get("Service")) if isinstance(st.get("Principal"), dict) else []
            if (st.get("Effect") == "Allow" and "sts:AssumeRole" in _listed(st.get("Action"))
                    and LAMBDA_PRINCIPAL in services):
                return True
        return False


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _resources_of(template: Mapping[str, Any], rtype: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical, res in template.get("Resources", {}).items():
        if res.get("Type") == rtype:
            yield logical, res.get("Properties", {})


def _generated_name(stack: str, logical: str, limit: int) -> str:
    """A physical name where the template gives none (CloudFormation's shape, without its random suffix)."""
    name = f"{stack}-{logical}"
    return name if len(name) <= limit else f"{name[:limit - 9]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


SdkCall = Callable[[str, str, str, Mapping[str, Any]], Any]  # (service, action, region, parameters) -> response


def policy_values(templates: Mapping[str, Mapping[str, Any]], stack: str, cfg: DeploymentConfig,
                  sdk_call: SdkCall) -> Values:
    """How an IAM document of ``stack`` reads in the sandbox: ``Ref`` and ``Fn::GetAtt`` to the ARNs and
    names the sandbox's resources have (it creates them under the template's names), ``Fn::ImportValue``
    from the exporting stack, and an ``AwsCustomResource``'s read (``describeTable`` ...) by making the
    same call to the sandbox (``sdk_call``)."""
    template = templates[stack]
    region, account = stack_region(stack, cfg), cfg.account
    resources = template.get("Resources", {})
    values: Values

    def props(logical: str) -> dict[str, Any]:
        return dict(resources[logical].get("Properties", {}))

    def named(logical: str, key: str, limit: int = 128) -> str:
        value = props(logical).get(key)
        return str(resolve(value, values)) if value is not None else _generated_name(stack, logical, limit)

    def ref(logical: str) -> Any:
        if logical in template.get("Parameters", {}):
            return template["Parameters"][logical].get("Default", logical)
        if logical not in resources:
            raise TemplateError(f"{stack}: Ref to {logical}, which the template does not have")
        rtype = resources[logical]["Type"]
        if rtype == "AWS::IAM::Role":
            return named(logical, "RoleName", 64)
        if rtype == "AWS::IAM::ManagedPolicy":
            name = named(logical, "ManagedPolicyName")
            return f"arn:aws:iam::{account}:policy{props(logical).get('Path', '/')}{name}"
        if rtype == "AWS::SQS::Queue":
            return f"https://sqs.{region}.amazonaws.com/{account}/{named(logical, 'QueueName', 80)}"
        key = {"AWS::SSM::Parameter": "Name", "AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName",
               "AWS::DynamoDB::GlobalTable": "TableName", "AWS::Logs::LogGroup": "LogGroupName",
               "AWS::Lambda::Function": "FunctionName", "AWS::SNS::Topic": "TopicName"}.get(rtype)
        return named(logical, key) if key else logical

    def getatt(logical: str, attr: str) -> Any:
        if logical not in resources:
            raise TemplateError(f"{stack}: Fn::GetAtt to {logical}, which the template does not have")
        rtype = resources[logical]["Type"]
        if rtype == "Custom::AWS" or rtype.startswith("Custom::AwsCustomResource"):
            return _custom_resource_output(resolve(props(logical), values), attr, region, sdk_call, logical)
        if rtype in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable") and attr == "StreamArn":
            table = sdk_call("dynamodb", "describeTable", region, {"TableName": ref(logical)})["Table"]
            return table["LatestStreamArn"]
        if attr != "Arn":
            return f"{logical}.{attr}"
        name = ref(logical)
        arns = {
            "AWS::IAM::Role": f"arn:aws:iam::{account}:role{props(logical).get('Path', '/')}{name}",
            "AWS::IAM::ManagedPolicy": name,
            "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{account}:{str(name).rsplit('/', 1)[-1]}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "AWS::DynamoDB::GlobalTable": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{account}:log-group:{name}:*",
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "AWS::SSM::Parameter": f"arn:aws:ssm:{region}:{account}:parameter{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{region}:{account}:{name}",
        }
        return arns.get(rtype, f"arn:aws:sandbox:{region}:{account}:{logical}")

    def import_value(name: Any) -> Any:
        for other, tpl in templates.items():
            for output in tpl.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") is not None and \
                        resolve(output["Export"]["Name"], policy_values(templates, other, cfg, sdk_call)) == name:
                    return resolve(output["Value"], policy_values(templates, other, cfg, sdk_call))
        raise TemplateError(f"{stack}: Fn::ImportValue {name!r}: no stack exports it")

    values = Values(region, account, ref, getatt, import_value)
    return values


def _custom_resource_output(properties: Mapping[str, Any], attr: str, region: str, sdk_call: SdkCall,
                            logical: str) -> Any:
    """An ``AwsCustomResource``'s output ``attr``: its read-only SDK call made to the sandbox."""
    raw = properties.get("Create") or properties.get("Update")
    call = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    action, service = str(call.get("action", "")), str(call.get("service", ""))
    if not READ_ONLY_SDK_CALL.match(action):
        raise TemplateError(f"{logical}: the sandbox reads only describe/get/list custom resources, not {action}")
    answer = sdk_call(service.lower().removeprefix("@aws-sdk/client-").replace("-", ""), action,
                      str(call.get("region") or region), call.get("parameters", {}))
    for part in attr.split("."):
        if not isinstance(answer, dict) or part not in answer:
            raise TemplateError(f"{logical}: {service}.{action} answers no {attr}")
        answer = answer[part]
    return answer


# ---------------------------------------------------------------- the sandbox's IAM
class SandboxIam:
    """The operator, the enforcement, and the template's roles in the moto server hosted by this process."""

    def __init__(self, cfg: DeploymentConfig, endpoint: str, enforce: bool | None = None) -> None:
        self.cfg = cfg
        self.endpoint = endpoint
        self.enforce = cfg.sandbox.iam_enforcement if enforce is None else enforce
        self.roles: dict[tuple[str, str], SandboxRole] = {}
        self._started = False

    def start(self) -> SandboxIam:
        """Create the operator (in moto's backend: no one can call IAM before it exists), then judge."""
        from moto.iam.models import iam_backends

        backend = iam_backends[self.cfg.account]["aws"]
        if OPERATOR_USER not in backend.users:
            backend.create_user(region_name="us-east-1", user_name=OPERATOR_USER)
            backend.put_user_policy(OPERATOR_USER, "AdministratorAccess", json.dumps(ADMINISTRATOR))
            key = backend.create_access_key(OPERATOR_USER)
            backend.access_keys.pop(key.physical_resource_id, None)
            key.access_key_id = OPERATOR_CREDENTIALS["aws_access_key_id"]
            key.secret_access_key = OPERATOR_CREDENTIALS["aws_secret_access_key"]
            backend.access_keys[key.physical_resource_id] = key
        iam_judging.install(self.enforce)
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            iam_judging.uninstall()
            self._started = False

    def _client(self, service: str, region: str = "us-east-1") -> Any:
        from sandbox.aws import client

        return client(service, region, self.endpoint)

    def _sdk_call(self, service: str, action: str, region: str, parameters: Mapping[str, Any]) -> Any:
        try:
            return getattr(self._client(service, region), sdk_method(action))(**parameters)
        except Exception as exc:
            raise TemplateError(f"reading {service}.{action}({dict(parameters)}) in {region}: {exc}") from exc

    def create_roles(self, templates: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], SandboxRole]:
        """Every role of every template, with its policies, in moto's IAM (``(stack, logical id)`` -> role)."""
        iam = self._client("iam")
        values = {stack: policy_values(templates, stack, self.cfg, self._sdk_call) for stack in templates}
        for stack, template in templates.items():
            for logical, props in _resources_of(template, "AWS::IAM::Role"):
                name = str(values[stack].ref(logical))
                trust = resolve(props["AssumeRolePolicyDocument"], values[stack])
                role = iam.create_role(RoleName=name, Path=props.get("Path", "/"),
                                       AssumeRolePolicyDocument=json.dumps(trust),
                                       MaxSessionDuration=int(props.get("MaxSessionDuration",
                                                                        DEFAULT_SESSION_SECONDS)),
                                       Description=str(props.get("Description", ""))[:1000])["Role"]
                self.roles[(stack, logical)] = SandboxRole(stack, logical, name, role["Arn"], trust,
                                                           int(props.get("MaxSessionDuration",
                                                                         DEFAULT_SESSION_SECONDS)))
                for inline in props.get("Policies", []):
                    iam.put_role_policy(RoleName=name, PolicyName=str(resolve(inline["PolicyName"], values[stack])),
                                        PolicyDocument=json.dumps(resolve(inline["PolicyDocument"], values[stack])))
        for stack, template in templates.items():
            for logical, props in _resources_of(template, "AWS::IAM::ManagedPolicy"):
                arn = str(values[stack].ref(logical))
                iam.create_policy(PolicyName=arn.rsplit("/", 1)[-1], Path=props.get("Path", "/"),
                                  PolicyDocument=json.dumps(resolve(props["PolicyDocument"], values[stack])))
                for role_name in resolve(props.get("Roles", []), values[stack]):
                    iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
            for _logical, props in _resources_of(template, "AWS::IAM::Policy"):
                document = json.dumps(resolve(props["PolicyDocument"], values[stack]))
                for role_name in resolve(props.get("Roles", []), values[stack]):
                    iam.put_role_policy(RoleName=role_name, PolicyName=str(resolve(props["PolicyName"], values[stack])),
                                        PolicyDocument=document)
            for logical, props in _resources_of(template, "AWS::IAM::Role"):
                for arn in resolve(props.get("ManagedPolicyArns", []), values[stack]):
                    if ":iam::aws:policy/" in arn:
                        self._aws_managed_policy(arn)
                    iam.attach_role_policy(RoleName=self.roles[(stack, logical)].name, PolicyArn=arn)
        return self.roles

    def _aws_managed_policy(self, arn: str) -> None:
        """An AWS managed policy the template attaches, loaded into moto (it loads none by default)."""
        from moto.iam.aws_managed_policies import aws_managed_policies_data
        from moto.iam.models import AWSManagedPolicy, iam_backends

        backend = iam_backends[self.cfg.account]["aws"]
        if arn in backend.managed_policies:
            return
        name = arn.rsplit("/", 1)[-1]
        data = json.loads(aws_managed_policies_data).get(name)
        if data is None:
            raise TemplateError(f"the template attaches the AWS managed policy {arn}, which moto does not know")
        policy = AWSManagedPolicy.from_data(name, self.cfg.account, backend.region_name, data)
        backend.managed_policies[policy.arn] = policy

    def assume(self, role: SandboxRole, session_name: str) -> dict[str, str]:
        """The role's temporary credentials as Lambda gets them (``AWS_ACCESS_KEY_ID``, ... variables)."""
        from moto.sts.models import sts_backends

        if not role.trusts_lambda():
            raise SandboxError(f"role {role.name} ({role.stack} {role.logical_id}) does not trust "
                               f"{LAMBDA_PRINCIPAL}: Lambda could not assume it")
        # moto annotates policy and external_id as str, but its own AssumeRole responder passes None for a
        # request without them, as Lambda's is: None is what moto means by "no session policy, no external id"
        assumed = sts_backends[self.cfg.account]["aws"].assume_role(
            region_name="us-east-1", role_session_name=session_name[:64], role_arn=role.arn,
            policy=None, duration=role.max_session_seconds, external_id=None)  # type: ignore[arg-type]
        return {"AWS_ACCESS_KEY_ID": assumed.access_key_id, "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
                "AWS_SESSION_TOKEN": assumed.session_token}

    def function_credentials(self, templates: Mapping[str, Mapping[str, Any]],
                             region: str) -> dict[str, dict[str, str]]:
        """``indexer``/``search`` -> the credentials of that function's role in ``region``."""
        from sandbox.deployed import sandbox_functions

        stack = self.cfg.stack_name("search", region)
        out = {}
        for kind, fn in sandbox_functions(templates, self.cfg, region).items():
            role = self.roles.get((stack, fn.role_logical_id or ""))
            if role is None:
                raise TemplateError(f"{fn.name}: its role is not a role of {stack}; the sandbox runs each function "
                                    "as its template's role")
            out[kind] = self.assume(role, fn.name)
        return out


@contextlib.contextmanager
def judged(cfg: DeploymentConfig, endpoint: str) -> Iterator[SandboxIam]:
    """:class:`SandboxIam` started for the moto server this process hosts at ``endpoint``, stopped after."""
    sandbox_iam = SandboxIam(cfg, endpoint).start()
    try:
        yield sandbox_iam
    finally:
        sandbox_iam.stop()
