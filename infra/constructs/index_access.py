"""What each Lambda role may do on the OpenSearch domain (SigV4, path-scoped).

The domain's resource policy admits both roles; these identity policies narrow each
one to the alias, its physical indices (``<alias>-v...``) and the few endpoints it
needs:

* search: ``GET``/``HEAD``/``POST`` (``_search`` is a POST) on the alias and its
  indices, ``GET _alias/<alias>`` and ``GET _cluster/health`` (``/health``);
* indexer: also ``PUT``/``DELETE`` on them and ``POST _bulk``/``_aliases`` (the
  bootstrap runs with this role to create the first index and its alias).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

READ_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost")
WRITE_ACTIONS = (*READ_ACTIONS, "es:ESHttpPut", "es:ESHttpDelete")


def index_resources(domain_arn: str, alias: str) -> list[str]:
    return [f"{domain_arn}/{alias}", f"{domain_arn}/{alias}/*", f"{domain_arn}/{alias}-*"]


class IndexAccess(Construct):
    def __init__(self, scope: Construct, cid: str, *, domain_arn: str, alias: str,
                 search_role: iam.IRole, indexer_role: iam.IRole) -> None:
        super().__init__(scope, cid)
        indices = index_resources(domain_arn, alias)
        search_role.add_to_principal_policy(iam.PolicyStatement(
            sid="ReadIndex",
            actions=list(READ_ACTIONS),
            resources=[*indices, f"{domain_arn}/_alias/{alias}", f"{domain_arn}/_cluster/health"],
        ))
        indexer_role.add_to_principal_policy(iam.PolicyStatement(
            sid="WriteIndex",
            actions=list(WRITE_ACTIONS),
            resources=indices,
        ))
        indexer_role.add_to_principal_policy(iam.PolicyStatement(
            sid="BulkAndAliases",
            actions=["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"],
            resources=[f"{domain_arn}/_bulk", f"{domain_arn}/_aliases", f"{domain_arn}/_alias/{alias}",
                       f"{domain_arn}/_cluster/health"],
        ))
