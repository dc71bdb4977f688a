"""Roles as they deploy: each function calls AWS as its own role from the synthesized template,
and the sandbox's moto judges every call against the caller's policies.

:class:`SandboxIam` (started by the supervisor right after moto):

* creates the sandbox's operator, an IAM user with administrator access whose access key is
  :data:`catalog.sandbox_endpoints.OPERATOR_CREDENTIALS`: everything that is not a function (the
  CLI, the emulators, the operator tooling, the tests) signs as it;
* turns moto's IAM enforcement on (``settings.INITIAL_NO_AUTH_ACTION_COUNT = 0``) for this
  process, with the corrections below, and turns it off again on stop (other moto users in the
  same process, tests under ``mock_aws``, are not affected once the sandbox has stopped);
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

What moto 5.2.5 judges (measured by ``tests/integration/sandbox/test_sandbox_iam.py``), and
what this module adds:

* every service that answers through moto's ``BaseResponse.call_action`` (DynamoDB, DynamoDB
  Streams, SQS, SSM, CloudWatch, CloudWatch Logs, STS, IAM, Route 53, ...) is judged by action;
  S3 by action and by bucket/object ARN; SQS by queue ARN; everything else against resource
  ``*``, so a policy naming a table, stream or parameter would allow nothing. This module
  determines the resource of DynamoDB (table, index, every table of a batch or transaction),
  DynamoDB Streams (stream; a shard iterator's stream) and SSM parameter calls
  (:data:`RESOURCE_OF`); for other services a grant on a named resource is not honoured.
* moto takes the API operation as the action; where IAM's action has another name it is
  renamed (:data:`IAM_ACTION_OF`: ``SendMessageBatch`` is ``sqs:SendMessage``...;
  CloudWatch's signing name ``monitoring`` is the ``cloudwatch:`` prefix).
* conditions are not evaluated (moto knows ``StringEquals`` on request values it is given,
  and is given none): an Allow with a condition allows unconditionally; ``NotResource`` and
  permission boundaries are ignored; resource policies (bucket, queue, key policies) are not
  consulted. ``tests/infra/cdk/test_policies_evaluated.py`` evaluates those with IAM's own
  simulator logic; this module only makes the calls the code really makes face the roles.
* a denied call answers ``AccessDenied`` naming the principal, the action and the resource, as
  AWS does (moto's own S3 answer says only "Access Denied").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from catalog.config import DeploymentConfig
from catalog.sandbox_endpoints import OPERATOR_CREDENTIALS
from infra.deployed import TemplateError, Values, resolve
from sandbox.state import SandboxError

OPERATOR_USER = "sandbox-operator"
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
DEFAULT_SESSION_SECONDS = 3600  # a role's MaxSessionDuration when the template does not set one
# API operation -> the IAM action that authorizes it, where the names differ
IAM_ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
SERVICE_PREFIX_OF = {"monitoring": "cloudwatch"}  # signing name -> IAM prefix
SSM_PARAMETER_ACTIONS = ("GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory",
                         "PutParameter", "DeleteParameter", "DeleteParameters", "LabelParameterVersion",
                         "UnlabelParameterVersion")
READ_ONLY_SDK_CALL = re.compile(r"^(describe|get|list)[A-Z]")

_lock = threading.Lock()
_saved: dict[tuple[Any, str], Any] = {}
_judging = threading.local()  # the protocol of the request being judged (its error's shape)


# ---------------------------------------------------------------- what a request is about
def _arn_partition(response: Any) -> str:
    from moto.utilities.utils import get_partition

    return str(get_partition(response.region))


def _dynamodb_resources(response: Any) -> list[str]:
    prefix = f"arn:{_arn_partition(response)}:dynamodb:{response.region}:{response.current_account}:table/"

    def arn(name: str) -> str:
        return name if name.startswith("arn:") else prefix + name

    param = response._get_param
    if param("ResourceArn"):
        return [str(param("ResourceArn"))]
    if param("TableName"):
        index = param("IndexName")
        return [arn(str(param("TableName"))) + (f"/index/{index}" if index else "")]
    if param("RequestItems"):
        return [arn(t) for t in param("RequestItems")]
    if param("TransactItems"):
        return sorted({arn(op["TableName"]) for item in param("TransactItems") for op in item.values()})
    return []


def _streams_resources(response: Any) -> list[str]:
    if response._get_action() == "ListStreams":
        return []
    if response._get_param("StreamArn"):
        return [str(response._get_param("StreamArn"))]
    iterator = response._get_param("ShardIterator")
    return [str(iterator).split("|", 1)[0]] if iterator else []  # moto's iterator: "<stream arn>|1|<id>"


def _ssm_resources(response: Any) -> list[str]:
    if response._get_action() not in SSM_PARAMETER_ACTIONS:
        return []
    prefix = f"arn:{_arn_partition(response)}:ssm:{response.region}:{response.current_account}:parameter"

    def arn(name: str) -> str:
        if name.startswith("arn:"):
            return name
        name = name.split(":", 1)[0]  # a ":version" or ":label" selector is not part of the ARN
        return prefix + (name if name.startswith("/") else "/" + name)

    names = response._get_param("Names") or [response._get_param("Name") or response._get_param("Path")]
    return [arn(str(n)) for n in names if n]


# moto service name -> the ARNs a request acts on ([] or no entry: "*", moto's default)
RESOURCE_OF: dict[str, Callable[[Any], list[str]]] = {
    "dynamodb": _dynamodb_resources,
    "dynamodbstreams": _streams_resources,
    "ssm": _ssm_resources,
}


def _resources(response: Any) -> list[str]:
    finder = RESOURCE_OF.get(getattr(response, "service_name", "") or "")
    if finder is None:
        return ["*"]
    try:
        found = finder(response)
    except Exception:  # a malformed request: let the service answer it
        found = []
    return found or ["*"]


def _protocol(response: Any) -> str:
    try:
        from moto.core.responses import get_service_model

        return str(get_service_model(response.boto3_service_name).protocol)
    except Exception:
        return ""


# ---------------------------------------------------------------- moto's judgement, corrected
def _request_classes() -> tuple[type, type]:
    from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult, S3IAMRequest
    from moto.s3.exceptions import S3AccessDeniedError, S3ClientError

    class AccessDenied(S3AccessDeniedError):
        def __init__(self, message: str) -> None:
            S3ClientError.__init__(self, "AccessDenied", message)

    class Judged:
        """What both request kinds share: IAM's action names, and AWS's message on a denial."""

        _action: str
        _access_key: Any

        def _judge(self, resource: str) -> None:
            service, _, operation = self._action.partition(":")
            action = f"{SERVICE_PREFIX_OF.get(service, service)}:{operation}"
            self._action = IAM_ACTION_OF.get(action, action)
            if self._action == "sts:GetCallerIdentity":  # always allowed, even under an explicit Deny
                return
            permitted = False
            for policy in self._access_key.collect_policies():
                result = IAMPolicy(policy).is_action_permitted(self._action, resource)
                if result == PermissionResult.DENIED:
                    self._deny(resource, "with an explicit deny in an identity-based policy")
                permitted = permitted or result == PermissionResult.PERMITTED
            if permitted and self._is_assuming_role_operation(resource):  # type: ignore[attr-defined]
                try:
                    permitted = self._check_role_trust_relationship(resource)  # type: ignore[attr-defined]
                except TypeError:  # moto 5.2.5 fails on a trust policy naming only a service principal
                    permitted = False
            if not permitted:
                self._deny(resource, f"because no identity-based policy allows the {self._action} action")

        def _create_aws_request(self) -> Any:
            # moto 5.2.5 signs a bodiless GET with its parsed query as the payload, so no signed GET with a
            # query string (Route 53's ListResourceRecordSets) matches: the payload of such a request is empty
            request = super()._create_aws_request()  # type: ignore[misc]
            if self._method in ("GET", "HEAD", "DELETE") and not self._body:  # type: ignore[attr-defined]
                request.data = b""
            return request

        def _message(self, resource: str, why: str) -> str:
            return (f"User: {self._access_key.arn} is not authorized to perform: {self._action} "
                    f"on resource: {resource} {why}")

        def _deny(self, resource: str, why: str) -> None:
            raise NotImplementedError

    class SandboxIAMRequest(Judged, IAMRequest):  # type: ignore[misc]
        def check_action_permitted(self, resource: str) -> None:
            self._judge(resource)

        def _deny(self, resource: str, why: str) -> None:
            from moto.core.exceptions import _RESTError
            from werkzeug.exceptions import HTTPException

            message = self._message(resource, why)
            protocol = getattr(_judging, "protocol", "")
            if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor") or self._headers.get("X-Amz-Target"):
                body = json.dumps({"__type": "AccessDeniedException", "message": message})
            elif protocol == "rest-xml":
                from xml.sax.saxutils import escape

                body = (f'<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Type>Sender</Type>'
                        f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error></ErrorResponse>")
            else:  # query: moto's own error shape
                error = _RESTError("AccessDenied", message)
                error.code = 403
                raise error
            denied = HTTPException()
            denied.code, denied.description = 403, body
            raise denied

    class SandboxS3IAMRequest(Judged, S3IAMRequest):  # type: ignore[misc]
        def check_action_permitted(self, resource: str) -> None:
            self._judge(resource)

        def _deny(self, resource: str, why: str) -> None:
            raise AccessDenied(self._message(resource, why))

    return SandboxIAMRequest, SandboxS3IAMRequest


def _install(enforce: bool) -> None:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.utilities.utils import get_partition

    normal_request, s3_request = _request_classes()

    def authorize_normal(self: Any, resource: str = "*") -> None:
        _judging.protocol = _protocol(self)
        for each in _resources(self) if resource == "*" else [resource]:
            self._authenticate_and_authorize_action(normal_request, each)

    def authorize_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        arn = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
        self._authenticate_and_authorize_action(s3_request, f"arn:{get_partition(self.region)}:s3:::{arn}")

    with _lock:
        if _saved:
            raise SandboxError("another sandbox in this process already judges moto's requests")
        _saved[(settings, "INITIAL_NO_AUTH_ACTION_COUNT")] = settings.INITIAL_NO_AUTH_ACTION_COUNT
        _saved[(ActionAuthenticatorMixin, "request_count")] = ActionAuthenticatorMixin.request_count
        for name, value in (("_authenticate_and_authorize_normal_action", authorize_normal),
                            ("_authenticate_and_authorize_s3_action", authorize_s3)):
            _saved[(ActionAuthenticatorMixin, name)] = ActionAuthenticatorMixin.__dict__[name]
            setattr(ActionAuthenticatorMixin, name, value)
        ActionAuthenticatorMixin.request_count = 0
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if enforce else float("inf")


def _uninstall() -> None:
    with _lock:
        for (owner, name), value in _saved.items():
            setattr(owner, name, value)
        _saved.clear()


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


def stack_region(stack: str, cfg: DeploymentConfig) -> str:
    """A regional stack's region (its name ends with it); the primary region for the global stacks."""
    return next((r for r in cfg.regions if stack.endswith(f"-{r}")), cfg.primary)


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
        _install(self.enforce)
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            _uninstall()
            self._started = False

    def _client(self, service: str, region: str = "us-east-1") -> Any:
        from sandbox.aws import client

        return client(service, region, self.endpoint)

    def _sdk_call(self, service: str, action: str, region: str, parameters: Mapping[str, Any]) -> Any:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
        try:
            return getattr(self._client(service, region), snake)(**parameters)
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
        assumed = sts_backends[self.cfg.account]["aws"].assume_role(
            region_name="us-east-1", role_session_name=session_name[:64], role_arn=role.arn, policy=None,
            duration=role.max_session_seconds, external_id=None)
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
