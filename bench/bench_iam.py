"""What moto's IAM enforcement (:mod:`sandbox.iam`) costs per AWS call in the sandbox's server.

``python -m bench iam [--calls N] [--rounds R]``: one moto server in this process, as the
sandbox hosts it, with the sandbox's operator and a role shaped like the indexer's (a table,
a stream, a queue, a bucket prefix). Each round times ``N`` calls of each kind with
enforcement off, then on (interleaved, so the machine's load hits both alike); it prints
the median calls/s of each and the ratio. Calls: ``put_item`` as the operator (what a
catalog load makes), ``batch_write_item`` of 25 as the operator, and as the role
``get_object`` and ``send_message_batch`` of 10 (what the indexer makes) and ``get_records``
(what its stream event source makes).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                  "Principal": {"Service": "lambda.amazonaws.com"}}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench iam")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_ACCOUNT_ID", "123456789012")
    from moto import settings

    from catalog.config import load_config
    from sandbox.aws import client, credentials_of
    from sandbox.iam import SandboxIam, SandboxRole
    from sandbox.moto_host import MotoHost

    cfg = load_config(None)
    host = MotoHost("127.0.0.1", _free_port()).start()
    iam = SandboxIam(cfg, host.endpoint, enforce=True).start()
    ep, r = host.endpoint, "us-east-1"
    try:
        ddb = client("dynamodb", r, ep)
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        stream = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        queue = client("sqs", r, ep).create_queue(QueueName="q")["QueueUrl"]
        client("s3", r, ep).create_bucket(Bucket="bench-content")
        client("s3", r, ep).put_object(Bucket="bench-content", Key="products/1.json", Body=b"{}")
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                           "dynamodb:DescribeStream"], "Resource": stream},
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:123456789012:q"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bench-content/products/*"},
            {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}]}
        admin = client("iam", r, ep)
        arn = admin.create_role(RoleName="indexer", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        admin.put_role_policy(RoleName="indexer", PolicyName="p", PolicyDocument=json.dumps(policy))
        role = credentials_of(iam.assume(SandboxRole("bench", "Indexer", "indexer", arn, TRUST, 3600), "indexer"))
        as_role = {s: client(s, r, ep, credentials=role) for s in ("s3", "sqs", "dynamodbstreams")}
        shard = as_role["dynamodbstreams"].describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]
        iterator = as_role["dynamodbstreams"].get_shard_iterator(
            StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        n = iter(range(10**9))
        kinds: dict[str, Callable[[], Any]] = {
            "put_item (operator)": lambda: ddb.put_item(TableName="t", Item={"id": {"S": str(next(n))}}),
            "batch_write_item 25 (operator)": lambda: ddb.batch_write_item(RequestItems={"t": [
                {"PutRequest": {"Item": {"id": {"S": str(next(n))}}}} for _ in range(25)]}),
            "get_object (role)": lambda: as_role["s3"].get_object(Bucket="bench-content",
                                                                  Key="products/1.json")["Body"].read(),
            "send_message_batch 10 (role)": lambda: as_role["sqs"].send_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(i), "MessageBody": "x"} for i in range(10)]),
            "get_records (role)": lambda: as_role["dynamodbstreams"].get_records(ShardIterator=iterator, Limit=1),
        }
        rates: dict[tuple[str, bool], list[float]] = {(k, on): [] for k in kinds for on in (False, True)}
        for _ in range(args.rounds):
            for kind, call in kinds.items():
                for on in (False, True):
                    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
                    t0 = time.perf_counter()
                    for _ in range(args.calls):
                        call()
                    rates[(kind, on)].append(args.calls / (time.perf_counter() - t0))
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        load = os.getloadavg()[0]
        print(f"{args.rounds} rounds x {args.calls} calls per kind, load average {load:.1f}")
        print("| call | calls/s, enforcement off | calls/s, on | on / off |")
        print("|---|---|---|---|")
        for kind in kinds:
            off, on = statistics.median(rates[(kind, False)]), statistics.median(rates[(kind, True)])
            print(f"| {kind} | {off:,.0f} | {on:,.0f} | {on / off:.2f} |")
    finally:
        iam.stop()
        host.stop()
    return 0
