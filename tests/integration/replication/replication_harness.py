"""Test harness for the replication tooling under moto (``mock_aws``).

moto emulates the APIs the tooling calls (DynamoDB, S3, SQS, SSM, CloudWatch, Route 53
configuration) but not: Route 53 health evaluation (status is always healthy) and
``TestDNSAnswer``, global table replication, and running the indexer. Two clearly marked
stand-ins fill those gaps here; the real ones run in the sandbox (tests/e2e/test_drill.py).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3

from catalog.config import DeploymentConfig, HealthCheckConfig, parse_config
from catalog.convert import content_to_json, item_from_product, product_from_item, serialize_item
from catalog.engine import Tombstone, UpsertContent, UpsertItem
from catalog.model import Content, Product, content_key
from replication.routing import HEALTHY, UNHEALTHY, find_health_checks
from replication.sources import parallel_scan
from replication.targets import Target

REGIONS = ("us-east-1", "eu-west-1")


def make_config(tmp_path: Any, **thresholds: Any) -> DeploymentConfig:
    return parse_config({
        "name_prefix": "sftest",
        "regions": list(REGIONS),
        "thresholds": {"replication_latency_ms": 2000, "index_lag_seconds": 2.0, **thresholds},
        "sandbox": {"state_dir": str(tmp_path / "state")},
    })


def create_resources(cfg: DeploymentConfig, clients: Any) -> None:
    """What the CDK app / the sandbox create, by the config's names."""
    for region in cfg.regions:
        clients("dynamodb", region).create_table(
            TableName=cfg.table_name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        s3 = clients("s3", region)
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=cfg.bucket_name(region), **kwargs)
        s3.put_bucket_versioning(Bucket=cfg.bucket_name(region), VersioningConfiguration={"Status": "Enabled"})
        clients("sqs", region).create_queue(QueueName=cfg.dlq_name(region))
        clients("ssm", region).put_parameter(Name=cfg.maintenance_parameter(region), Value="off", Type="String")
    r53 = clients("route53", cfg.primary)
    for region in cfg.regions:
        hc = r53.create_health_check(CallerReference=f"hc-{region}", HealthCheckConfig={
            "IPAddress": "127.0.0.1", "Port": 80, "Type": "HTTP", "ResourcePath": "/health",
            "RequestInterval": 10, "FailureThreshold": 3})["HealthCheck"]
        r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc["Id"], AddTags=[
            {"Key": "Name", "Value": cfg.health_check_name(region)}, {"Key": "storefront:region", "Value": region}])


class Clients:
    """boto3 clients per (service, region), made once (moto intercepts them)."""

    def __init__(self) -> None:
        self._c: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        with self._lock:
            if (service, region) not in self._c:
                self._c[(service, region)] = boto3.client(service, region_name=region)
            return self._c[(service, region)]


def embedded_engine(directory: Any, alias: str) -> Any:
    from catalog.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine(directory, alias)
    if engine.alias_target() is None:
        engine.swap_alias(engine.create_index())
    return engine


def write_products(cfg: DeploymentConfig, clients: Any, region: str, products: list[Product],
                   contents: list[Content] = ()) -> None:
    ddb = clients("dynamodb", region)
    for i in range(0, len(products), 25):
        ddb.batch_write_item(RequestItems={cfg.table_name: [
            {"PutRequest": {"Item": serialize_item(item_from_product(p))}} for p in products[i:i + 25]]})
    s3 = clients("s3", region)
    for c in contents:
        s3.put_object(Bucket=cfg.bucket_name(region), Key=content_key(c.id), Body=content_to_json(c))


class FakeRoute53:
    """STAND-IN for Route 53 health evaluation and DNS answers (moto reports every check
    healthy and has no TestDNSAnswer). Keeps Route 53's semantics at a faster pace: every
    ``interval`` it probes each region's /health the way the search API answers it (503
    while the region's SSM maintenance switch is "on"), re-reads the health check's
    Inverted and Disabled flags from (moto's) Route 53 on every probe, changes a region's
    status after ``threshold`` consecutive contrary results, treats a disabled check as
    healthy, and answers the failover record: the primary if healthy, else the secondary
    if healthy, else the primary (Route 53 answers the primary when all are unhealthy).
    """

    def __init__(self, cfg: DeploymentConfig, clients: Any, interval: float = 0.1, threshold: int = 3) -> None:
        self.cfg = cfg
        self.clients = clients
        self.interval = interval
        self.threshold = threshold
        self.status = dict.fromkeys(cfg.regions, HEALTHY)
        self._contrary = dict.fromkeys(cfg.regions, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.fail_answer: BaseException | None = None  # raised by answer() (tests of interruption)

    @property
    def health(self) -> HealthCheckConfig:
        return HealthCheckConfig(self.interval, self.threshold)  # type: ignore[arg-type]

    def start(self) -> FakeRoute53:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        r53 = self.clients("route53", self.cfg.primary)
        while not self._stop.wait(self.interval):
            checks = find_health_checks(r53, self.cfg.regions)
            for region, hc in checks.items():
                conf = r53.get_health_check(HealthCheckId=hc["Id"])["HealthCheck"]["HealthCheckConfig"]
                ok = self._probe(region)
                if conf.get("Inverted"):
                    ok = not ok
                if conf.get("Disabled"):
                    ok = True
                want = HEALTHY if ok else UNHEALTHY
                if want == self.status[region]:
                    self._contrary[region] = 0
                    continue
                self._contrary[region] += 1
                if self._contrary[region] >= self.threshold:
                    self.status[region] = want
                    self._contrary[region] = 0

    def _probe(self, region: str) -> bool:
        ssm = self.clients("ssm", region)
        return ssm.get_parameter(Name=self.cfg.maintenance_parameter(region))["Parameter"]["Value"] != "on"

    def health_status(self, region: str) -> str:
        return self.status[region]

    def answer(self) -> str | None:
        if self.fail_answer is not None:
            raise self.fail_answer
        primary, secondary = self.cfg.primary, self.cfg.secondaries[0]
        if self.status[primary] == HEALTHY:
            return primary
        return secondary if self.status[secondary] == HEALTHY else primary


class Propagator:
    """STAND-IN for global table replication plus each region's indexer (moto does
    neither): every ``interval`` the newest version of each item (by ``version``, last
    writer wins) is copied to every region's table, items deleted in one region are
    deleted everywhere, and each region's index gets its table's state through the port.
    """

    def __init__(self, target: Target, interval: float = 0.2) -> None:
        self.t = target
        self.interval = interval
        self._known: set[str] = set()
        self._indexed: dict[tuple[str, str], tuple[str, int]] = {}  # what each index was last given
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Propagator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sync()

    def sync(self) -> None:
        cfg = self.t.config
        tables = {r: {i["id"]: i for page in parallel_scan(self.t.client("dynamodb", r), cfg.table_name,
                                                           segments=1) for i in page} for r in cfg.regions}
        ids = set().union(*tables.values())
        deleted = {pid for pid in self._known if any(pid not in t for t in tables.values())}
        for region, table in tables.items():
            ddb = self.t.client("dynamodb", region)
            ops: list[Any] = []
            for pid in ids - deleted:
                best = max((t[pid] for t in tables.values() if pid in t), key=lambda i: int(i["version"]))
                if pid not in table or int(table[pid]["version"]) < int(best["version"]):
                    ddb.put_item(TableName=cfg.table_name, Item=serialize_item(best))
                if self._indexed.get((region, pid)) != ("item", int(best["version"])):
                    ops.append(UpsertItem(product_from_item(best)))
                    self._indexed[(region, pid)] = ("item", int(best["version"]))
            for pid in deleted:
                gone = [t[pid] for t in tables.values() if pid in t]
                if pid in table:
                    ddb.delete_item(TableName=cfg.table_name, Key={"id": {"S": pid}})
                version = max([int(i["version"]) for i in gone], default=0)
                if version:
                    ops.append(Tombstone(pid, version))
                    self._indexed[(region, pid)] = ("tombstone", version)
            if ops:
                self.t.engine(region).apply(ops)
        self._known = ids - deleted


def index_everything(target: Target, region: str, products: list[Product], contents: list[Content] = ()) -> None:
    target.engine(region).apply([UpsertItem(p) for p in products] + [UpsertContent(c) for c in contents])


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
