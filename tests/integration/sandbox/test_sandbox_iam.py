"""What the sandbox's moto judges (:mod:`sandbox.iam`), measured service by service against a
real moto server with the sandbox's enforcement on: a role allowed one thing on one resource
may do it, and anything else fails with ``AccessDenied`` naming the action and the resource,
as in AWS. The last tests record what moto does NOT judge (conditions; the legacy ``es`` API):
``tests/infra/cdk/test_policies_evaluated.py`` covers those with IAM's own evaluation logic.

One moto server for the module, on a free port, always stopped.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from catalog.config import parse_config
from sandbox.aws import client, credentials_of
from sandbox.iam import SandboxIam, SandboxRole
from sandbox.moto_host import MotoHost
from sandbox.state import free_sandbox_ports

pytestmark = pytest.mark.xdist_group("sandbox-iam")
R = "us-east-1"
ACCOUNT = "123456789012"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                  "Principal": {"Service": "lambda.amazonaws.com"}}]}


def test_enforcement_is_the_sandboxs_alone_and_ends_with_it():
    """mock_aws users in the same process (most tests) keep moto's default: nothing judged."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    before = settings.INITIAL_NO_AUTH_ACTION_COUNT
    method = ActionAuthenticatorMixin.__dict__["_authenticate_and_authorize_normal_action"]
    cfg = parse_config({"regions": [R, "eu-west-1"]}, "test.toml")
    iam = SandboxIam(cfg, "http://127.0.0.1:1").start()
    assert settings.INITIAL_NO_AUTH_ACTION_COUNT == 0
    iam.stop()
    assert before == settings.INITIAL_NO_AUTH_ACTION_COUNT
    assert ActionAuthenticatorMixin.__dict__["_authenticate_and_authorize_normal_action"] is method


@pytest.fixture(scope="module")
def aws():
    aws_port, _, _ = free_sandbox_ports()
    cfg = parse_config({"regions": [R, "eu-west-1"], "sandbox": {"aws_port": aws_port}}, "test.toml")
    host = MotoHost("127.0.0.1", aws_port).start()
    iam = SandboxIam(cfg, host.endpoint).start()
    ep = host.endpoint
    try:
        ddb = client("dynamodb", R, ep)
        streams = {}
        for name in ("granted", "other"):
            ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
            ddb.put_item(TableName=name, Item={"id": {"S": "p1"}})
            streams[name] = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        queues = {name: client("sqs", R, ep).create_queue(QueueName=name)["QueueUrl"] for name in ("granted", "other")}
        s3 = client("s3", R, ep)
        s3.create_bucket(Bucket="iam-content")
        for key in ("products/p1.json", "private/p1.json"):
            s3.put_object(Bucket="iam-content", Key=key, Body=b"{}")
        ssm = client("ssm", R, ep)
        for name in ("/app/granted", "/app/other"):
            ssm.put_parameter(Name=name, Value="off", Type="String")
        table = f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/granted"
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan",
                                           "dynamodb:BatchGetItem"], "Resource": [table, f"{table}/index/*"]},
            {"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "*"},
            {"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetShardIterator",
                                           "dynamodb:GetRecords"], "Resource": streams["granted"]},
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:{R}:{ACCOUNT}:granted"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::iam-content/products/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::iam-content",
             "Condition": {"StringLike": {"s3:prefix": ["products/*"]}}},
            {"Effect": "Allow", "Action": "ssm:GetParameter",
             "Resource": f"arn:aws:ssm:{R}:{ACCOUNT}:parameter/app/granted"},
            {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        ]}
        admin = client("iam", R, ep)
        arn = admin.create_role(RoleName="narrow", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        admin.put_role_policy(RoleName="narrow", PolicyName="narrow", PolicyDocument=json.dumps(policy))
        role = credentials_of(iam.assume(SandboxRole("test", "Narrow", "narrow", arn, TRUST, 3600), "fn-narrow"))
        yield {"ep": ep, "role": role, "streams": streams, "queues": queues, "iam": iam}
    finally:
        iam.stop()
        host.stop()


def _as_role(aws, service):
    return client(service, R, aws["ep"], credentials=aws["role"])


def _denied(call, action: str, resource: str = "") -> str:
    with pytest.raises(ClientError) as err:
        call()
    error = err.value.response["Error"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, err.value.response
    assert error["Code"] in ("AccessDenied", "AccessDeniedException"), error
    assert f"assumed-role/narrow/fn-narrow is not authorized to perform: {action}" in error["Message"], error
    assert resource in error["Message"], error
    return str(error["Message"])


def test_dynamodb_judged_by_action_and_table(aws):
    ddb = _as_role(aws, "dynamodb")
    key = {"id": {"S": "p1"}}
    assert ddb.get_item(TableName="granted", Key=key)["Item"] == key
    _denied(lambda: ddb.get_item(TableName="other", Key=key), "dynamodb:GetItem", "table/other")
    _denied(lambda: ddb.put_item(TableName="granted", Item=key), "dynamodb:PutItem", "table/granted")
    _denied(lambda: ddb.batch_get_item(RequestItems={"granted": {"Keys": [key]}, "other": {"Keys": [key]}}),
            "dynamodb:BatchGetItem", "table/other")  # every table of a batch is judged
    _denied(lambda: ddb.scan(TableName="granted"), "dynamodb:Scan", "with an explicit deny")


def test_dynamodb_streams_judged_by_stream(aws):
    streams = _as_role(aws, "dynamodbstreams")
    granted = aws["streams"]["granted"]
    shard = streams.describe_stream(StreamArn=granted)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=granted, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
    _denied(lambda: streams.describe_stream(StreamArn=aws["streams"]["other"]), "dynamodb:DescribeStream",
            aws["streams"]["other"])


def test_s3_judged_by_action_and_object(aws):
    s3 = _as_role(aws, "s3")
    assert s3.get_object(Bucket="iam-content", Key="products/p1.json")["Body"].read() == b"{}"
    _denied(lambda: s3.get_object(Bucket="iam-content", Key="private/p1.json"), "s3:GetObject",
            "arn:aws:s3:::iam-content/private/p1.json")
    _denied(lambda: s3.put_object(Bucket="iam-content", Key="products/p2.json", Body=b"{}"), "s3:PutObject")


def test_sqs_judged_by_queue_with_batch_calls_under_their_iam_action(aws):
    sqs = _as_role(aws, "sqs")
    sent = sqs.send_message_batch(QueueUrl=aws["queues"]["granted"], Entries=[{"Id": "1", "MessageBody": "x"}])
    assert len(sent["Successful"]) == 1  # SendMessageBatch is authorized by sqs:SendMessage, as in AWS
    _denied(lambda: sqs.send_message(QueueUrl=aws["queues"]["other"], MessageBody="x"), "sqs:SendMessage",
            f"arn:aws:sqs:{R}:{ACCOUNT}:other")
    _denied(lambda: sqs.receive_message(QueueUrl=aws["queues"]["granted"]), "sqs:ReceiveMessage")


def test_ssm_judged_by_parameter(aws):
    ssm = _as_role(aws, "ssm")
    assert ssm.get_parameter(Name="/app/granted")["Parameter"]["Value"] == "off"
    _denied(lambda: ssm.get_parameter(Name="/app/other"), "ssm:GetParameter", "parameter/app/other")
    _denied(lambda: ssm.put_parameter(Name="/app/granted", Value="on", Overwrite=True), "ssm:PutParameter")


@pytest.mark.parametrize(("service", "call", "action"), [
    ("cloudwatch", lambda c: c.list_metrics(), "cloudwatch:ListMetrics"),
    ("logs", lambda c: c.create_log_group(logGroupName="g"), "logs:CreateLogGroup"),
    ("lambda", lambda c: c.list_functions(), "lambda:ListFunctions"),
    ("route53", lambda c: c.list_hosted_zones(), "route53:ListHostedZones"),
    ("iam", lambda c: c.list_roles(), "iam:ListRoles"),
    ("sns", lambda c: c.list_topics(), "sns:ListTopics"),
    ("kms", lambda c: c.list_keys(), "kms:ListKeys"),
    ("apigateway", lambda c: c.get_rest_apis(), "apigateway:GetRestApis"),
    ("opensearch", lambda c: c.list_domain_names(), "es:ListDomainNames"),
    ("sts", lambda c: c.get_session_token(), "sts:GetSessionToken"),
])
def test_other_services_judged_by_action(aws, service, call, action):
    _denied(lambda: call(_as_role(aws, service)), action)


def test_an_allowed_cloudwatch_action_under_its_iam_prefix(aws):
    """CloudWatch signs as ``monitoring``; its actions are ``cloudwatch:*``."""
    _as_role(aws, "cloudwatch").put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1.0}])


def test_who_am_i_is_always_allowed_and_names_the_session(aws):
    arn = _as_role(aws, "sts").get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/narrow/fn-narrow"


def test_unknown_keys_and_bad_signatures_are_refused(aws):
    with pytest.raises(ClientError) as err:
        client("dynamodb", R, aws["ep"], credentials={"aws_access_key_id": "AKIAUNKNOWN000000000",
                                                       "aws_secret_access_key": "x"}).list_tables()
    assert "InvalidClientTokenId" in str(err.value)
    forged = {**aws["role"], "aws_secret_access_key": "not-the-secret"}
    with pytest.raises(ClientError) as err:
        client("ssm", R, aws["ep"], credentials=forged).get_parameter(Name="/app/granted")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_the_operator_may_do_anything(aws):
    assert "granted" in client("dynamodb", R, aws["ep"]).list_tables()["TableNames"]
    assert client("iam", R, aws["ep"]).get_role(RoleName="narrow")["Role"]["RoleName"] == "narrow"


def test_a_role_without_lambda_in_its_trust_policy_cannot_be_assumed_by_lambda(aws):
    from sandbox.state import SandboxError

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "ec2.amazonaws.com"}}]}
    role = SandboxRole("test", "Ec2", "ec2-only", f"arn:aws:iam::{ACCOUNT}:role/ec2-only", trust, 3600)
    with pytest.raises(SandboxError, match=r"does not trust lambda\.amazonaws\.com"):
        aws["iam"].assume(role, "fn")


# ---------------------------------------------------------------- what moto does not judge (measured)
def test_moto_does_not_evaluate_conditions(aws):
    """The role may list only ``products/*``; moto ignores the condition and lists ``private/`` too.
    On AWS this is denied: ``test_policies_evaluated`` is where conditions are checked."""
    listed = _as_role(aws, "s3").list_objects_v2(Bucket="iam-content", Prefix="private/")
    assert [o["Key"] for o in listed["Contents"]] == ["private/p1.json"]


def test_moto_does_not_judge_the_legacy_elasticsearch_api(aws):
    """``es`` (the 2015 API) answers without a check; ``opensearch`` (same actions) is judged above."""
    assert _as_role(aws, "es").list_domain_names()["DomainNames"] == []
