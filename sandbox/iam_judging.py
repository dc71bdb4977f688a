"""The corrections that make moto's IAM judge a sandbox's calls as AWS does, installed while a
sandbox runs (:func:`install`, :func:`uninstall`; :class:`sandbox.iam.SandboxIam` calls them).

``install`` turns moto's IAM enforcement on (``settings.INITIAL_NO_AUTH_ACTION_COUNT = 0``) for this
process and replaces moto's two authorization hooks (``ActionAuthenticatorMixin``'s normal and S3
actions) with the ones below; ``uninstall`` puts moto's own back (other moto users in the same
process, tests under ``mock_aws``, are not affected once the sandbox has stopped).

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
* moto 5.2.5 signs a bodiless GET with its parsed query as the payload, so no signed GET with a
  query string (Route 53's ``ListResourceRecordSets``) would match: such a request's payload is
  taken as empty.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from sandbox.state import SandboxError

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
        from moto.core.utils import get_service_model

        return str(get_service_model(response.boto3_service_name).protocol)
    except Exception:
        return ""


# ---------------------------------------------------------------- moto's judgement, corrected
def _request_classes() -> tuple[type, type]:
    from moto.iam.access_control import IAMPolicy, IAMRequest, IAMRequestBase, PermissionResult, S3IAMRequest
    from moto.s3.exceptions import S3AccessDeniedError, S3ClientError

    class AccessDenied(S3AccessDeniedError):
        def __init__(self, message: str) -> None:
            S3ClientError.__init__(self, "AccessDenied", message)

    class Judged(IAMRequestBase):
        """What both request kinds share: IAM's action names, and AWS's message on a denial.
        Placed before moto's request class in each subclass's bases, so its methods win."""

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
            if permitted and self._is_assuming_role_operation(resource):
                try:
                    permitted = self._check_role_trust_relationship(resource)
                except TypeError:  # moto 5.2.5 fails on a trust policy naming only a service principal
                    permitted = False
            if not permitted:
                self._deny(resource, f"because no identity-based policy allows the {self._action} action")

        def _create_aws_request(self) -> Any:
            # moto 5.2.5 signs a bodiless GET with its parsed query as the payload, so no signed GET with a
            # query string (Route 53's ListResourceRecordSets) matches: the payload of such a request is empty
            request = super()._create_aws_request()
            if self._method in ("GET", "HEAD", "DELETE") and not self._body:
                request.data = b""
            return request

        def _message(self, resource: str, why: str) -> str:
            return (f"User: {self._access_key.arn} is not authorized to perform: {self._action} "
                    f"on resource: {resource} {why}")

        def _deny(self, resource: str, why: str) -> None:
            raise NotImplementedError

    class SandboxIAMRequest(Judged, IAMRequest):
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

    class SandboxS3IAMRequest(Judged, S3IAMRequest):
        def check_action_permitted(self, resource: str) -> None:
            self._judge(resource)

        def _deny(self, resource: str, why: str) -> None:
            raise AccessDenied(self._message(resource, why))

    return SandboxIAMRequest, SandboxS3IAMRequest


def install(enforce: bool) -> None:
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


def uninstall() -> None:
    with _lock:
        for (owner, name), value in _saved.items():
            setattr(owner, name, value)
        _saved.clear()
