"""Issue 11: a region that redeploys, survives losing an AZ, and is watched.

Every test reads the synthesized templates (``synth``: three regions; ``latency_synth``:
two regions, no OpenSearch sizing, so every domain takes the default profile).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import retention
from infra.constructs import alarms as alarm_guide
from tests.infra.cdk.conftest import resources

pytestmark = pytest.mark.xdist_group("cdk")
README = Path(__file__).resolve().parents[3] / "README.md"


def _fixed_name(res: dict) -> str | None:
    """The first top-level ``...Name`` property that CloudFormation does not generate."""
    for key, value in res.get("Properties", {}).items():
        if key.endswith("Name") and value is not None and not (isinstance(value, dict) and "Ref" in value):
            return key
    return None


# ---------------------------------------------------------------- 1. redeployable
def test_no_resource_is_retained_with_a_fixed_name_unless_the_table_says_how_a_redeploy_adopts_it(synth):
    offenders, marked = [], set()
    for stack, template in synth.templates.items():
        for lid, res in template["Resources"].items():
            if res.get("DeletionPolicy") != "Retain" and res.get("UpdateReplacePolicy") != "Retain":
                continue
            key = res.get("Metadata", {}).get(retention.METADATA_KEY)
            if key in retention.RETAINED:
                assert res["Type"] == retention.RETAINED[key].resource_type, (stack, lid)
                marked.add(key)
            elif _fixed_name(res):
                offenders.append(f"{stack}/{lid} {res['Type']} {_fixed_name(res)}")
    assert offenders == []
    assert marked == set(retention.RETAINED), "a RETAINED row that no resource uses"


def test_retain_refuses_a_resource_the_table_does_not_explain():
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs

    queue = sqs.Queue(Stack(App(), "S"), "Q", queue_name="fixed")
    with pytest.raises(KeyError, match="RETAINED"):
        retention.retain(queue, "queue")


def test_derived_state_is_destroyed_with_its_stack(synth):
    template = synth.template("search", "eu-west-1")
    for rtype in ("AWS::OpenSearchService::Domain", "AWS::Logs::LogGroup"):
        for lid, res in resources(template, rtype).items():
            assert res.get("DeletionPolicy", "Delete") == "Delete", lid
    for lid, res in resources(synth.template("storage", "eu-west-1"), "AWS::SQS::Queue").items():
        assert res.get("DeletionPolicy", "Delete") == "Delete", lid


def test_readme_has_the_retained_resources_table():
    assert retention.readme_table() in README.read_text()


def test_no_regional_stack_owns_the_account_level_api_gateway_cloudwatch_role(synth):
    for stack, template in synth.templates.items():
        assert not resources(template, "AWS::ApiGateway::Account"), stack
        assert "AmazonAPIGatewayPushToCloudWatchLogs" not in json.dumps(template), stack


# ---------------------------------------------------------------- 2. a domain that survives losing an AZ
def test_default_profile_domain_survives_losing_an_availability_zone(synth, latency_synth):
    for s, region in ((synth, "eu-west-1"), (latency_synth, "eu-central-1"), (latency_synth, "us-west-2")):
        (domain,) = resources(s.template("search", region), "AWS::OpenSearchService::Domain").values()
        cluster = domain["Properties"]["ClusterConfig"]
        assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 3}
        assert cluster["InstanceCount"] % 3 == 0 and cluster["ZoneAwarenessEnabled"] is True
        assert (cluster["DedicatedMasterEnabled"], cluster["DedicatedMasterCount"]) == (True, 3)
        (index,) = resources(s.template("search", region), "Custom::StorefrontIndex").values()
        body = json.loads(index["Properties"]["IndexBody"])
        assert int(body["settings"]["index"]["number_of_replicas"]) >= 1


def test_dev_profile_is_what_the_config_names(synth):
    (domain,) = resources(synth.template("search", "us-east-1"), "AWS::OpenSearchService::Domain").values()
    cluster = domain["Properties"]["ClusterConfig"]
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 2}
    assert cluster["DedicatedMasterEnabled"] is False


# ---------------------------------------------------------------- 3. alarms
def _alarms(template):
    return {a["Properties"]["AlarmName"]: a["Properties"]
            for a in resources(template, "AWS::CloudWatch::Alarm").values()}


def _expected_keys(regions, region):
    keys = set()
    for key in alarm_guide.GUIDE:
        if key in ("search-impaired", "health-check-R"):
            continue
        if key.endswith("-OTHER"):
            keys |= {key.replace("OTHER", o) for o in regions if o != region}
        else:
            keys.add(key)
    return keys


def _metric(alarm):
    """Namespace, name and dimensions, whether the metric is inline or in ``Metrics`` (it has a label)."""
    m = alarm["Metrics"][0]["MetricStat"]["Metric"] if "Metrics" in alarm else alarm
    return m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m["Dimensions"]}


def _dims(alarm):
    return _metric(alarm)[2]


def test_every_alarm_an_on_call_engineer_expects_exists_with_its_configured_threshold(synth):
    region = "us-east-1"
    template = synth.template("search", region)
    alarms = _alarms(template)
    p = f"shop-{region}-"
    assert set(alarms) == {p + k for k in _expected_keys(synth.config.regions, region)}
    assert alarms[p + "opensearch-cluster-yellow"]["MetricName"] == "ClusterStatus.yellow"
    jvm = alarms[p + "opensearch-jvm-memory-pressure"]
    assert (jvm["MetricName"], jvm["Threshold"], jvm["EvaluationPeriods"]) == ("JVMMemoryPressure", 95, 3)
    storage = alarms[p + "opensearch-free-storage"]  # MiB: 25 % of this region's 30 GB volumes
    assert (storage["Threshold"], storage["ComparisonOperator"]) == (30 * 1024 * 0.25, "LessThanOrEqualToThreshold")
    assert alarms[p + "opensearch-index-writes-blocked"]["MetricName"] == "ClusterIndexWritesBlocked"
    assert alarms[p + "opensearch-snapshot-failed"]["MetricName"] == "AutomatedSnapshotFailure"
    for fn, name in (("indexer", "shop-indexer-us-east-1"), ("search", "shop-search-us-east-1"),
                     ("index-bootstrap", "shop-index-bootstrap-us-east-1")):
        for metric in ("Errors", "Throttles"):
            a = alarms[f"{p}{fn}-{metric.lower()}"]
            assert (*_metric(a)[:2], a["Threshold"]) == ("AWS/Lambda", metric, 0)
            assert _function_name(template, _dims(a)["FunctionName"]) == name
    oldest = alarms[p + "content-queue-oldest-message"]
    assert (oldest["MetricName"], oldest["Threshold"]) == ("ApproximateAgeOfOldestMessage", 900)
    assert _dims(oldest) == {"QueueName": "shop-content-events-us-east-1"}
    failed = alarms[p + "bucket-replication-failed-eu-west-1"]
    assert _metric(failed)[1] == "OperationsFailedReplication"
    assert _dims(failed)["RuleId"] == "to-eu-west-1"


def test_search_impaired_composite_covers_the_shopper_facing_alarms_and_the_dashboard_shows_all(synth):
    template = synth.template("search", "eu-west-1")
    ids = {a["Properties"]["AlarmName"]: lid for lid, a in resources(template, "AWS::CloudWatch::Alarm").items()}
    ((cid, composite),) = resources(template, "AWS::CloudWatch::CompositeAlarm").items()
    props = composite["Properties"]
    assert props["AlarmName"] == "shop-eu-west-1-search-impaired"
    rule = json.dumps(props["AlarmRule"])
    referenced = {name for name, lid in ids.items() if f'"{lid}"' in rule}
    assert referenced == {f"shop-eu-west-1-{k}" for k in alarm_guide.SHOPPER_ALARMS}
    assert {"shop-eu-west-1-api-5xx-rate", "shop-eu-west-1-opensearch-cluster-red"} <= referenced
    assert props["AlarmActions"] and props["OKActions"]
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for lid in [*ids.values(), cid]:
        assert f'"{lid}"' in body, lid
    # and every region's Route 53 health check alarm, which lives in us-east-1
    for region in synth.config.regions:
        assert f":cloudwatch:us-east-1:{synth.config.account}:alarm:shop-health-check-{region}" in body


def test_route53_health_check_alarms_live_in_us_east_1_one_per_region(synth, latency_synth):
    for s in (synth, latency_synth):
        name = s.config.stack_name("health-alarms")
        assert s.manifest["artifacts"][name]["environment"].endswith("/us-east-1")
        template = s.templates[name]
        alarms = _alarms(template)
        assert set(alarms) == {f"shop-health-check-{r}" for r in s.config.regions}
        for region in s.config.regions:
            a = alarms[f"shop-health-check-{region}"]
            assert (*_metric(a)[:2], a["Threshold"]) == ("AWS/Route53", "HealthCheckStatus", 1)
            param = template["Parameters"][_dims(a)["HealthCheckId"]["Ref"]]
            assert param["Default"] == f"/shop/{region}/health-check-id"
            # ... which the region's search stack writes, in us-east-1, from its own health check
            search = s.template("search", region)
            writes = [r for r in resources(search, "Custom::AWS").values()
                      if "putParameter" in json.dumps(r["Properties"]["Create"])]
            assert len(writes) == 1
            create = json.dumps(writes[0]["Properties"]["Create"])
            assert '\\"region\\":\\"us-east-1\\"' in create and f"/shop/{region}/health-check-id" in create
            # the calculated check, which the records use
            (hc_id,) = [k for k, v in resources(search, "AWS::Route53::HealthCheck").items()
                        if v["Properties"]["HealthCheckConfig"]["Type"] == "CALCULATED"]
            assert hc_id in create
            assert s.config.stack_name("search", region) in s.dependencies(name)


def test_readme_lists_every_alarm_with_what_it_means_and_what_to_do():
    assert alarm_guide.readme_table() in README.read_text()


def _function_name(template, ref):
    return template["Resources"][ref["Ref"]]["Properties"]["FunctionName"]


# ---------------------------------------------------------------- 4. canaries see what shoppers see
def test_each_region_runs_the_shopper_path_through_its_custom_domain_and_the_global_name(synth):
    region = "eu-west-1"
    template = synth.template("search", region)
    canaries = {c["Properties"]["Name"]: c["Properties"]
                for c in resources(template, "AWS::Synthetics::Canary").values()}
    assert set(canaries) == {"shop-regional", "shop-global"}
    (domain_id,) = resources(template, "AWS::ApiGateway::DomainName")
    for name, props in canaries.items():
        assert props["Code"]["Handler"] == "shopper_path.handler"
        assert props["RuntimeVersion"].startswith("syn-python-")
        assert props["Schedule"]["Expression"] == "rate(5 minutes)"
        env = props["RunConfig"]["EnvironmentVariables"]
        assert env["SHOPPER_URL"] == "https://search.shop.example"
        if name == "shop-regional":  # this region's custom domain, whatever DNS answers
            assert env["CONNECT_HOST"] == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}
        else:
            assert "CONNECT_HOST" not in env
    alarms = _alarms(template)
    for kind in ("regional", "global"):
        a = alarms[f"shop-{region}-shopper-canary-{kind}"]
        namespace, metric, dims = _metric(a)
        assert (namespace, metric, a["Threshold"], a["ComparisonOperator"], a["EvaluationPeriods"]) == \
            ("CloudWatchSynthetics", "SuccessPercent", 100, "LessThanThreshold", 2)
        assert dims == {"CanaryName": {"Ref": _canary_id(template, f"shop-{kind}")}}


def test_route53_judges_each_region_by_execute_api_health_and_the_shopper_path_together(synth):
    region = "ap-southeast-2"
    template = synth.template("search", region)
    checks = {v["Properties"]["HealthCheckConfig"]["Type"]: (k, v["Properties"]["HealthCheckConfig"])
              for k, v in resources(template, "AWS::Route53::HealthCheck").items()}
    assert set(checks) == {"HTTPS", "CLOUDWATCH_METRIC", "CALCULATED"}
    alarm_ids = {a["Properties"]["AlarmName"]: k for k, a in resources(template, "AWS::CloudWatch::Alarm").items()}
    metric = checks["CLOUDWATCH_METRIC"][1]
    assert metric["AlarmIdentifier"] == {
        "Name": {"Ref": alarm_ids[f"shop-{region}-shopper-canary-regional"]}, "Region": region}
    assert metric["InsufficientDataHealthStatus"] == "LastKnownStatus"
    calculated_id, calculated = checks["CALCULATED"]
    assert calculated["HealthThreshold"] == 2
    assert sorted(c["Ref"] for c in calculated["ChildHealthChecks"]) == \
        sorted([checks["HTTPS"][0], checks["CLOUDWATCH_METRIC"][0]])
    records = [r["Properties"] for r in resources(template, "AWS::Route53::RecordSet").values()]
    assert records and all(r["HealthCheckId"] == {"Ref": calculated_id} for r in records)


def _canary_id(template, name):
    (found,) = [k for k, v in resources(template, "AWS::Synthetics::Canary").items() if v["Properties"]["Name"] == name]
    return found
