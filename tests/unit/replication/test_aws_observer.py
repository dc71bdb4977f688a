"""The AWS Route 53 observer and engine discovery, on botocore's Stubber: moto has no
Route 53 health status (always healthy) and no TestDNSAnswer, so the real client is fed
responses shaped as the Route 53 API documents them (the Stubber checks every request
against the service model)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from catalog.config import parse_config
from replication.routing import HEALTHY, UNHEALTHY, AwsRoutingObserver
from replication.targets import TargetError, deployed_engine_env

REGIONS = ("us-east-1", "eu-west-1")
HC = {"us-east-1": "11111111-1111-1111-1111-111111111111", "eu-west-1": "22222222-2222-2222-2222-222222222222"}


def _hc(hid, inverted=False, disabled=False):
    return {"Id": hid, "CallerReference": hid, "HealthCheckVersion": 1, "HealthCheckConfig": {
        "Type": "HTTPS", "FullyQualifiedDomainName": "x.execute-api.amazonaws.com", "ResourcePath": "/prod/health",
        "Inverted": inverted, "Disabled": disabled}}


def _discovery(stub):
    stub.add_response("list_health_checks", {"HealthChecks": [_hc(h) for h in HC.values()], "Marker": "",
                                             "IsTruncated": False, "MaxItems": "100"})
    stub.add_response("list_tags_for_resources", {"ResourceTagSets": [
        {"ResourceType": "healthcheck", "ResourceId": hid, "Tags": [{"Key": "Name", "Value": f"sf-{r}"},
                                                                   {"Key": "storefront:region", "Value": r}]}
        for r, hid in HC.items()]}, {"ResourceType": "healthcheck", "ResourceIds": list(HC.values())})


def _observations(*statuses):
    return {"HealthCheckObservations": [{"Region": "us-east-1", "IPAddress": f"15.177.0.{i}",
                                         "StatusReport": {"Status": s}} for i, s in enumerate(statuses)]}


@pytest.fixture
def r53():
    client = boto3.client("route53", region_name="us-east-1")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_health_from_the_checkers(r53):
    client, stub = r53
    obs = AwsRoutingObserver(client, REGIONS, "Z123", "search.example.com")
    _discovery(stub)
    stub.add_response("get_health_check", {"HealthCheck": _hc(HC["us-east-1"])}, {"HealthCheckId": HC["us-east-1"]})
    stub.add_response("get_health_check_status", _observations(*["Failure: HTTP Status Code 503"] * 7,
                                                                "Success: HTTP Status Code 200"),
                      {"HealthCheckId": HC["us-east-1"]})
    assert obs.health_status("us-east-1") == UNHEALTHY
    stub.add_response("get_health_check", {"HealthCheck": _hc(HC["eu-west-1"], disabled=True)},
                      {"HealthCheckId": HC["eu-west-1"]})
    assert obs.health_status("eu-west-1") == HEALTHY  # disabled counts as healthy, no status read


def test_dns_answer_is_mapped_to_the_region_of_the_alias_target(r53):
    client, stub = r53
    resolved = {"d-aaa.execute-api.us-east-1.amazonaws.com": {"3.3.3.3"},
                "d-bbb.execute-api.eu-west-1.amazonaws.com": {"5.5.5.5", "6.6.6.6"}}
    obs = AwsRoutingObserver(client, REGIONS, "Z123", "search.example.com", resolve=lambda n: resolved[n.rstrip(".")])
    stub.add_response("test_dns_answer", {"Nameserver": "ns", "RecordName": "search.example.com", "RecordType": "A",
                                          "RecordData": ["6.6.6.6"], "ResponseCode": "NOERROR", "Protocol": "UDP"},
                      {"HostedZoneId": "Z123", "RecordName": "search.example.com", "RecordType": "A"})
    _discovery(stub)
    stub.add_response("list_resource_record_sets", {"ResourceRecordSets": [
        {"Name": "search.example.com.", "Type": "A", "SetIdentifier": r, "Failover": role, "HealthCheckId": HC[r],
         "AliasTarget": {"HostedZoneId": "ZAPI", "DNSName": f"{name}.", "EvaluateTargetHealth": True}}
        for (r, role), name in zip((("us-east-1", "PRIMARY"), ("eu-west-1", "SECONDARY")), resolved, strict=True)
    ], "IsTruncated": False, "MaxItems": "300"}, {"HostedZoneId": "Z123"})
    assert obs.answer() == "eu-west-1"


def test_engine_settings_come_from_the_deployed_search_function():
    cfg = parse_config({"regions": list(REGIONS)})
    client = boto3.client("lambda", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_response("get_function_configuration", {"Environment": {"Variables": {
            "SEARCH_ENGINE": "opensearch", "OPENSEARCH_ENDPOINT": "https://vpc-x.eu-west-1.es.amazonaws.com",
            "INDEX_ALIAS": "products", "POWERTOOLS_SERVICE_NAME": "search"}}},
            {"FunctionName": cfg.search_function_name("eu-west-1")})
        env = deployed_engine_env(cfg, "eu-west-1", client)
        assert env == {"SEARCH_ENGINE": "opensearch", "OPENSEARCH_ENDPOINT": "https://vpc-x.eu-west-1.es.amazonaws.com",
                       "INDEX_ALIAS": "products", "AWS_REGION": "eu-west-1"}
        stub.add_client_error("get_function_configuration", "ResourceNotFoundException")
        with pytest.raises(TargetError, match="is the stack deployed"):
            deployed_engine_env(cfg, "eu-west-1", client)
