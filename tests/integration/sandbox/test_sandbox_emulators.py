"""The sandbox's emulators against a real moto server: global-table replication, S3
replication, the Lambda event source mappings, Route 53 health checks and the router.

One moto server (and the resources the sandbox creates) for this module, on free ports.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_plus

import pytest

from catalog.config import load_config
from sandbox.aws import client
from sandbox.client import get, wait_until
from sandbox.deployed import cloud_assembly
from sandbox.global_tables import GlobalTableReplicator
from sandbox.lambda_runtime import Invoker, QueueEventSource, StreamEventSource
from sandbox.metrics import MetricsPublisher
from sandbox.moto_host import MotoHost
from sandbox.resources import create_resources
from sandbox.route53 import Route53Emulator
from sandbox.router import GlobalRouter
from sandbox.s3_replication import S3Replicator
from sandbox.state import free_sandbox_ports
from sandbox.streams import StreamReader

pytestmark = pytest.mark.xdist_group("sandbox-emulators")
US, EU = "us-east-1", "eu-west-1"
LAG = 0.2


def _config(folder, prefix: str, routing: str, aws: int, glob: int, first: int, state_dir: str = "state"):
    """A configuration file (the synth of the app reads one) for a private two-region sandbox."""
    path = folder / f"{prefix}.toml"
    path.write_text(f'name_prefix = "{prefix}"\nregions = ["{US}", "{EU}"]\nrouting = "{routing}"\n[sandbox]\n'
                    f'aws_port = {aws}\nglobal_port = {glob}\nfirst_region_port = {first}\n'
                    f'health_check_interval_seconds = 1\nstate_dir = "{state_dir}"\n')
    return load_config(path)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    aws, glob, first = free_sandbox_ports()
    cfg = _config(tmp_path_factory.mktemp("cfg"), "emutest", "failover", aws, glob, first,
                  state_dir=str(tmp_path_factory.mktemp("state")))
    host = MotoHost("127.0.0.1", aws).start()
    metrics = MetricsPublisher(host.endpoint, flush_seconds=0.2).start()
    templates = cloud_assembly(cfg)
    resources = create_resources(cfg, templates, host.endpoint)
    gt = GlobalTableReplicator(host.endpoint, resources.table_name, resources.table_regions, LAG, metrics,
                               in_process_account=cfg.account).start()
    s3r = S3Replicator(cfg.account, LAG, metrics).start()
    try:
        yield {"cfg": cfg, "ep": host.endpoint, "res": resources, "gt": gt, "s3r": s3r, "templates": templates}
    finally:
        gt.stop()
        s3r.stop()
        metrics.stop()
        host.stop()


def _item(pid: str, version: int, price: str) -> dict:
    return {"id": {"S": pid}, "version": {"N": str(version)}, "price": {"N": price}}


def _get(env, region, pid):
    return client("dynamodb", region, env["ep"]).get_item(TableName=env["cfg"].table_name,
                                                          Key={"id": {"S": pid}}).get("Item")


def _stream(env, region):
    reader = StreamReader(client("dynamodbstreams", region, env["ep"]), env["res"].regions[region].stream_arn)
    return [r for _, r in reader.read(1000)]


# ---------------------------------------------------------------- global tables
def test_global_table_replicates_async_with_lag_and_last_writer_wins(env):
    table = env["cfg"].table_name
    us, eu = client("dynamodb", US, env["ep"]), client("dynamodb", EU, env["ep"])
    _get(env, EU, "warm-up")
    started = time.monotonic()
    us.put_item(TableName=table, Item=_item("gt1", 10, "5"))
    took = wait_until(lambda: _get(env, EU, "gt1") is not None, timeout=10, interval=0.01)
    assert took is not None and time.monotonic() - started >= LAG * 0.9  # asynchronous, after the lag
    # a newer write in eu and an older one in us, concurrently: both converge on the newer
    eu.put_item(TableName=table, Item=_item("gt1", 30, "7"))
    us.put_item(TableName=table, Item=_item("gt1", 20, "6"))
    assert wait_until(lambda: _get(env, US, "gt1")["version"]["N"] == "30", timeout=10) is not None
    time.sleep(LAG * 3)
    assert _get(env, US, "gt1")["price"]["N"] == "7" and _get(env, EU, "gt1")["price"]["N"] == "7"


def test_replicated_writes_appear_in_the_destination_stream_without_loops(env):
    table = env["cfg"].table_name
    client("dynamodb", US, env["ep"]).put_item(TableName=table, Item=_item("gt2", 5, "1"))
    assert wait_until(lambda: _get(env, EU, "gt2") is not None, timeout=10) is not None
    time.sleep(LAG * 4)  # a loop would write back into us-east-1 by now
    us_records = [r for r in _stream(env, US) if r["dynamodb"]["Keys"]["id"]["S"] == "gt2"]
    eu_records = [r for r in _stream(env, EU) if r["dynamodb"]["Keys"]["id"]["S"] == "gt2"]
    assert [r["eventName"] for r in us_records] == ["INSERT"]
    assert [r["eventName"] for r in eu_records] == ["INSERT"]
    assert eu_records[0]["dynamodb"]["NewImage"]["version"] == {"N": "5"}


def test_delete_replicates_and_an_older_delete_does_not_remove_a_newer_item(env):
    table = env["cfg"].table_name
    us, eu = client("dynamodb", US, env["ep"]), client("dynamodb", EU, env["ep"])
    us.put_item(TableName=table, Item=_item("gt3", 5, "1"))
    assert wait_until(lambda: _get(env, EU, "gt3") is not None, timeout=10) is not None
    us.delete_item(TableName=table, Key={"id": {"S": "gt3"}})
    assert wait_until(lambda: _get(env, EU, "gt3") is None, timeout=10) is not None
    # eu writes v9 while us deletes its (replicated) v8: the delete of v8 must not remove v9
    us.put_item(TableName=table, Item=_item("gt4", 8, "1"))
    assert wait_until(lambda: _get(env, EU, "gt4") is not None, timeout=10) is not None
    eu.put_item(TableName=table, Item=_item("gt4", 9, "2"))
    us.delete_item(TableName=table, Key={"id": {"S": "gt4"}})
    assert wait_until(lambda: _get(env, US, "gt4") is not None, timeout=10) is not None
    time.sleep(LAG * 3)
    assert _get(env, EU, "gt4")["version"]["N"] == "9" and _get(env, US, "gt4")["version"]["N"] == "9"


def test_replication_latency_metric_is_published_in_the_source_region(env):
    cw = client("cloudwatch", US, env["ep"])

    def published() -> bool:
        metrics = cw.list_metrics(Namespace="AWS/DynamoDB", MetricName="ReplicationLatency")["Metrics"]
        return any({"Name": "ReceivingRegion", "Value": EU} in m["Dimensions"] for m in metrics)

    client("dynamodb", US, env["ep"]).put_item(TableName=env["cfg"].table_name, Item=_item("gt5", 1, "1"))
    assert wait_until(published, timeout=10) is not None


# ---------------------------------------------------------------- S3 replication
def _events(env, region):
    sqs = client("sqs", region, env["ep"])
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=env["res"].regions[region].queue_url, MaxNumberOfMessages=10,
                                   VisibilityTimeout=0).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            body = json.loads(m["Body"])
            out += [(r["eventName"], unquote_plus(r["s3"]["object"]["key"])) for r in body.get("Records", [])]
            sqs.delete_message(QueueUrl=env["res"].regions[region].queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_a_secondary_bucket_replicates_to_the_primary_too(env):
    src, dst = env["res"].regions[EU].bucket, env["res"].regions[US].bucket
    client("s3", EU, env["ep"]).put_object(Bucket=src, Key="products/s2.json", Body=b"{}")
    s3u = client("s3", US, env["ep"])

    def replicated() -> bool:
        return s3u.list_objects_v2(Bucket=dst, Prefix="products/s2.json").get("KeyCount") == 1

    assert wait_until(replicated, timeout=10) is not None
    assert s3u.head_object(Bucket=dst, Key="products/s2.json")["ReplicationStatus"] == "REPLICA"
    rules = s3u.get_bucket_replication(Bucket=dst)["ReplicationConfiguration"]["Rules"]
    assert [r["ID"] for r in rules] == [f"to-{EU}"]


def test_s3_objects_replicate_with_status_and_events_in_the_destination(env):
    src, dst = env["res"].regions[US].bucket, env["res"].regions[EU].bucket
    s3u, s3e = client("s3", US, env["ep"]), client("s3", EU, env["ep"])
    _events(env, US), _events(env, EU)
    with env["s3r"].held():  # until the copy is made, whatever the load: PENDING
        s3u.put_object(Bucket=src, Key="products/s1.json", Body=b'{"version": 1}', Metadata={"origin": "test"})
        assert s3u.head_object(Bucket=src, Key="products/s1.json")["ReplicationStatus"] == "PENDING"
    assert wait_until(lambda: s3u.head_object(Bucket=src, Key="products/s1.json").get("ReplicationStatus")
                      == "COMPLETED", timeout=10) is not None
    head = s3e.head_object(Bucket=dst, Key="products/s1.json")
    assert head["ReplicationStatus"] == "REPLICA" and head["Metadata"] == {"origin": "test"}
    assert s3e.get_object(Bucket=dst, Key="products/s1.json")["Body"].read() == b'{"version": 1}'
    time.sleep(LAG * 3)  # a replica is not replicated back: the source keeps its one version
    assert len(s3u.list_object_versions(Bucket=src, Prefix="products/s1.json")["Versions"]) == 1
    assert ("ObjectCreated:Put", "products/s1.json") in _events(env, EU)

    s3u.delete_object(Bucket=src, Key="products/s1.json")  # a delete marker, replicated per the rule
    assert ("ObjectRemoved:DeleteMarkerCreated", "products/s1.json") in _events(env, US)

    def gone() -> bool:
        return s3e.list_objects_v2(Bucket=dst, Prefix="products/s1.json").get("KeyCount") == 0

    assert wait_until(gone, timeout=10) is not None
    versions = s3e.list_object_versions(Bucket=dst, Prefix="products/s1.json")
    assert len(versions.get("DeleteMarkers", [])) == 1 and len(versions["Versions"]) == 1
    assert ("ObjectRemoved:DeleteMarkerCreated", "products/s1.json") in _events(env, EU)


# ---------------------------------------------------------------- event source mappings
def test_stream_mapping_redelivers_from_the_failed_record(env):
    table = env["cfg"].table_name
    seen: list[str] = []
    fail_once = {"esm3"}

    def handler(event, context):
        assert context.get_remaining_time_in_millis() > 0
        failures = []
        for rec in event["Records"]:
            assert rec["awsRegion"] == EU and rec["eventSourceARN"] == env["res"].regions[EU].stream_arn
            assert isinstance(rec["dynamodb"]["ApproximateCreationDateTime"], int)
            pid = rec["dynamodb"]["Keys"]["id"]["S"]
            if not pid.startswith("esm"):
                continue
            if pid in fail_once:
                fail_once.discard(pid)
                failures.append({"itemIdentifier": rec["dynamodb"]["SequenceNumber"]})
                break
            seen.append(pid)
        return {"batchItemFailures": failures}

    reader = StreamReader(client("dynamodbstreams", EU, env["ep"]), env["res"].regions[EU].stream_arn)
    reader.read(10_000)  # start after what earlier tests wrote
    poller = StreamEventSource(Invoker(handler, "fn", EU, "123456789012"), reader, EU, "fn", batch_size=10,
                               idle_seconds=0.05)
    eu = client("dynamodb", EU, env["ep"])
    for i in range(1, 6):
        eu.put_item(TableName=table, Item=_item(f"esm{i}", 1, "1"))
    poller.start()
    try:
        assert wait_until(lambda: len(seen) >= 5, timeout=20) is not None
    finally:
        poller.stop()
        poller.join(5)
    # esm1 and esm2 once; esm3 failed once and was redelivered with everything after it
    assert seen == ["esm1", "esm2", "esm3", "esm4", "esm5"]
    assert poller.failures == 1


def _exhaust(env, ids, fail, tmp_path, send_fails=0, **esm):
    """Run the stream mapping over records ``ids`` (written before it starts) with ``fail``
    failing through sandbox.faults; the on-failure bodies sent, the ids the handler saw."""
    from sandbox.faults import FaultyIndexer

    seen: list[str] = []
    sent: list[str] = []
    refusals = [send_fails]

    def send(body):
        if refusals[0] > 0:
            refusals[0] -= 1
            raise ConnectionError("the DLQ is unreachable")
        sent.append(body)

    def handler(event, context):
        seen.extend(r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"])
        return {"batchItemFailures": []}

    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"indexer": {"fail_product_ids": [fail]}}))
    reader = StreamReader(client("dynamodbstreams", EU, env["ep"]), env["res"].regions[EU].stream_arn)
    reader.read(10_000)  # start after what earlier tests wrote
    invoker = Invoker(FaultyIndexer(handler, faults), "fn", EU, "123456789012")
    poller = StreamEventSource(invoker, reader, EU, "fn", batch_size=10, idle_seconds=0.05,
                               on_failure=send, function_arn=invoker.function_arn,
                               backoff=lambda attempt: 0.0, **esm)
    eu = client("dynamodb", EU, env["ep"])
    for pid in ids:
        eu.put_item(TableName=env["cfg"].table_name, Item=_item(pid, 1, "1"))
    poller.start()
    try:
        assert wait_until(lambda: sent, timeout=20) is not None
        eu.put_item(TableName=env["cfg"].table_name, Item=_item(ids[0] + "-after", 1, "1"))
        assert wait_until(lambda: ids[0] + "-after" in seen, timeout=20) is not None  # the shard moved on
    finally:
        poller.stop()
        poller.join(5)
    return sent, seen, poller


def test_stream_mapping_sends_lambdas_on_failure_record_when_retries_run_out(env, tmp_path):
    from replication.dlq import StreamPointer, classify, read_pointer

    ids = ["ex1", "ex2", "ex3", "ex4"]
    sent, seen, poller = _exhaust(env, ids, "ex2", tmp_path, max_retries=2)
    assert len(sent) == 1 and poller.discarded == 1
    assert seen.count("ex1") == 1 and "ex2" not in seen and "ex3" not in seen  # ex3, ex4 wait behind ex2
    kind, data, pointer, _ = classify(sent[0])
    assert kind == "stream" and StreamPointer.from_message(data) == pointer
    assert (pointer.condition, pointer.invoke_count, pointer.batch_size) == ("RetryAttemptsExhausted", 3, 3)
    assert pointer.function_error is None and "functionError" not in data["responseContext"]
    assert pointer.function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    assert pointer.stream_arn == env["res"].regions[EU].stream_arn
    # the pointer names exactly the records not done, as the stream still holds them
    found, why = read_pointer(client("dynamodbstreams", EU, env["ep"]), pointer)
    assert why is None and sorted(found) == ["ex2", "ex3", "ex4"]


def test_a_failed_on_failure_send_retries_the_batch_instead_of_dropping_it(env, tmp_path):
    from replication.dlq import classify

    sent, seen, _ = _exhaust(env, ["sf1"], "sf1", tmp_path, send_fails=1, max_retries=0)
    _, _, pointer, _ = classify(sent[0])
    assert pointer.invoke_count == 2 and pointer.batch_size == 1  # one more invocation, then sent
    assert "sf1" not in seen


def test_stream_mapping_gives_up_records_older_than_the_maximum_age(env, tmp_path):
    from replication.dlq import classify

    sent, _, _ = _exhaust(env, ["age1", "age2"], "age1", tmp_path, max_record_age=60,
                          clock=lambda: time.time() + 3600)
    _, _, pointer, _ = classify(sent[0])
    assert (pointer.condition, pointer.invoke_count, pointer.batch_size) == ("RecordAgeExceeded", 1, 2)


def test_queue_mapping_deletes_successes_and_keeps_failures(env):
    res = env["res"].regions[US]
    sqs = client("sqs", US, env["ep"])
    _events(env, US)
    for i in range(4):
        sqs.send_message(QueueUrl=res.queue_url, MessageBody=json.dumps({"n": i}))
    got: list[int] = []

    def handler(event, context):
        failures = []
        for rec in event["Records"]:
            assert rec["eventSource"] == "aws:sqs" and rec["eventSourceARN"] == res.queue_arn
            n = json.loads(rec["body"])["n"]
            got.append(n)
            if n == 2:
                failures.append({"itemIdentifier": rec["messageId"]})
        return {"batchItemFailures": failures}

    poller = QueueEventSource(Invoker(handler, "fn", US, "123456789012"), sqs, res.queue_url, res.queue_arn, US,
                              "fn", batch_size=10, batching_window=0.2, idle_seconds=0.05)
    poller.start()
    try:
        assert wait_until(lambda: len(got) >= 4, timeout=20) is not None
    finally:
        poller.stop()
        poller.join(5)
    assert sorted(got) == [0, 1, 2, 3]

    def counts() -> tuple[str, str]:  # approximate counts, eventually consistent (as on SQS)
        attrs = sqs.get_queue_attributes(QueueUrl=res.queue_url, AttributeNames=["All"])["Attributes"]
        return attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]

    assert wait_until(lambda: counts() == ("0", "1"), timeout=5, interval=0.2) is not None


# ---------------------------------------------------------------- Route 53 and the router
class _Region(BaseHTTPRequestHandler):
    def do_GET(self):
        status = self.server.status
        if getattr(self.server, "seen", None) is not None:
            self.server.seen.append((self.headers.get("Host"), self.path))
        body = json.dumps({"region": self.server.region, "path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def regions_http(env):
    cfg = env["cfg"]
    servers = {}
    for region in cfg.regions:
        srv = ThreadingHTTPServer(("127.0.0.1", cfg.sandbox.region_port(cfg.regions, region)), _Region)
        srv.status, srv.region = 200, region
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers[region] = srv
    yield servers
    for srv in servers.values():
        srv.shutdown()
        srv.server_close()


def _region_checks(res) -> dict[str, str]:
    """region -> the id of its storefront:region-tagged health check (the drill's)."""
    return {hc.region: hc.id for hc in res.health_checks if hc.region}


def _template_check(env, region: str) -> dict:
    """The region's tagged health check as the synthesized template declares it."""
    template = env["templates"][env["cfg"].stack_name("search", region)]
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Route53::HealthCheck" and {"Key": "storefront:region", "Value": region} in \
                res["Properties"].get("HealthCheckTags", []):
            return res["Properties"]["HealthCheckConfig"]
    raise AssertionError(f"no tagged health check for {region}")


def _emulator(env, cfg=None, res=None):
    cfg, res = cfg or env["cfg"], res or env["res"]
    r53 = Route53Emulator(env["ep"], res.hosted_zone_id, res.domain, res.health_checks, cfg.regions, cfg.routing, 1)
    r53.refresh_records()
    return r53


def test_health_checks_and_records_are_the_templates(env):
    """What moto holds is what the template declares (threshold, interval, path, inversion, type of each
    check; failover records with their set identifiers and calculated checks), the sandbox's one change
    being the endpoint: the region's port over HTTP, the execute-api host kept for the Host header."""
    cfg, res = env["cfg"], env["res"]
    api = client("route53", US, env["ep"])
    for region, hc in _region_checks(res).items():
        declared = _template_check(env, region)
        held = api.get_health_check(HealthCheckId=hc)["HealthCheck"]["HealthCheckConfig"]
        for key in ("FailureThreshold", "RequestInterval", "ResourcePath", "Inverted"):
            assert held[key] == declared[key], key
        assert declared["Type"] == "HTTPS" and held["Type"] == "HTTP"
        assert held["Port"] == cfg.sandbox.region_port(cfg.regions, region)
        assert held["FullyQualifiedDomainName"].endswith(f".execute-api.{region}.amazonaws.com")
    records = api.list_resource_record_sets(HostedZoneId=res.hosted_zone_id)["ResourceRecordSets"]
    routing = {r["SetIdentifier"]: r for r in records if r.get("SetIdentifier")}
    assert {r: routing[r]["Failover"] for r in routing} == {US: "PRIMARY", EU: "SECONDARY"}
    judged = {hc.id: hc for hc in res.health_checks}
    for region, rec in routing.items():
        calculated = api.get_health_check(HealthCheckId=rec["HealthCheckId"])["HealthCheck"]["HealthCheckConfig"]
        assert judged[rec["HealthCheckId"]].type == calculated["Type"] == "CALCULATED"
        assert _region_checks(res)[region] in calculated["ChildHealthChecks"]


def test_route53_health_checks_follow_threshold_inverted_and_disabled(env, regions_http):
    res = env["res"]
    r53 = _emulator(env)
    us_hc = _region_checks(res)[US]
    threshold = _template_check(env, US)["FailureThreshold"]
    assert threshold > 1
    assert r53.answer() == US
    regions_http[US].status = 503
    for _ in range(threshold - 1):
        r53.check_once(us_hc)
    assert r53.answer() == US  # one failure short of the template's threshold
    r53.check_once(us_hc)
    assert r53.answer() == EU and r53.states[us_hc].status == "unhealthy"
    api = client("route53", US, env["ep"])
    api.update_health_check(HealthCheckId=us_hc, Inverted=True)  # 503 now counts as success
    for _ in range(threshold):
        r53.check_once(us_hc)
    assert r53.answer() == US and r53.states[us_hc].inverted
    api.update_health_check(HealthCheckId=us_hc, Inverted=False)
    for _ in range(threshold):
        r53.check_once(us_hc)
    assert r53.answer() == EU
    api.update_health_check(HealthCheckId=us_hc, Disabled=True)  # disabled: considered healthy
    r53.check_once(us_hc)
    us_state = next(h for h in r53.health_checks() if h["region"] == US)
    assert r53.answer() == US and us_state["disabled"] and us_state["status"] == "healthy"
    api.update_health_check(HealthCheckId=us_hc, Disabled=False)
    regions_http[US].status = 200
    for _ in range(threshold):
        r53.check_once(us_hc)


def test_probe_names_the_execute_api_host_and_its_stage_path(env, regions_http):
    res = env["res"]
    seen = []
    regions_http[US].seen = seen
    r53 = _emulator(env)
    r53.check_once(_region_checks(res)[US])
    host, path = seen[-1]
    assert host.endswith(f".execute-api.{US}.amazonaws.com") and path == _template_check(env, US)["ResourcePath"]


def test_a_shopper_path_alarm_takes_the_region_out_through_the_calculated_check(env, regions_http):
    """The template's calculated check (HealthThreshold of its children) and CloudWatch alarm check:
    an alarm in ALARM makes the alarm check unhealthy, so the region's judged check fails and
    traffic fails over; OK brings it back. No alarm in the sandbox: healthy (LastKnownStatus)."""
    res = env["res"]
    metric = next(hc for hc in res.health_checks if hc.type == "CLOUDWATCH_METRIC" and hc.alarm_region == US)
    r53 = _emulator(env)
    r53.check_once(metric.id)
    assert r53.states[metric.id].status == "healthy" and r53.answer() == US  # no such alarm: last known
    cw = client("cloudwatch", US, env["ep"])
    cw.put_metric_alarm(AlarmName=metric.alarm_name, MetricName="SuccessPercent", Namespace="CloudWatchSynthetics",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=90,
                        ComparisonOperator="LessThanThreshold")
    try:
        cw.set_alarm_state(AlarmName=metric.alarm_name, StateValue="ALARM", StateReason="test")
        r53.check_once(metric.id)
        assert r53.answer() == EU
        cw.set_alarm_state(AlarmName=metric.alarm_name, StateValue="INSUFFICIENT_DATA", StateReason="test")
        r53.check_once(metric.id)
        assert r53.answer() == EU  # LastKnownStatus: still unhealthy
        cw.set_alarm_state(AlarmName=metric.alarm_name, StateValue="OK", StateReason="test")
        r53.check_once(metric.id)
        assert r53.answer() == US
    finally:
        cw.delete_alarms(AlarmNames=[metric.alarm_name])


def test_router_serves_admin_routes_and_proxies_to_the_answer(env, regions_http):
    cfg, res = env["cfg"], env["res"]
    r53 = _emulator(env)
    checks = _region_checks(res)
    urls = {r: f"http://127.0.0.1:{cfg.sandbox.region_port(cfg.regions, r)}" for r in cfg.regions}
    router = GlobalRouter("127.0.0.1", cfg.sandbox.global_port, urls, r53.answer_json, r53.health_checks).start()
    base = f"http://127.0.0.1:{cfg.sandbox.global_port}"
    try:
        answer = get(base, "/_sandbox/route53/answer").body
        assert answer == {"name": res.domain, "routing": "failover", "region": US}
        hcs = get(base, "/_sandbox/route53/health-checks").body["health_checks"]
        assert {h["region"] for h in hcs} == {US, EU}
        assert set(hcs[0]) == {"id", "region", "name", "type", "status", "inverted", "disabled",
                               "consecutive_failures", "last_checked"}
        proxied = get(base, "/search", {"q": "x"})
        assert proxied.region == US and proxied.body == {"region": US, "path": "/search?q=x"}
        regions_http[US].status = 503
        for _ in range(_template_check(env, US)["FailureThreshold"]):
            r53.check_once(checks[US])
        assert get(base, "/health").region == EU
    finally:
        router.stop()


def test_latency_records_answer_the_nearest_healthy_region(env, regions_http, tmp_path):
    sb = env["cfg"].sandbox
    cfg = _config(tmp_path, "emulat", "latency", sb.aws_port, sb.global_port, sb.first_region_port)
    res = create_resources(cfg, cloud_assembly(cfg), env["ep"])
    records = client("route53", US, env["ep"]).list_resource_record_sets(HostedZoneId=res.hosted_zone_id)
    latency = [r for r in records["ResourceRecordSets"] if r.get("Region")]
    assert sorted(r["Region"] for r in latency) == sorted(cfg.regions)
    r53 = _emulator(env, cfg, res)
    assert r53.answer_json()["routing"] == "latency" and r53.answer() == US
    regions_http[US].status = 500
    for _ in range(cfg.health_check.failure_threshold):
        r53.check_once(_region_checks(res)[US])
    assert r53.answer() == EU


# ---------------------------------------------------------------- resources are the template's
def _declared(env, stack: str, rtype: str) -> dict:
    found = [r["Properties"] for r in env["templates"][stack]["Resources"].values() if r["Type"] == rtype]
    assert found, f"no {rtype} in {stack}"
    return {p.get("QueueName") or p.get("BucketName") or p.get("TableName") or p.get("Name"): p for p in found}


def test_tables_queues_buckets_and_parameters_are_the_templates(env):
    """Each setting read back from moto equals the synthesized template's, not a constant of the sandbox's:
    a redrive count, a visibility timeout or a stream view changed in the CDK code changes the sandbox."""
    cfg, res = env["cfg"], env["res"]
    (name, table), = _declared(env, cfg.stack_name("table"), "AWS::DynamoDB::GlobalTable").items()
    assert sorted(r["Region"] for r in table["Replicas"]) == sorted(res.table_regions) == sorted(cfg.regions)
    for region in cfg.regions:
        ddb = client("dynamodb", region, env["ep"])
        held = ddb.describe_table(TableName=name)["Table"]
        assert held["KeySchema"] == table["KeySchema"]
        assert held["StreamSpecification"]["StreamViewType"] == table["StreamSpecification"]["StreamViewType"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == table["TimeToLiveSpecification"]["AttributeName"]

        storage = cfg.stack_name("storage", region)
        sqs = client("sqs", region, env["ep"])
        for qname, declared in _declared(env, storage, "AWS::SQS::Queue").items():
            url = sqs.get_queue_url(QueueName=qname)["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            assert attrs["MessageRetentionPeriod"] == str(declared["MessageRetentionPeriod"])
            if "VisibilityTimeout" in declared:
                assert attrs["VisibilityTimeout"] == str(declared["VisibilityTimeout"])
            if "RedrivePolicy" in declared:
                redrive = json.loads(attrs["RedrivePolicy"])
                assert redrive["maxReceiveCount"] == declared["RedrivePolicy"]["maxReceiveCount"]
                assert redrive["deadLetterTargetArn"] == res.regions[region].dlq_arn

        s3 = client("s3", region, env["ep"])
        bucket = res.regions[region].bucket
        declared = _declared(env, storage, "AWS::S3::Bucket")[bucket]
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == declared["VersioningConfiguration"]["Status"]
        queues = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
        assert sorted(e for q in queues for e in q["Events"]) == sorted(
            q["Event"] for q in declared["NotificationConfiguration"]["QueueConfigurations"])
        assert {q["QueueArn"] for q in queues} == {res.regions[region].queue_arn}
        rules = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
        assert [r["Destination"]["Bucket"] for r in rules] == [
            f"arn:aws:s3:::{cfg.bucket_name(other)}" for other in cfg.regions if other != region]

        (pname, param), = _declared(env, cfg.stack_name("search", region), "AWS::SSM::Parameter").items()
        assert client("ssm", region, env["ep"]).get_parameter(Name=pname)["Parameter"]["Value"] == param["Value"]
