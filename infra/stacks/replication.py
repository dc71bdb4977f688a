"""``<prefix>-replication-<region>``: the bucket's replication rules (after every storage stack)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.constructs.content_replication import ContentReplication
from infra.settings import Deployment


class ReplicationStack(Stack):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, **kwargs: Any) -> None:
        super().__init__(scope, cid, **kwargs)
        self.replication = ContentReplication(self, "ContentReplication", dep=dep, region=region)
