"""The per-region search stack: OpenSearch, index bootstrap, functions, API, WAF, alarms."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from catalog.schema import opensearch_index_body
from tests.infra.cdk.conftest import ACCOUNT, CERT_EU, flat, one, resources

pytestmark = pytest.mark.xdist_group("cdk")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def _function(template, name):
    return one(template, "AWS::Lambda::Function", FunctionName=name)["Properties"]


def test_opensearch_domain_is_private_encrypted_tls12_zone_aware_and_logged(synth):
    template = synth.template("search", "us-east-1")
    t = synth.assertions("search", "us-east-1")
    t.has_resource("AWS::OpenSearchService::Domain", {
        "Properties": {
            "EncryptionAtRestOptions": {"Enabled": True},
            "NodeToNodeEncryptionOptions": {"Enabled": True},
            "DomainEndpointOptions": {"EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"},
            "ClusterConfig": Match.object_like({
                "InstanceType": "r7g.large.search", "InstanceCount": 2, "ZoneAwarenessEnabled": True,
                "ZoneAwarenessConfig": {"AvailabilityZoneCount": 2}}),
            "EBSOptions": Match.object_like({"EBSEnabled": True, "VolumeSize": 30}),
            "LogPublishingOptions": {
                kind: {"Enabled": True, "CloudWatchLogsLogGroupArn": Match.any_value()}
                for kind in ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS")},
        },
        "DeletionPolicy": "Delete",  # derived: reindex rebuilds it (infra/retention.py)
    })
    (domain,) = resources(template, "AWS::OpenSearchService::Domain").values()
    # no VPC, so "not public" rests on the resource policy: only the two Lambda roles are named
    # (what each may do there is decided by the evaluator in test_policies_evaluated.py)
    statements = domain["Properties"]["AccessPolicies"]["Statement"]
    assert {s["Effect"] for s in statements} == {"Allow"}
    principals = {json.dumps(s["Principal"]["AWS"], sort_keys=True) for s in statements}
    roles = {_role_of(template, "shop-indexer-us-east-1"), _role_of(template, "shop-search-us-east-1")}
    assert principals == {json.dumps({"Fn::GetAtt": [r, "Arn"]}, sort_keys=True) for r in roles}


def test_three_node_region_spreads_over_three_zones_with_dedicated_masters(synth):
    synth.assertions("search", "ap-southeast-2").has_resource_properties("AWS::OpenSearchService::Domain", {
        "ClusterConfig": {"InstanceType": "m7g.large.search", "InstanceCount": 3, "ZoneAwarenessEnabled": True,
                          "ZoneAwarenessConfig": {"AvailabilityZoneCount": 3}, "DedicatedMasterEnabled": True,
                          "DedicatedMasterType": "m7g.large.search", "DedicatedMasterCount": 3}})


def test_bootstrap_creates_the_versioned_index_from_catalog_schema_and_keeps_it(synth):
    template = synth.template("search", "eu-west-1")
    (index,) = resources(template, "Custom::StorefrontIndex").values()
    props = index["Properties"]
    assert index["DeletionPolicy"] == "Retain"
    assert props["Alias"] == "products"
    assert props["PhysicalIndex"].startswith("products-v")
    body = json.loads(props["IndexBody"])
    expected = opensearch_index_body(shards=2, replicas=1)
    assert body["mappings"] == expected["mappings"]
    assert body["settings"]["analysis"] == expected["settings"]["analysis"]
    assert body["settings"]["index"]["number_of_shards"] == 2
    assert "search.slowlog.threshold.query.warn" in body["settings"]["index"]
    endpoint = {"Fn::GetAtt": [_domain_id(template), "DomainEndpoint"]}
    assert props["Endpoint"] == {"Fn::Join": ["", ["https://", endpoint]]}
    # the handler is the dependency-free one in infra/runtime, on the indexer's role
    fn = _function(template, "shop-index-bootstrap-eu-west-1")
    assert fn["Handler"] == "index_bootstrap.lambda_handler"
    assert fn["Role"] == {"Fn::GetAtt": [_role_of(template, "shop-indexer-eu-west-1"), "Arn"]}
    assert props["ServiceToken"] == {"Fn::GetAtt": [_logical_id(template, "AWS::Lambda::Function",
                                                                FunctionName="shop-index-bootstrap-eu-west-1"), "Arn"]}


@pytest.mark.parametrize("region", REGIONS)
def test_indexer_function_environment_and_runtime(synth, region):
    template = synth.template("search", region)
    fn = _function(template, f"shop-indexer-{region}")
    assert (fn["Runtime"], fn["Architectures"], fn["MemorySize"], fn["Timeout"]) == ("python3.13", ["arm64"], 1536, 60)
    assert fn["Handler"] == "indexer.handler.lambda_handler"
    assert fn["TracingConfig"] == {"Mode": "Active"}
    env = flat(fn["Environment"]["Variables"])
    assert env["SEARCH_ENGINE"] == "opensearch"
    assert env["OPENSEARCH_AUTH"] == "sigv4"
    assert env["INDEX_ALIAS"] == "products"
    assert env["OPENSEARCH_ENDPOINT"] == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [_domain_id(template),
                                                                                        "DomainEndpoint"]}]]}
    assert env["DLQ_URL"] == f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/shop-indexer-dlq-{region}"
    assert env["CONTENT_BUCKET"] == synth.config.bucket_name(region, ACCOUNT)
    assert (env["BULK_MAX_OPERATIONS"], env["BULK_MAX_BYTES"], env["RETRY_MARGIN_MS"]) == ("1000", "5242880", "5000")
    assert env["POWERTOOLS_SERVICE_NAME"] and env["POWERTOOLS_METRICS_NAMESPACE"] == "Storefront"
    assert "AWS_REGION" not in env  # reserved: the runtime sets it


@pytest.mark.parametrize("region", REGIONS)
def test_indexer_reads_its_own_replicas_stream_and_the_queue(synth, region):
    template = synth.template("search", region)
    fn_id = _logical_id(template, "AWS::Lambda::Function", FunctionName=f"shop-indexer-{region}")
    mappings = [m["Properties"] for m in resources(template, "AWS::Lambda::EventSourceMapping").values()]
    assert all(m["FunctionName"] == {"Ref": fn_id} for m in mappings)
    (stream,) = [m for m in mappings if "StartingPosition" in m]
    (lookup_id, lookup), = [(k, v) for k, v in resources(template, "Custom::AWS").items() if "describeTable" in str(v)]
    describe = json.loads(lookup["Properties"]["Create"])
    # LatestStreamArn of the replica, read with DescribeTable in this stack's own region
    assert (describe["service"], describe["action"], describe["parameters"]) == \
        ("DynamoDB", "describeTable", {"TableName": "shop-products"})
    assert "region" not in describe
    assert stream["EventSourceArn"] == {"Fn::GetAtt": [lookup_id, "Table.LatestStreamArn"]}
    assert stream == {**stream, "BatchSize": 250, "MaximumBatchingWindowInSeconds": 2,
                      "BisectBatchOnFunctionError": True, "FunctionResponseTypes": ["ReportBatchItemFailures"],
                      "MaximumRetryAttempts": 7, "MaximumRecordAgeInSeconds": 7200, "ParallelizationFactor": 3,
                      "StartingPosition": "TRIM_HORIZON"}
    assert flat(stream["DestinationConfig"]["OnFailure"]["Destination"]) == \
        f"arn:aws:sqs:{region}:{ACCOUNT}:shop-indexer-dlq-{region}"
    (queue,) = [m for m in mappings if "StartingPosition" not in m]
    assert flat(queue["EventSourceArn"]) == f"arn:aws:sqs:{region}:{ACCOUNT}:shop-content-events-{region}"
    assert (queue["BatchSize"], queue["MaximumBatchingWindowInSeconds"], queue["FunctionResponseTypes"]) == \
        (250, 3, ["ReportBatchItemFailures"])
    # the search stack comes after its storage stack and the table (the replica must exist)
    assert {f"shop-storage-{region}", "shop-table"} <= synth.dependencies(f"shop-search-{region}")


def test_search_function_environment(synth):
    template = synth.template("search", "eu-west-1")
    fn = _function(template, "shop-search-eu-west-1")
    assert (fn["Runtime"], fn["Architectures"], fn["MemorySize"]) == ("python3.13", ["arm64"], 768)
    assert fn["Handler"] == "search_api.handler.lambda_handler"
    env = fn["Environment"]["Variables"]
    assert env["MAINTENANCE_PARAMETER"] == "/shop/eu-west-1/maintenance"
    assert int(env["SEARCH_TIMEOUT_MS"]) < fn["Timeout"] * 1000
    assert env["SEARCH_ENGINE"] == "opensearch" and env["INDEX_ALIAS"] == "products"
    for forbidden in ("DLQ_URL", "CONTENT_BUCKET"):
        assert forbidden not in env
    synth.assertions("search", "eu-west-1").has_resource_properties(
        "AWS::SSM::Parameter", {"Name": "/shop/eu-west-1/maintenance", "Value": "off", "Type": "String"})


def test_rest_api_is_regional_read_only_throttled_logged_and_traced(synth):
    t = synth.assertions("search", "eu-west-1")
    t.has_resource_properties("AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}})
    t.has_resource_properties("AWS::ApiGateway::Stage", {
        "StageName": "prod",
        "TracingEnabled": True,
        "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("sourceIp")},
        "MethodSettings": [Match.object_like({"ThrottlingRateLimit": 150, "ThrottlingBurstLimit": 300})],
    })
    methods = resources(synth.template("search", "eu-west-1"), "AWS::ApiGateway::Method")
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"GET"}


@pytest.mark.parametrize(("region", "certificate"), [("eu-west-1", CERT_EU), ("us-east-1", None)])
def test_custom_domain_uses_the_configured_or_a_dns_validated_certificate(synth, region, certificate):
    template = synth.template("search", region)
    t = synth.assertions("search", region)
    t.has_resource_properties("AWS::ApiGateway::DomainName", {
        "DomainName": "search.shop.example", "EndpointConfiguration": {"Types": ["REGIONAL"]},
        "SecurityPolicy": "TLS_1_2"})
    t.resource_count_is("AWS::ApiGateway::BasePathMapping", 1)
    (domain,) = resources(template, "AWS::ApiGateway::DomainName").values()
    if certificate:
        assert domain["Properties"]["RegionalCertificateArn"] == certificate
        t.resource_count_is("AWS::CertificateManager::Certificate", 0)
    else:
        t.has_resource_properties("AWS::CertificateManager::Certificate", {
            "DomainName": "search.shop.example", "ValidationMethod": "DNS",
            "DomainValidationOptions": [{"DomainName": "search.shop.example", "HostedZoneId": "Z0HOSTEDZONE1"}]})


def test_waf_rate_limits_per_client_ip_and_applies_common_rule_set_to_the_stage(synth):
    template = synth.template("search", "us-east-1")
    (acl_id, acl), = resources(template, "AWS::WAFv2::WebACL").items()
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    rate = rules["rate-per-client-ip"]["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["AggregateKeyType"]) == (1200, "IP")
    assert rules["rate-per-client-ip"]["Action"] == {"Block": {}}
    managed = rules["aws-common-rule-set"]["Statement"]["ManagedRuleGroupStatement"]
    assert (managed["VendorName"], managed["Name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    assert acl["Properties"]["Scope"] == "REGIONAL"
    (assoc,) = resources(template, "AWS::WAFv2::WebACLAssociation").values()
    assert assoc["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = json.dumps(assoc["Properties"]["ResourceArn"])
    assert '"/stages/", {"Ref": "ApiDeploymentStage' in arn and ":apigateway:us-east-1::/restapis/" in arn


def test_alarms_cover_every_failure_the_issue_lists_and_a_dashboard_exists(synth):
    template = synth.template("search", "us-east-1")
    alarms = {a["Properties"]["AlarmName"]: a["Properties"]
              for a in resources(template, "AWS::CloudWatch::Alarm").values()}
    p = "shop-us-east-1-"
    assert set(alarms) >= {f"{p}{n}" for n in (  # the full list: test_operable_region.py
        "indexer-iterator-age", "dlq-depth", "api-5xx-rate", "api-p99-latency", "opensearch-cluster-red",
        "table-replication-latency-eu-west-1", "table-replication-latency-ap-southeast-2",
        "bucket-replication-latency-eu-west-1", "bucket-replication-latency-ap-southeast-2")}
    assert alarms[f"{p}indexer-iterator-age"]["MetricName"] == "IteratorAge"
    assert alarms[f"{p}indexer-iterator-age"]["Threshold"] == 90000
    assert alarms[f"{p}dlq-depth"]["Threshold"] == 0
    assert alarms[f"{p}api-p99-latency"]["ExtendedStatistic"] == "p99"
    assert alarms[f"{p}opensearch-cluster-red"]["Namespace"] == "AWS/ES"
    ddb = alarms[f"{p}table-replication-latency-eu-west-1"]
    assert _dimensions(ddb) == {"TableName": "shop-products", "ReceivingRegion": "eu-west-1"}
    assert ddb["Threshold"] == 3000
    s3 = alarms[f"{p}bucket-replication-latency-eu-west-1"]
    assert _dimensions(s3) == {"SourceBucket": synth.config.bucket_name("us-east-1", ACCOUNT),
                               "DestinationBucket": synth.config.bucket_name("eu-west-1", ACCOUNT),
                               "RuleId": "to-eu-west-1"}
    assert any("100 * errors / requests" in m.get("Expression", "") for m in alarms[f"{p}api-5xx-rate"]["Metrics"])
    synth.assertions("search", "us-east-1").has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "shop-us-east-1"})


def test_every_alarm_notifies_the_regions_encrypted_topic_which_mails_the_configured_address(synth, latency_synth):
    template = synth.template("search", "us-east-1")
    (topic_id, topic), = resources(template, "AWS::SNS::Topic").items()
    assert topic["Properties"]["TopicName"] == "shop-us-east-1-alarms"
    key_ref = topic["Properties"]["KmsMasterKeyId"]
    (key_id, key), = resources(template, "AWS::KMS::Key").items()
    assert key_ref == {"Fn::GetAtt": [key_id, "Arn"]} and key["Properties"]["EnableKeyRotation"] is True
    # CloudWatch may use the key (it cannot publish under the AWS-managed SNS key)
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
               and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(st["Action"]) for st in statements)
    (policy,) = resources(template, "AWS::SNS::TopicPolicy").values()
    assert any(st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for st in policy["Properties"]["PolicyDocument"]["Statement"])
    alarms = [*resources(template, "AWS::CloudWatch::Alarm").values(),
              *resources(template, "AWS::CloudWatch::CompositeAlarm").values()]
    assert len(alarms) == 26  # 25 alarms and the composite "search impaired"
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
    (sub,) = resources(template, "AWS::SNS::Subscription").values()
    assert sub["Properties"] == {"Protocol": "email", "Endpoint": "oncall@shop.example",
                                 "TopicArn": {"Ref": topic_id}}
    assert any(o["Value"] == {"Ref": topic_id} for o in template["Outputs"].values())
    # no address configured: the topic and its actions still exist, nobody is subscribed
    other = latency_synth.template("search", "us-west-2")
    assert len(resources(other, "AWS::SNS::Topic")) == 1 and not resources(other, "AWS::SNS::Subscription")


# ---------------------------------------------------------------- helpers
def _dimensions(alarm):
    """An alarm's metric dimensions, whether the metric is inline or in ``Metrics`` (it has a label)."""
    dims = alarm.get("Dimensions") or alarm["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]
    return {d["Name"]: d["Value"] for d in dims}


def _logical_id(template, rtype, **match):
    (found,) = [k for k, v in resources(template, rtype).items()
                if all(v["Properties"].get(key) == val for key, val in match.items())]
    return found


def _domain_id(template):
    (found,) = resources(template, "AWS::OpenSearchService::Domain")
    return found


def _role_of(template, function_name):
    role = _function(template, function_name)["Role"]
    return role["Fn::GetAtt"][0]
