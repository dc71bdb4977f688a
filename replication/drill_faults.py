"""The faults a failover drill injects, each with its restore.

* ``maintenance``: the region's maintenance switch (SSM) ``on``, so its ``/health``
  answers 503; the restore puts the previous value back;
* ``health-check``: the region's Route 53 health check ``Inverted``; the restore turns it
  back;
* ``region-down``: the region's API itself fails (:func:`region_down`).

The first two take the region out of DNS while it still answers; ``region-down`` is what
shoppers see until detection and their resolvers' TTL move them.
"""

from __future__ import annotations

from collections.abc import Callable

from replication.drill_plan import DrillError
from replication.routing import find_health_checks, set_inverted
from replication.targets import Target


def inject(target: Target, region: str, method: str, keep_restore: Callable[[Callable[[], None]], None]) -> str:
    """Apply ``method`` to ``region``; what was done, in words. ``keep_restore`` receives the
    undo before the fault is applied wherever it can be, so a fault applied halfway is
    undone too."""
    cfg = target.config
    if method == "maintenance":
        ssm = target.client("ssm", region)
        name = cfg.maintenance_parameter(region)
        before = ssm.get_parameter(Name=name)["Parameter"]["Value"]

        def restore() -> None:
            ssm.put_parameter(Name=name, Value=before, Type="String", Overwrite=True)

        keep_restore(restore)
        ssm.put_parameter(Name=name, Value="on", Type="String", Overwrite=True)
        return f"inject: {name} = on"
    if method == "region-down":
        keep_restore(region_down(target, region))
        return f"inject: {region}'s API down"
    r53 = target.client("route53", cfg.primary)
    hc = find_health_checks(r53, cfg.regions)[region]
    keep_restore(lambda: set_inverted(r53, hc["Id"], False))
    set_inverted(r53, hc["Id"], True)
    return f"inject: health check {hc['Id']} inverted"


def region_down(target: Target, region: str) -> Callable[[], None]:
    """Make the region's API itself fail; returns the restore.

    * sandbox: the region's front answers 503 to every request, ``/health`` included
      (:func:`sandbox.faults.set_region_down`);
    * AWS: the API's stage throttled to 0 requests/s and a burst of 0 (``*/*`` method
      settings), so API Gateway answers 429 to everything, the health check's ``/health``
      included; the restore puts the previous rate and burst back.
    """
    cfg = target.config
    if target.kind == "sandbox":
        from sandbox.faults import set_region_down

        set_region_down(cfg, [region])

        def restore() -> None:
            set_region_down(cfg, [])

        return restore
    if cfg.aws is None:
        raise DrillError("region-down on AWS needs the [aws] section (stage name)")
    apigw = target.client("apigateway", region)
    name = f"{cfg.name_prefix}-search-{region}"
    api_id = next((a["id"] for page in apigw.get_paginator("get_rest_apis").paginate() for a in page["items"]
                   if a["name"] == name), None)
    if api_id is None:
        raise DrillError(f"no REST API named {name} in {region}")
    stage = cfg.aws.stage_name
    before = apigw.get_stage(restApiId=api_id, stageName=stage).get("methodSettings", {}).get("*/*", {})
    rate = before.get("throttlingRateLimit", cfg.aws.api_throttle_rate)
    burst = before.get("throttlingBurstLimit", cfg.aws.api_throttle_burst)

    def throttle(r: float, b: int) -> None:
        apigw.update_stage(restApiId=api_id, stageName=stage, patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(r)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(b)}])

    throttle(0, 0)
    return lambda: throttle(rate, burst)
