"""The one deployment configuration model.

Loaded from one TOML file (``storefront.toml`` at the project root by default, or the
path in ``STOREFRONT_CONFIG``) and validated, with errors that name the field.
``infra/``, ``sandbox/`` and ``replication/`` all read it; the Lambda functions do not
(they get their settings from environment variables that the CDK app or the sandbox
derives from this model).

One module per concern, this package the one name everything imports from:

- :mod:`~catalog.config.schema`: the sections and their fields, each default and range written once
- :mod:`~catalog.config.parse`: reading the file, and the rules beyond a field's range
- :mod:`~catalog.config.naming`: every resource name, derived in one place so that the CDK
  app, the sandbox and the operator tooling always agree on them
- :mod:`~catalog.config.replication_doc`: the content buckets' S3 replication document
- :mod:`~catalog.config.aws_limits`: AWS's own limits the values are checked against
- :mod:`~catalog.config.errors`: :class:`ConfigError`
"""

from catalog.config.aws_limits import LOG_RETENTION_DAYS, MIB, http_payload_limit
from catalog.config.errors import ConfigError
from catalog.config.naming import ResourceNames
from catalog.config.parse import DEFAULT_PATH, ENV_PATH, config_path, load_config, parse_config
from catalog.config.replication_doc import bucket_replication
from catalog.config.schema import (
    CANARY_KINDS,
    DEFAULT_OPENSEARCH_PROFILE,
    OPENSEARCH_PROFILES,
    ROUTING_MODES,
    AlarmThresholds,
    AwsConfig,
    DeploymentConfig,
    EngineConfig,
    HealthCheckConfig,
    OpenSearchProfile,
    OpenSearchSizing,
    SandboxConfig,
    Thresholds,
)

__all__ = [
    "CANARY_KINDS",
    "DEFAULT_OPENSEARCH_PROFILE",
    "DEFAULT_PATH",
    "ENV_PATH",
    "LOG_RETENTION_DAYS",
    "MIB",
    "OPENSEARCH_PROFILES",
    "ROUTING_MODES",
    "AlarmThresholds",
    "AwsConfig",
    "ConfigError",
    "DeploymentConfig",
    "EngineConfig",
    "HealthCheckConfig",
    "OpenSearchProfile",
    "OpenSearchSizing",
    "ResourceNames",
    "SandboxConfig",
    "Thresholds",
    "bucket_replication",
    "config_path",
    "http_payload_limit",
    "load_config",
    "parse_config",
]
