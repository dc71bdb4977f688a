"""IAM least privilege for the two Lambda roles, statement by statement.

The search role may only reach the index (``es:``) and its own SSM parameter; the indexer
the index, its replica's stream, its bucket's ``products/`` objects and its queue, and
send to its DLQ. Logs and X-Ray aside, nothing else, and no managed policies. What each
may do on the domain is decided by a policy evaluator over these statements and the
domain's access policy together: ``test_policies_evaluated.py``.
"""

from __future__ import annotations

import pytest

from tests.infra.cdk.conftest import ACCOUNT, as_list, one, resources, statements

pytestmark = pytest.mark.xdist_group("cdk")
REGION = "eu-west-1"
DOMAIN = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/shop-search"


def _role(template, function_name):
    fn = one(template, "AWS::Lambda::Function", FunctionName=function_name)
    return fn["Properties"]["Role"]["Fn::GetAtt"][0]


def _by_service(sts):
    """{action prefix: [(actions, resources, conditions)]}; every statement must be an Allow."""
    out: dict[str, list] = {}
    for s in sts:
        assert s["Effect"] == "Allow", s
        actions = as_list(s["Action"])
        services = {a.split(":")[0] for a in actions}
        assert len(services) == 1, f"one service per statement: {actions}"
        out.setdefault(services.pop(), []).append((set(actions), as_list(s["Resource"]), s.get("Condition")))
    return out


def _logs_and_xray_only(sts_by_service, template):
    for actions, res, _ in sts_by_service.pop("logs"):
        assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}
        assert all(set(r) == {"Fn::GetAtt"} and r["Fn::GetAtt"][1] == "Arn" and
                   template["Resources"][r["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup" for r in res)
    (xray,) = sts_by_service.pop("xray")
    assert xray[0] == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} and xray[1] == ["*"]


def test_search_role_reads_only_the_index_and_its_ssm_parameter(synth):
    template = synth.template("search", REGION)
    role = _role(template, f"shop-search-{REGION}")
    by = _by_service(statements(template, role))
    _logs_and_xray_only(by, template)
    es = by.pop("es")
    assert all(r.startswith(f"{DOMAIN}/") for _, res, _ in es for r in res)
    (ssm,) = by.pop("ssm")
    assert ssm[0] == {"ssm:GetParameter"}
    (param,) = ssm[1]
    param_id = param["Fn::Join"][1][-1]["Ref"]
    assert template["Resources"][param_id]["Properties"]["Name"] == f"/shop/{REGION}/maintenance"
    assert by == {}, f"unexpected permissions: {sorted(by)}"


def test_indexer_role_writes_index_reads_stream_bucket_queue_and_sends_to_dlq(synth):
    template = synth.template("search", REGION)
    role = _role(template, f"shop-indexer-{REGION}")
    by = _by_service(statements(template, role))
    _logs_and_xray_only(by, template)

    es = by.pop("es")
    assert all(r.startswith(f"{DOMAIN}/") for _, res, _ in es for r in res)

    (lookup,) = [k for k, v in resources(template, "Custom::AWS").items() if "describeTable" in str(v)]
    stream_arn = {"Fn::GetAtt": [lookup, "Table.LatestStreamArn"]}
    for actions, res, _ in by.pop("dynamodb"):
        assert actions <= {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                           "dynamodb:ListStreams"}
        assert res == [stream_arn]

    bucket = f"arn:aws:s3:::{synth.config.bucket_name(REGION, ACCOUNT)}"
    s3 = {frozenset(a): (r, c) for a, r, c in by.pop("s3")}
    assert s3[frozenset({"s3:GetObject", "s3:GetObjectVersion"})] == ([f"{bucket}/products/*"], None)
    assert s3[frozenset({"s3:ListBucket"})] == ([bucket], {"StringLike": {"s3:prefix": ["products/*"]}})
    assert len(s3) == 2

    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-content-events-{REGION}"
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-indexer-dlq-{REGION}"
    for actions, res, _ in by.pop("sqs"):
        if "sqs:ReceiveMessage" in actions:
            assert res == [queue] and "sqs:SendMessage" not in actions
        else:
            assert res == [dlq] and actions <= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    assert by == {}, f"unexpected permissions: {sorted(by)}"


@pytest.mark.parametrize("function", ["indexer", "search"])
def test_lambda_roles_have_no_managed_policies_and_trust_only_lambda(synth, function):
    template = synth.template("search", REGION)
    role = template["Resources"][_role(template, f"shop-{function}-{REGION}")]["Properties"]
    assert "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_no_allow_statement_in_any_template_grants_a_whole_service(synth):
    for name, template in synth.templates.items():
        for res in template["Resources"].values():
            props = res.get("Properties", {})
            docs = [props.get("PolicyDocument"), props.get("AssumeRolePolicyDocument")]
            docs += [p["PolicyDocument"] for p in props.get("Policies", [])]
            if res["Type"] == "AWS::OpenSearchService::Domain":
                docs.append(props["AccessPolicies"])
            for doc in (d for d in docs if isinstance(d, dict) and "Statement" in d):
                for st in doc["Statement"]:
                    if st["Effect"] == "Allow":
                        wide = [a for a in as_list(st["Action"]) if a == "*" or a.endswith(":*")]
                        assert not wide, f"{name}: {wide}"
