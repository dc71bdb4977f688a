"""The CDK app that deploys storefront-search to two or more AWS regions.

``cdk.json`` at the project root runs :mod:`infra.app`. Every resource name comes from
:class:`catalog.config.DeploymentConfig`; the Lambda code comes from ``indexer/`` and
``search_api/`` (this package only names their asset paths and entry points).
"""
