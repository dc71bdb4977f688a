"""A failover drill's plan: the methods, the preflight checks, what is watched, the steps.

Nothing here changes anything: :func:`preflight` asks Route 53, CloudWatch and SSM whether
the drill may start (every region healthy, lag under the thresholds, a survivor to serve,
the switch to flip in its resting position), :func:`watched` lists what judges the
regions, and :func:`plan_steps` says in words what :mod:`replication.drill` would do.
"""

from __future__ import annotations

from catalog.config import CANARY_KINDS
from replication.routing import HEALTHY, find_health_checks
from replication.status import Check, limit_check, metric_latest
from replication.targets import Target

METHODS = ("maintenance", "health-check", "region-down")


class DrillError(Exception):
    """The drill cannot be set up (unknown region, missing health check...)."""


def survivor_for(target: Target, region: str, healthy: set[str]) -> str | None:
    """The region that should serve while ``region`` is out (None: nobody would)."""
    cfg = target.config
    if cfg.routing == "failover":
        record_regions = [cfg.primary, cfg.secondaries[0]]
        candidates = [r for r in record_regions if r != region]
    else:
        candidates = [r for r in cfg.regions if r != region]
    for r in candidates:
        if r in healthy:
            return r
    return None


def preflight(target: Target, region: str, method: str, minutes: int = 2) -> tuple[list[Check], str | None]:
    """The checks before injecting; lag metrics are judged on their latest minute within
    ``minutes`` (no datapoint: nothing replicated or indexed lately, reported "no data")."""
    cfg = target.config
    th = cfg.thresholds
    checks: list[Check] = []
    healthy: set[str] = set()
    for r in cfg.regions:
        status = target.observer.health_status(r)
        if status == HEALTHY:
            healthy.add(r)
        checks.append(Check(r, "route 53 health", status == HEALTHY, status, HEALTHY, status))
    for src in cfg.regions:
        cw = target.client("cloudwatch", src)
        for dst in cfg.regions:
            if dst != src:
                v = metric_latest(cw, "AWS/DynamoDB", "ReplicationLatency",
                               {"TableName": cfg.table_name, "ReceivingRegion": dst}, minutes)
                checks.append(limit_check(src, f"replication latency -> {dst}", v, th.replication_latency_ms, "ms"))
        age = metric_latest(cw, "AWS/Lambda", "IteratorAge", {"FunctionName": cfg.indexer_function_name(src)}, minutes)
        checks.append(limit_check(src, "index lag (iterator age)", age, th.index_lag_seconds * 1000, "ms"))
    survivor = survivor_for(target, region, healthy)
    checks.append(Check(region, "a healthy region remains", survivor is not None, survivor, None,
                        f"{survivor} would serve" if survivor else
                        "taking this region out would leave no healthy region: refused"))
    if method == "health-check":
        hc = find_health_checks(target.client("route53", cfg.primary), cfg.regions).get(region)
        checks.append(Check(region, "health check found", hc is not None, hc["Id"] if hc else None, None,
                            f"health check {hc['Id']}" if hc else "no health check tagged storefront:region"))
        if hc and hc["HealthCheckConfig"].get("Inverted"):
            checks.append(Check(region, "health check not inverted", False, True, False,
                                "already inverted: restore it first"))
    else:
        ssm = target.client("ssm", region)
        name = cfg.maintenance_parameter(region)
        try:
            value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            checks.append(Check(region, "maintenance switch off", value != "on", value, "off",
                                f"{name} = {value}"))
        except ssm.exceptions.ParameterNotFound:
            checks.append(Check(region, "maintenance switch off", False, None, "off", f"{name} not found"))
    return checks, survivor


def watched(target: Target, minutes: int = 15) -> list[str]:
    """What judges the regions: each Route 53 health check (what it probes) and each
    shopper-path canary's latest ``SuccessPercent`` ("no data": not deployed there, or idle)."""
    cfg = target.config
    out = []
    checks = find_health_checks(target.client("route53", cfg.primary), cfg.regions)
    for r in cfg.regions:
        hc = checks.get(r)
        if hc is None:
            out.append(f"{r}: no Route 53 health check tagged storefront:region")
            continue
        c = hc["HealthCheckConfig"]
        out.append(f"{r}: Route 53 health check {hc['Id']} probes {c.get('Type', '').lower()}://"
                   f"{c.get('FullyQualifiedDomainName') or c.get('IPAddress')}{c.get('ResourcePath', '')}")
    for r in cfg.regions:
        cw = target.client("cloudwatch", r)
        for kind in CANARY_KINDS:
            name = cfg.canary_name(kind)
            v = metric_latest(cw, "CloudWatchSynthetics", "SuccessPercent", {"CanaryName": name}, minutes,
                              statistic="Average")
            out.append(f"{r}: canary {name} SuccessPercent " + ("no data" if v is None else f"{v:g} %"))
    return out


def plan_steps(target: Target, region: str, method: str, survivor: str | None) -> list[str]:
    cfg = target.config
    inject = {"maintenance": f"set SSM {cfg.maintenance_parameter(region)} = on",
              "health-check": f"invert the Route 53 health check of {region}",
              "region-down": f"take {region}'s API down (" + (
                  "its sandbox front answers 503" if target.kind == "sandbox" else
                  f"stage {cfg.aws.stage_name if cfg.aws else '?'} of {cfg.name_prefix}-search-{region} "
                  "throttled to 0 requests/s") + ")"}[method]
    return [
        f"preflight: all regions healthy, lag under thresholds, {survivor or 'NO REGION'} can serve",
        f"inject: {inject}",
        f"observe: health status and DNS answer every {target.poll_seconds:g}s, probe "
        f"{target.global_url or 'the DNS answer'}; detection target {target.detection_target:g}s, "
        f"RTO target {target.rto_target:g}s",
        f"verify: canary products written in {survivor}; searchable there; after restore in every region",
        "restore: undo the injection (always, also on Ctrl-C), verify failback, delete the canaries",
    ]
