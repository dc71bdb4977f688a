"""Least privilege, as AWS evaluates it: a table of requests decided by a policy evaluator
nobody here wrote (``@cloud-copilot/iam-simulate``, pinned in ``package.json``), over the
policies of the synthesized templates.

For each request the identity policies of the principal (every inline and attached
policy of its role in any template) and the resource policy of the resource (the
OpenSearch access policy, the topic, queue, bucket and key policies, a role's trust
policy) are taken from the templates, their intrinsics resolved to concrete ARNs,
and the evaluator decides with AWS's rules: an explicit Deny wins, and within one
account an Allow in either the identity or the resource policy is enough. The table
is the contract; ``tests/infra/iam/simulate.mjs`` is the bridge to the evaluator.

The other way round, every HTTP request the search function, the indexer, the index
bootstrap and the operator tooling actually send (recorded through the real
opensearch-py client) must be allowed for its principal.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.infra.cdk.conftest import ACCOUNT

pytestmark = pytest.mark.xdist_group("cdk")

ROOT = Path(__file__).resolve().parents[3]
SIMULATE = ROOT / "tests" / "infra" / "iam" / "simulate.mjs"
EVALUATOR = ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate"
REGION = "eu-west-1"
OTHER_REGION = "us-east-1"
OTHER_ACCOUNT = "444455556666"
DOMAIN = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/shop-search"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:shop-{REGION}-alarms"
OUR_ALARM = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:shop-{REGION}-dlq-depth"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-content-events-{REGION}"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-indexer-dlq-{REGION}"
BUCKET = f"arn:aws:s3:::shop-content-{ACCOUNT}-{REGION}"
LOGS = f"arn:aws:s3:::shop-access-logs-{ACCOUNT}-{REGION}"
OTHER_BUCKET = f"arn:aws:s3:::shop-content-{ACCOUNT}-{OTHER_REGION}"
REPLICATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/shop-content-replication-{REGION}"
STRANGER = f"arn:aws:iam::{OTHER_ACCOUNT}:role/stranger"
NEIGHBOUR = f"arn:aws:iam::{ACCOUNT}:role/some-other-role"  # same account, no policies of ours
OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/operator"  # given the shop-index-operator-R managed policy
ALARM_KEY = "alarm-key"  # resolved from the template: the key behind the alarm topic
PHYSICAL = "products-v0123456789"
NO_TLS = {"aws:SecureTransport": "false"}


def _from_alarm(alarm: str = OUR_ALARM, account: str = ACCOUNT) -> dict[str, str]:
    return {"aws:SourceArn": alarm, "aws:SourceAccount": account}


ALLOWED, DENIED, EXPLICIT = "Allowed", "Denied", "ExplicitlyDenied"

# (principal, action, resource, extra context, expected). Principals "search" and
# "indexer" are the functions' roles; a "*.amazonaws.com" principal is that service.
TABLE: list[tuple[str, str, str, dict[str, str], str]] = [
    # the OpenSearch domain: the search role reads the alias, nothing more
    ("search", "es:ESHttpPost", f"{DOMAIN}/products/_search", {}, ALLOWED),
    ("search", "es:ESHttpGet", f"{DOMAIN}/products/_search", {}, ALLOWED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/products/_count", {}, ALLOWED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/products/_mget", {}, ALLOWED),
    ("search", "es:ESHttpGet", f"{DOMAIN}/_alias/products", {}, ALLOWED),
    ("search", "es:ESHttpDelete", f"{DOMAIN}/products", {}, DENIED),
    ("search", "es:ESHttpDelete", f"{DOMAIN}/{PHYSICAL}", {}, DENIED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/products/_bulk", {}, DENIED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/_bulk", {}, DENIED),
    ("search", "es:ESHttpPut", f"{DOMAIN}/products/_doc/p1", {}, DENIED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/products/_doc/p1", {}, DENIED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/products/_delete_by_query", {}, DENIED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/products/_update_by_query", {}, DENIED),
    ("search", "es:ESHttpPut", f"{DOMAIN}/{PHYSICAL}", {}, DENIED),
    ("search", "es:ESHttpPost", f"{DOMAIN}/_aliases", {}, DENIED),
    ("search", "es:ESHttpGet", f"{DOMAIN}/_cat/indices", {}, DENIED),
    # the indexer (and the index bootstrap, which runs with its role) writes through _bulk
    ("indexer", "es:ESHttpPost", f"{DOMAIN}/products/_bulk", {}, ALLOWED),
    ("indexer", "es:ESHttpPost", f"{DOMAIN}/_bulk", {}, DENIED),  # a body could name any index
    ("indexer", "es:ESHttpPost", f"{DOMAIN}/other-index/_bulk", {}, DENIED),
    ("indexer", "es:ESHttpGet", f"{DOMAIN}/_alias/products", {}, ALLOWED),
    ("indexer", "es:ESHttpHead", f"{DOMAIN}/{PHYSICAL}", {}, ALLOWED),
    ("indexer", "es:ESHttpPut", f"{DOMAIN}/{PHYSICAL}", {}, ALLOWED),
    ("indexer", "es:ESHttpPost", f"{DOMAIN}/_aliases", {}, ALLOWED),
    ("indexer", "es:ESHttpDelete", f"{DOMAIN}/{PHYSICAL}", {}, DENIED),
    ("indexer", "es:ESHttpDelete", f"{DOMAIN}/products", {}, DENIED),
    ("indexer", "es:ESHttpPost", f"{DOMAIN}/products/_delete_by_query", {}, DENIED),
    ("indexer", "es:ESHttpPut", f"{DOMAIN}/other-index", {}, DENIED),
    ("indexer", "es:ESHttpPut", f"{DOMAIN}/_cluster/settings", {}, DENIED),
    # an operator identity with the index-operator managed policy attached (reindex, audit)
    (OPERATOR, "es:ESHttpGet", f"{DOMAIN}/_alias/products", {}, ALLOWED),
    (OPERATOR, "es:ESHttpGet", f"{DOMAIN}/_cat/indices/products-*", {}, ALLOWED),
    (OPERATOR, "es:ESHttpPut", f"{DOMAIN}/products-20261122085734-001", {}, ALLOWED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/products-20261122085734-001/_search", {}, ALLOWED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/{PHYSICAL}/_mget", {}, ALLOWED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/products/_count", {}, ALLOWED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/products-20261122085734-001/_bulk", {}, ALLOWED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/products/_bulk", {}, ALLOWED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/_bulk", {}, DENIED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/_aliases", {}, ALLOWED),
    (OPERATOR, "es:ESHttpDelete", f"{DOMAIN}/{PHYSICAL}", {}, DENIED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/products/_delete_by_query", {}, DENIED),
    (OPERATOR, "es:ESHttpPut", f"{DOMAIN}/_cluster/settings", {}, DENIED),
    (OPERATOR, "es:ESHttpPost", f"{DOMAIN}/other-index/_search", {}, DENIED),
    # nobody else
    ("anonymous", "es:ESHttpGet", f"{DOMAIN}/products/_search", {}, DENIED),
    ("anonymous", "es:ESHttpPost", f"{DOMAIN}/products/_bulk", {}, DENIED),
    (STRANGER, "es:ESHttpPost", f"{DOMAIN}/products/_search", {}, DENIED),
    (NEIGHBOUR, "es:ESHttpPost", f"{DOMAIN}/products/_search", {}, DENIED),
    # the alarm topic: CloudWatch publishes for this region's alarms, over TLS, and nobody else
    ("cloudwatch.amazonaws.com", "sns:Publish", TOPIC, _from_alarm(), ALLOWED),
    ("cloudwatch.amazonaws.com", "sns:Publish", TOPIC, {**_from_alarm(), **NO_TLS}, EXPLICIT),
    ("cloudwatch.amazonaws.com", "sns:Publish", TOPIC,
     _from_alarm(f"arn:aws:cloudwatch:{REGION}:{OTHER_ACCOUNT}:alarm:shop-{REGION}-x", OTHER_ACCOUNT), DENIED),
    ("cloudwatch.amazonaws.com", "sns:Publish", TOPIC,
     _from_alarm(f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:someone-elses-alarm"), DENIED),
    ("events.amazonaws.com", "sns:Publish", TOPIC,
     {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"}, DENIED),
    (STRANGER, "sns:Publish", TOPIC, {}, DENIED),
    ("anonymous", "sns:Publish", TOPIC, {}, DENIED),
    ("search", "sns:Publish", TOPIC, {}, DENIED),
    # ... and its key, under the same conditions
    ("cloudwatch.amazonaws.com", "kms:GenerateDataKey", ALARM_KEY, _from_alarm(), ALLOWED),
    ("cloudwatch.amazonaws.com", "kms:Decrypt", ALARM_KEY, _from_alarm(), ALLOWED),
    ("cloudwatch.amazonaws.com", "kms:Decrypt", ALARM_KEY,
     _from_alarm(f"arn:aws:cloudwatch:{REGION}:{OTHER_ACCOUNT}:alarm:x", OTHER_ACCOUNT), DENIED),
    (STRANGER, "kms:Decrypt", ALARM_KEY, {}, DENIED),
    # the content queue and the DLQ
    ("s3.amazonaws.com", "sqs:SendMessage", QUEUE, {"aws:SourceArn": BUCKET, "aws:SourceAccount": ACCOUNT}, ALLOWED),
    ("s3.amazonaws.com", "sqs:SendMessage", QUEUE,
     {"aws:SourceArn": "arn:aws:s3:::someone-elses-bucket", "aws:SourceAccount": OTHER_ACCOUNT}, DENIED),
    ("indexer", "sqs:ReceiveMessage", QUEUE, {}, ALLOWED),
    ("indexer", "sqs:DeleteMessage", QUEUE, {}, ALLOWED),
    ("indexer", "sqs:ReceiveMessage", QUEUE, NO_TLS, EXPLICIT),
    ("indexer", "sqs:SendMessage", QUEUE, {}, DENIED),
    ("indexer", "sqs:SendMessage", DLQ, {}, ALLOWED),
    ("indexer", "sqs:PurgeQueue", DLQ, {}, DENIED),
    ("search", "sqs:ReceiveMessage", QUEUE, {}, DENIED),
    ("search", "sqs:SendMessage", DLQ, {}, DENIED),
    ("anonymous", "sqs:SendMessage", QUEUE, {}, DENIED),
    (STRANGER, "sqs:ReceiveMessage", DLQ, {}, DENIED),
    # the content bucket: the indexer reads products/, replication reads all and writes replicas
    ("indexer", "s3:GetObject", f"{BUCKET}/products/p1.json", {}, ALLOWED),
    ("indexer", "s3:GetObject", f"{BUCKET}/products/p1.json", NO_TLS, EXPLICIT),
    ("indexer", "s3:GetObject", f"{BUCKET}/private/p1.json", {}, DENIED),
    ("indexer", "s3:PutObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    ("indexer", "s3:DeleteObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    ("indexer", "s3:GetObject", f"{OTHER_BUCKET}/products/p1.json", {}, DENIED),
    ("search", "s3:GetObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    ("anonymous", "s3:GetObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    (STRANGER, "s3:GetObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    (REPLICATION_ROLE, "s3:GetObjectVersionForReplication", f"{BUCKET}/products/p1.json", {}, ALLOWED),
    (REPLICATION_ROLE, "s3:ReplicateObject", f"{OTHER_BUCKET}/products/p1.json", {}, ALLOWED),
    (REPLICATION_ROLE, "s3:ReplicateObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    (REPLICATION_ROLE, "s3:ReplicateObject", f"{OTHER_BUCKET}/products/p1.json", NO_TLS, EXPLICIT),
    (REPLICATION_ROLE, "s3:PutObject", f"{OTHER_BUCKET}/products/p1.json", {}, DENIED),
    (REPLICATION_ROLE, "s3:DeleteObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    (REPLICATION_ROLE, "s3:GetObject", f"{BUCKET}/products/p1.json", {}, DENIED),
    # the access-log bucket: S3 server access logging for the content bucket writes under its prefix
    ("logging.s3.amazonaws.com", "s3:PutObject", f"{LOGS}/shop-content-{ACCOUNT}-{REGION}/2026-12-03-06-00-00",
     {"aws:SourceArn": BUCKET, "aws:SourceAccount": ACCOUNT}, ALLOWED),
    ("logging.s3.amazonaws.com", "s3:PutObject", f"{LOGS}/shop-content-{ACCOUNT}-{REGION}/2026-12-03-06-00-00",
     {"aws:SourceArn": "arn:aws:s3:::someone-elses-bucket", "aws:SourceAccount": OTHER_ACCOUNT}, DENIED),
    ("indexer", "s3:GetObject", f"{LOGS}/shop-content-{ACCOUNT}-{REGION}/2026-12-03-06-00-00", {}, DENIED),
    ("anonymous", "s3:GetObject", f"{LOGS}/shop-content-{ACCOUNT}-{REGION}/2026-12-03-06-00-00", {}, DENIED),
    # who may assume the roles
    ("s3.amazonaws.com", "sts:AssumeRole", REPLICATION_ROLE, {"aws:SourceAccount": ACCOUNT}, ALLOWED),
    ("s3.amazonaws.com", "sts:AssumeRole", REPLICATION_ROLE, {"aws:SourceAccount": OTHER_ACCOUNT}, DENIED),
    ("lambda.amazonaws.com", "sts:AssumeRole", REPLICATION_ROLE, {"aws:SourceAccount": ACCOUNT}, DENIED),
    (STRANGER, "sts:AssumeRole", REPLICATION_ROLE, {}, DENIED),
    ("lambda.amazonaws.com", "sts:AssumeRole", "search-role", {}, ALLOWED),
    (STRANGER, "sts:AssumeRole", "indexer-role", {}, DENIED),
]


# ------------------------------------------------------------ intrinsics -> concrete values
class Resolver:
    """Resolves a template's intrinsics to what CloudFormation would produce (names from the
    template; generated names as ``<stack>-<logical id>``)."""

    def __init__(self, stack: str, template: dict[str, Any], region: str) -> None:
        self.stack, self.template, self.region = stack, template, region

    def _res(self, lid: str) -> tuple[str, dict[str, Any]]:
        res = self.template["Resources"][lid]
        return res["Type"], res.get("Properties", {})

    def _name(self, lid: str, key: str) -> str:
        name = self._res(lid)[1].get(key)
        return self(name) if name is not None else f"{self.stack}-{lid}"

    def ref(self, lid: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::Region": self.region,
                  "AWS::AccountId": ACCOUNT, "AWS::StackName": self.stack}
        if lid in pseudo:
            return pseudo[lid]
        rtype, _ = self._res(lid)
        if rtype == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT}:{self._name(lid, 'TopicName')}"
        if rtype == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{self._name(lid, 'QueueName')}"
        names = {"AWS::S3::Bucket": "BucketName", "AWS::IAM::Role": "RoleName", "AWS::SSM::Parameter": "Name",
                 "AWS::Lambda::Function": "FunctionName", "AWS::Logs::LogGroup": "LogGroupName"}
        return self._name(lid, names[rtype]) if rtype in names else f"{self.stack}-{lid}"

    def get_att(self, lid: str, attr: str) -> str:
        rtype, _ = self._res(lid)
        r, a = self.region, ACCOUNT
        arns = {
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{a}:role/{self._name(lid, 'RoleName')}",
            "AWS::SQS::Queue": lambda: f"arn:aws:sqs:{r}:{a}:{self._name(lid, 'QueueName')}",
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{self._name(lid, 'BucketName')}",
            "AWS::KMS::Key": lambda: f"arn:aws:kms:{r}:{a}:key/{self.stack}-{lid}",
            "AWS::Logs::LogGroup": lambda: f"arn:aws:logs:{r}:{a}:log-group:{self._name(lid, 'LogGroupName')}:*",
            "AWS::Lambda::Function": lambda: f"arn:aws:lambda:{r}:{a}:function:{self._name(lid, 'FunctionName')}",
            "AWS::SNS::Topic": lambda: self.ref(lid),
        }
        if attr in ("Arn", "TopicArn") and rtype in arns:
            return arns[rtype]()
        return f"arn:aws:unresolved:{r}:{a}:{self.stack}/{lid}/{attr}"

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                return self.get_att(*(arg.split(".", 1) if isinstance(arg, str) else arg))
            if fn == "Fn::Join":
                return arg[0].join(str(self(p)) for p in arg[1])
            if fn == "Fn::Select":
                return self(arg[1])[int(self(arg[0]))]
            if fn == "Fn::Split":
                return self(arg[1]).split(arg[0])
            if fn.startswith("Fn::"):
                raise AssertionError(f"{self.stack}: cannot resolve {fn} in a policy")
        return {k: self(v) for k, v in value.items()}


def _stack_region(synth, stack: str) -> str:
    """The stack's region, from the cloud assembly's manifest (``aws://ACCOUNT/REGION``)."""
    return synth.manifest["artifacts"][stack]["environment"].rsplit("/", 1)[-1]


# ------------------------------------------------------------ every policy, by principal / resource
class Policies:
    def __init__(self, synth) -> None:
        self.identity: dict[str, list[dict[str, Any]]] = {}  # role ARN -> documents
        self.resource: dict[str, dict[str, Any]] = {}  # resource ARN (or ARN/*) -> document
        self.roles_by_function: dict[str, str] = {}
        self.managed: dict[str, dict[str, Any]] = {}  # managed policy name -> document
        self.topic_keys: dict[str, str] = {}  # topic ARN -> its KMS key
        for stack, template in synth.templates.items():
            self._read(stack, template, Resolver(stack, template, _stack_region(synth, stack)))

    def _read(self, stack: str, template: dict[str, Any], resolve: Resolver) -> None:
        for lid, res in template["Resources"].items():
            rtype, props = res["Type"], res.get("Properties", {})
            if rtype == "AWS::IAM::Role":
                arn = resolve.get_att(lid, "Arn")
                inline = props.get("Policies", [])
                self.identity.setdefault(arn, []).extend(resolve(p["PolicyDocument"]) for p in inline)
                self.resource[arn] = resolve(props["AssumeRolePolicyDocument"])
            elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                if "ManagedPolicyName" in props:
                    self.managed[props["ManagedPolicyName"]] = resolve(props["PolicyDocument"])
                for role in props.get("Roles", []):
                    arn = resolve.get_att(role["Ref"], "Arn")
                    self.identity.setdefault(arn, []).append(resolve(props["PolicyDocument"]))
            elif rtype == "AWS::Lambda::Function":
                self.roles_by_function[resolve.ref(lid)] = resolve(props["Role"])
            elif rtype == "AWS::OpenSearchService::Domain":
                self.resource[f"arn:aws:es:{resolve.region}:{ACCOUNT}:domain/{props['DomainName']}/*"] = \
                    resolve(props["AccessPolicies"])
            elif rtype == "AWS::SNS::Topic" and "KmsMasterKeyId" in props:
                self.topic_keys[resolve.ref(lid)] = resolve(props["KmsMasterKeyId"])
            elif rtype == "AWS::SNS::TopicPolicy":
                for topic in props["Topics"]:
                    self.resource[resolve(topic)] = resolve(props["PolicyDocument"])
            elif rtype == "AWS::SQS::QueuePolicy":
                for queue in props["Queues"]:
                    self.resource[resolve.get_att(queue["Ref"], "Arn")] = resolve(props["PolicyDocument"])
            elif rtype == "AWS::S3::BucketPolicy":
                arn = resolve.get_att(props["Bucket"]["Ref"], "Arn")
                self.resource[arn] = self.resource[f"{arn}/*"] = resolve(props["PolicyDocument"])
            elif rtype == "AWS::KMS::Key":
                self.resource[resolve.get_att(lid, "Arn")] = resolve(props["KeyPolicy"])

    def resource_policy(self, arn: str) -> dict[str, Any] | None:
        if arn in self.resource:
            return self.resource[arn]
        wide = [k for k in self.resource if k.endswith("/*") and arn.startswith(k[:-1])]
        return self.resource[wide[0]] if wide else None


def _request(policies: Policies, symbols: dict[str, str], principal: str, action: str, resource: str,
             context: dict[str, str]) -> dict[str, Any]:
    principal = symbols.get(principal, principal)
    resource = symbols.get(resource, resource)
    service = principal.endswith(".amazonaws.com")
    account = resource.split(":")[4] or ACCOUNT  # S3 ARNs carry no account: the buckets are ours
    return {
        "principal": principal,
        "action": action,
        "resource": resource,
        "resourceAccount": account,
        "identityPolicies": [] if service or principal == "anonymous" else policies.identity.get(principal, []),
        "resourcePolicy": policies.resource_policy(resource),
        "context": {"aws:SecureTransport": "true", **context},
    }


@pytest.fixture(scope="module")
def evaluate(synth) -> Callable[[list[tuple[str, str, str, dict[str, str]]]], list[dict[str, Any]]]:
    """``evaluate([(principal, action, resource, context), ...])`` -> the evaluator's answers."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the policy evaluator (@cloud-copilot/iam-simulate) runs on Node.js")
    if not EVALUATOR.is_dir():
        pytest.skip("@cloud-copilot/iam-simulate is not installed: run `npm ci` in the repository root")
    policies = Policies(synth)
    operator_policy = policies.managed.get(f"shop-index-operator-{REGION}")
    policies.identity[OPERATOR] = [operator_policy] if operator_policy else []
    symbols = {
        "search": policies.roles_by_function[f"shop-search-{REGION}"],
        "indexer": policies.roles_by_function[f"shop-indexer-{REGION}"],
        "search-role": policies.roles_by_function[f"shop-search-{REGION}"],
        "indexer-role": policies.roles_by_function[f"shop-indexer-{REGION}"],
        ALARM_KEY: policies.topic_keys[TOPIC],
    }

    def run(rows: list[tuple[str, str, str, dict[str, str]]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        requests = [_request(policies, symbols, *row) for row in rows]
        done = subprocess.run([node, str(SIMULATE)], input=json.dumps(requests), capture_output=True, text=True,
                              cwd=ROOT, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        answers = json.loads(done.stdout)
        assert len(answers) == len(requests)
        return [{"request": r, **a} for r, a in zip(requests, answers, strict=True)]

    run.policies = policies  # type: ignore[attr-defined]
    return run


@pytest.fixture(scope="module")
def decisions(evaluate) -> list[dict[str, Any]]:
    return evaluate([row[:4] for row in TABLE])


@pytest.mark.parametrize("row", range(len(TABLE)),
                         ids=[f"{p.split('/')[-1]}-{a}-{r.split(':')[-1]}-{e}" for p, a, r, _, e in TABLE])
def test_policy_decision(decisions, row):
    principal, action, resource, _, expected = TABLE[row]
    answer = decisions[row]
    assert answer["decision"] != "Error", f"the evaluator rejected the request: {answer.get('errors')}"
    got = "Denied" if expected == DENIED and answer["decision"].endswith("Denied") else answer["decision"]
    assert got == expected, (f"{principal} {action} {resource}: expected {expected}, got {answer['decision']}\n"
                             f"resource policy: {json.dumps(answer['request']['resourcePolicy'])[:2000]}")


def test_every_role_and_resource_in_the_table_has_policies(decisions):
    """A principal or resource that resolves to no policy would make 'Denied' rows pass vacuously."""
    for (principal, _, resource, _, _), answer in zip(TABLE, decisions, strict=True):
        request = answer["request"]
        if principal in ("search", "indexer", OPERATOR, REPLICATION_ROLE):
            assert request["identityPolicies"], f"no identity policy found for {principal}"
        if not resource.startswith(OTHER_BUCKET):
            assert request["resourcePolicy"] is not None, f"no resource policy found for {resource}"


# ------------------------------------------------------------ what the code actually sends
def _answer(sent) -> tuple[int, Any]:
    """OpenSearch-shaped answers for the requests below (the engine parses them)."""
    path, method = sent.path, sent.method
    if path.endswith("/_search"):
        return 200, {"took": 1, "timed_out": False, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}
    if path.endswith("/_count"):
        return 200, {"count": 0}
    if path.endswith("/_mget"):
        return 200, {"docs": []}
    if path.endswith("/_bulk"):
        items = [json.loads(line) for line in sent.body.decode().splitlines()[::2]]
        return 200, {"errors": False, "items": [{"update": {"status": 200, "result": "updated"}} for _ in items]}
    if path.startswith("/_alias/"):
        return 200, {PHYSICAL: {"aliases": {"products": {}}}}
    if path.startswith("/_cat/indices"):
        return 200, [{"index": PHYSICAL, "creation.date": "1"}]
    if method in ("PUT", "POST"):
        return 200, {"acknowledged": True}
    raise AssertionError(f"no answer for {method} {path}")


def _engine_calls(use: Callable[[Any], None]) -> list[tuple[str, str]]:
    """(method, path) of every HTTP request ``use(engine)`` makes through the real opensearch-py client."""
    from catalog.engine.opensearch import ClientSettings, OpenSearchEngine, build_client
    from tests.unit.engine_opensearch.conftest import stub_client

    client = build_client(ClientSettings(host="search.test", port=443, auth="none", timeout=3.0))
    pool = stub_client(client)
    pool.answers.extend([_answer] * 100)
    use(OpenSearchEngine(client, "products", timeout=3.0))
    return [(sent.method, sent.path) for sent in pool.sent]


def _search_function(engine) -> None:  # what search_api's backend calls
    from catalog.engine.port import SearchRequest

    engine.health()
    engine.search(SearchRequest(text="red shoes"))
    engine.suggest("red")
    engine.get("p-1")
    engine.count()


def _indexer_function(engine) -> None:  # what the indexer's retry loop calls
    from catalog.engine.port import ClearContent, Tombstone

    engine.apply([Tombstone("p-1", 3), ClearContent("p-2", 4)])


def _operator_tooling(engine) -> None:  # what reindex and audit call (replication/)
    from catalog.engine.port import Tombstone

    new = engine.create_index()
    engine.alias_target()
    engine.indices()
    list(engine.iter_states(index=PHYSICAL))
    engine.states(["p-1"], index=new)
    engine.states(["p-1"])
    engine.count(index=new)
    engine.count()
    engine.apply([Tombstone("p-1", 3)], index=new)
    engine.swap_alias(new)


def _bootstrap_calls() -> list[tuple[str, str]]:
    from infra.runtime import index_bootstrap
    from tests.infra.cdk.test_index_bootstrap import BASE, BODY, FakeDomain

    domain = FakeDomain()
    index_bootstrap.ensure_index(BASE, "products", PHYSICAL, BODY, request=domain)
    return domain.calls


def test_every_request_the_code_makes_is_allowed_for_its_principal(evaluate):
    """The grants cover what the functions, the bootstrap and the operator tooling send: a
    path the code starts to call without a grant would be a 403 on AWS, so it fails here."""
    calls = {
        "search": _engine_calls(_search_function),
        "indexer": _engine_calls(_indexer_function) + _bootstrap_calls(),
        OPERATOR: _engine_calls(_operator_tooling),
    }
    rows = [(who, f"es:ESHttp{method.title()}", f"{DOMAIN}{path}", {})
            for who, sent in calls.items() for method, path in sorted(set(sent))]
    assert {r[2] for r in rows} >= {f"{DOMAIN}/products/_search", f"{DOMAIN}/products/_bulk", f"{DOMAIN}/{PHYSICAL}"}
    refused = [f"{who.split('/')[-1]} {action} {resource}: {answer['decision']}"
               for (who, action, resource, _), answer in zip(rows, evaluate(rows), strict=True)
               if answer["decision"] != ALLOWED]
    assert not refused, "\n".join(refused)


def test_every_alarm_can_notify_the_topics_it_names(synth, evaluate):
    """Whatever alarms and topics the app has, CloudWatch may publish each alarm's actions to
    its topics, and use their keys, on that alarm's behalf (a topic policy without this
    Allow silently drops every notification)."""
    rows = []
    for stack, template in synth.templates.items():
        region = _stack_region(synth, stack)
        resolve = Resolver(stack, template, region)
        for lid, res in template["Resources"].items():
            if res["Type"] not in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
                continue
            props = res["Properties"]
            name = resolve(props["AlarmName"]) if "AlarmName" in props else f"{stack}-{lid}"
            context = _from_alarm(f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}")
            actions = [*props.get("AlarmActions", []), *props.get("OKActions", []),
                       *props.get("InsufficientDataActions", [])]
            for topic in {resolve(a) for a in actions if ":sns:" in str(resolve(a))}:
                rows.append(("cloudwatch.amazonaws.com", "sns:Publish", topic, context))
                key = evaluate.policies.topic_keys.get(topic)
                if key is not None:
                    rows += [("cloudwatch.amazonaws.com", a, key, context)
                             for a in ("kms:GenerateDataKey", "kms:Decrypt")]
    assert len({r[2] for r in rows if r[1] == "sns:Publish"}) >= len(synth.config.regions)  # one topic per region
    refused = [f"{action} {resource} for {context['aws:SourceArn']}: {answer['decision']}"
               for (_, action, resource, context), answer in zip(rows, evaluate(rows), strict=True)
               if answer["decision"] != ALLOWED]
    assert not refused, "\n".join(refused)


def test_the_domain_refuses_indices_named_in_request_bodies(synth):
    """The grants above are on request paths; ``_bulk`` and ``_mget`` bodies could name
    any index unless the domain refuses explicit indices (the engine names it in the path)."""
    for region in synth.config.regions:
        template = synth.template("search", region)
        (domain,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::OpenSearchService::Domain"]
        assert domain["Properties"]["AdvancedOptions"] == {"rest.action.multi.allow_explicit_index": "false"}
