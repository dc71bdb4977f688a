"""``<prefix>-table`` (primary region): the DynamoDB global table and its replicas."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.constructs.global_table import GlobalTable
from infra.settings import Deployment


class TableStack(Stack):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, **kwargs: Any) -> None:
        super().__init__(scope, cid, **kwargs)
        self.global_table = GlobalTable(self, "Products", dep=dep)
