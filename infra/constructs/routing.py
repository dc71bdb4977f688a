"""Route 53 for one region: its health check and its record(s) for the shared domain.

Each region's stack owns its own health check and records (set identifier = region),
so no value crosses regions and adding a region adds a stack.

* The health check probes the region's own execute-api URL ``/<stage>/health`` over
  HTTPS at the configured interval (10 or 30 s) and failure threshold, tagged ``Name``
  = ``health_check_name(region)`` and ``storefront:region`` = region (the one a drill
  inverts).
* A second check follows the region's regional shopper-path canary alarm (the shopper
  path through this region's custom domain: certificate, base path mapping, API, search),
  and a calculated check is healthy only while both are: the records use that one, so
  failover sees what shoppers see, not only what execute-api answers.
* ``failover``: the primary's record is PRIMARY; with two regions the other one is
  SECONDARY; with more, SECONDARY aliases a latency set of all secondaries at
  ``secondaries.<domain>`` (the primary's stack makes that alias).
* ``latency``: one latency record per region.

Every record is an alias of the region's API custom domain with evaluate target health
and the region's calculated health check.
"""

from __future__ import annotations

import jsii
from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_route53 as route53
from constructs import Construct

from infra.settings import Deployment

REGION_TAG = "storefront:region"


@jsii.implements(route53.IAliasRecordTarget)
class EvaluatedAliasTarget:
    """An alias target with ``EvaluateTargetHealth: true`` (``ApiGatewayDomain`` has no such option)."""

    def __init__(self, dns_name: str, hosted_zone_id: str) -> None:
        self.dns_name = dns_name
        self.hosted_zone_id = hosted_zone_id

    def bind(self, _record: route53.IRecordSet,
             _zone: route53.IHostedZone | None = None) -> route53.AliasRecordTargetConfig:
        return route53.AliasRecordTargetConfig(
            dns_name=self.dns_name, hosted_zone_id=self.hosted_zone_id, evaluate_target_health=True)


class RegionRouting(Construct):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, zone: route53.IHostedZone,
                 execute_api_host: str, health_path: str, alias_dns_name: str, alias_zone_id: str,
                 shopper_alarm: cw.IAlarm) -> None:
        super().__init__(scope, cid)
        self.region = region
        cfg = dep.config
        hc = cfg.health_check
        self.health_check = route53.HealthCheck(
            self, "HealthCheck",
            type=route53.HealthCheckType.HTTPS,
            fqdn=execute_api_host,
            port=443,
            resource_path=health_path,
            request_interval=Duration.seconds(hc.interval_seconds),
            failure_threshold=hc.failure_threshold,
            enable_sni=True,
        )
        Tags.of(self.health_check).add("Name", cfg.health_check_name(region))
        Tags.of(self.health_check).add(REGION_TAG, region)
        self.shopper_check = route53.HealthCheck(
            self, "ShopperPathCheck",
            type=route53.HealthCheckType.CLOUDWATCH_METRIC,
            alarm_identifier=route53.AlarmIdentifier(region=Stack.of(self).region, name=shopper_alarm.alarm_name),
            # no canary data yet (a first deploy): keep the last status, healthy at first
            insufficient_data_health_status=route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
        )
        self.shopper_check.node.add_dependency(shopper_alarm)  # Route 53 checks that the alarm exists
        Tags.of(self.shopper_check).add("Name", f"{cfg.health_check_name(region)}-shopper-path")
        self.judged = route53.HealthCheck(
            self, "CalculatedCheck",
            type=route53.HealthCheckType.CALCULATED,
            child_health_checks=[self.health_check, self.shopper_check],
            health_threshold=2,
        )
        Tags.of(self.judged).add("Name", f"{cfg.health_check_name(region)}-judged")

        target = route53.RecordTarget.from_alias(EvaluatedAliasTarget(alias_dns_name, alias_zone_id))
        domain = dep.aws.domain_name
        if cfg.routing == "latency":
            self.record = self._record("Latency", zone, domain, target, region=region)
        elif region == cfg.primary:
            self.record = self._record("Primary", zone, domain, target, failover=route53.Failover.PRIMARY)
            if len(cfg.secondaries) > 1:
                # SECONDARY = the healthiest nearest secondary, via the latency set below
                self.secondary_alias = route53.ARecord(
                    self, "Secondary",
                    zone=zone,
                    record_name=domain,
                    target=route53.RecordTarget.from_alias(
                        EvaluatedAliasTarget(dep.secondaries_record_name(), zone.hosted_zone_id)),
                    set_identifier="secondaries",
                    failover=route53.Failover.SECONDARY,
                )
        elif len(cfg.secondaries) == 1:
            self.record = self._record("Secondary", zone, domain, target, failover=route53.Failover.SECONDARY)
        else:
            self.record = self._record("SecondaryLatency", zone, dep.secondaries_record_name(), target, region=region)

    def _record(self, cid: str, zone: route53.IHostedZone, name: str, target: route53.RecordTarget,
                **routing: object) -> route53.ARecord:
        return route53.ARecord(
            self, cid,
            zone=zone,
            record_name=name,
            target=target,
            set_identifier=self.region,
            health_check=self.judged,
            **routing,  # type: ignore[arg-type]
        )
