"""``<prefix>-storage-<region>``: the content bucket, its access logs, the S3-events queue and the DLQ."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.constructs.content_bucket import ContentBucket, ContentQueues
from infra.settings import Deployment


class StorageStack(Stack):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, **kwargs: Any) -> None:
        super().__init__(scope, cid, **kwargs)
        self.queues = ContentQueues(self, "Queues", dep=dep, region=region)
        self.content = ContentBucket(self, "Content", dep=dep, region=region, queue=self.queues.queue)
