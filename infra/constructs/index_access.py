"""What each Lambda role may do on the OpenSearch domain: one definition, used twice.

The same grants are written into the domain's resource (access) policy, naming the
role as principal, and into the role's identity policy. Under AWS's evaluation rules
an Allow in either policy is enough within one account, so both must be exactly this
narrow; nothing else on the domain is granted to anyone (no anonymous access).

The paths are the requests the code makes (``catalog/engine/opensearch/`` through
opensearch-py, ``infra/runtime/index_bootstrap.py``); ``ALIAS`` is the configured alias:

* search (``search_api``): ``POST ALIAS/_search`` (search and suggest), ``ALIAS/_count``,
  ``ALIAS/_mget`` (product by id), GET allowed on the same read-only paths, and
  ``GET _alias/ALIAS`` (``/health``). No write, no DELETE, no ``_bulk``.
* indexer (the stream/queue function and the index bootstrap, which runs with its role):
  ``POST ALIAS/_bulk`` (``require_alias``), ``GET _alias/ALIAS``,
  ``HEAD``/``PUT ALIAS-*`` (the versioned physical indices: create the first one) and
  ``POST _aliases`` (point the alias at it). No DELETE.
* operator tooling (``storefront reindex``, ``audit``; ``replication/``) runs with the
  operator's own IAM identity, to which the managed policy ``<prefix>-index-operator-<region>``
  grants what it calls: the indexer's requests plus ``POST ALIAS-*/_bulk``, reads of the
  physical indices (``ALIAS-*/_search``, ``_count``, ``_mget``) and
  ``GET _cat/indices/ALIAS-*``. Within the account an identity policy is enough; the
  access policy names no operator.

Grants are on request paths, and ``_bulk``/``_mget`` bodies may name other indices, so
the domain refuses indices named in bodies (``rest.action.multi.allow_explicit_index``
false, :mod:`infra.constructs.search_domain`) and the engine names the index in the path.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from constructs import Construct


@dataclass(frozen=True)
class Grant:
    """HTTP methods (as ``es:ESHttp<Method>`` actions) on paths under the domain ARN."""

    sid: str
    actions: tuple[str, ...]
    paths: tuple[str, ...]

    def resources(self, domain_arn: str) -> list[str]:
        return [f"{domain_arn}/{p}" for p in self.paths]


def search_grants(alias: str) -> tuple[Grant, ...]:
    """The search API's role: read the alias, nothing else."""
    return (
        Grant("ReadAlias", ("es:ESHttpGet", "es:ESHttpPost"),
              (f"{alias}/_search", f"{alias}/_count", f"{alias}/_mget")),
        Grant("AliasHealth", ("es:ESHttpGet",), (f"_alias/{alias}",)),
    )


def indexer_grants(alias: str) -> tuple[Grant, ...]:
    """The indexer's role (also the index bootstrap's): bulk writes, create an index, point the alias."""
    return (
        Grant("BulkWrite", ("es:ESHttpPost",), (f"{alias}/_bulk",)),
        Grant("AliasTarget", ("es:ESHttpGet",), (f"_alias/{alias}",)),
        Grant("CreateIndex", ("es:ESHttpHead", "es:ESHttpPut"), (f"{alias}-*",)),
        Grant("PointAlias", ("es:ESHttpPost",), ("_aliases",)),
    )


def operator_grants(alias: str) -> tuple[Grant, ...]:
    """Reindex and audit: the indexer's grants, and read the alias and its physical indices."""
    reads = tuple(f"{target}/{api}" for target in (alias, f"{alias}-*") for api in ("_search", "_count", "_mget"))
    return (
        *indexer_grants(alias),
        Grant("BulkWriteIndices", ("es:ESHttpPost",), (f"{alias}-*/_bulk",)),
        Grant("ReadIndices", ("es:ESHttpGet", "es:ESHttpPost"), reads),
        Grant("ListIndices", ("es:ESHttpGet",), (f"_cat/indices/{alias}-*",)),
    )


def identity_statements(domain_arn: str, grants: tuple[Grant, ...]) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(sid=g.sid, actions=list(g.actions), resources=g.resources(domain_arn))
            for g in grants]


def resource_statements(domain_arn: str, role: iam.IRole, grants: tuple[Grant, ...],
                        prefix: str) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(sid=f"{prefix}{g.sid}", principals=[iam.ArnPrincipal(role.role_arn)],
                                actions=list(g.actions), resources=g.resources(domain_arn))
            for g in grants]


class IndexAccess(Construct):
    """The roles' identity policies, the statements of the domain's access policy, and the
    managed policy for operators."""

    def __init__(self, scope: Construct, cid: str, *, domain_arn: str, alias: str,
                 search_role: iam.IRole, indexer_role: iam.IRole, operator_policy_name: str) -> None:
        super().__init__(scope, cid)
        self.operator_policy = iam.ManagedPolicy(
            self, "OperatorPolicy", managed_policy_name=operator_policy_name,
            description="Attach to the operator identity that runs `storefront reindex` / `audit` on this domain",
            statements=identity_statements(domain_arn, operator_grants(alias)))
        roles = {"Search": (search_role, search_grants(alias)), "Indexer": (indexer_role, indexer_grants(alias))}
        self.access_policy = iam.PolicyDocument()
        for prefix, (role, grants) in roles.items():
            for statement in identity_statements(domain_arn, grants):
                role.add_to_principal_policy(statement)
            self.access_policy.add_statements(*resource_statements(domain_arn, role, grants, prefix))
