"""Lambda assets without Docker: one build, for the Lambda platform or for this host.

An asset is defined by its function's handler string (:data:`ASSETS`): which source
trees it holds and whether it carries the locked runtime dependencies. The function
assets hold ``catalog/``, the function's package and the dependencies pinned, with
hashes, in ``requirements/lambda.txt`` (see :data:`LOCK`); the index bootstrap holds
only its module (standard library + the runtime's botocore).

:func:`build` is the only way an asset is made: the CDK bundler calls it for the Lambda
platform (``pip install --platform manylinux2014_aarch64 --python-version 3.13
--implementation cp --only-binary=:all:``), the tests and the benchmark for this host
(same lock, same sources, host wheels). Either way pip installs exactly the locked
versions (``--no-deps --require-hashes``), so two machines build the same files, and the
asset hash (:func:`asset_hash`) covers the lock and every source file.

boto3, botocore and s3transfer are not in the lock: the Lambda runtime provides them.

With the context ``skip_bundling`` (``cdk synth -c skip_bundling=true``, and the
template tests) the asset is the bare source directory: the synthesized templates are
the same, only the zip is not deployable. CDK's ``aws:cdk:bundling-stacks`` also skips it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.assets import (  # noqa: F401 - re-exported: the asset definitions live in infra.assets (CDK-free)
    ASSETS,
    LOCK,
    LOCK_COMMAND,
    PLATFORM,
    PYTHON_VERSION,
    RUNTIME_PROVIDED,
    AssetSpec,
    Target,
    asset_for,
    asset_hash,
    build,
    pip_command,
    runtime_provided,
)
from infra.settings import PROJECT_ROOT


@jsii.implements(ILocalBundling)
class LocalPythonBundler:
    """CDK's local bundling hook: :func:`build` for the Lambda platform."""

    def __init__(self, spec: AssetSpec) -> None:
        self.spec = spec

    def try_bundle(self, output_dir: str, _options: Any = None, **_kwargs: Any) -> bool:
        # jsii passes the BundlingOptions struct positionally; nothing in it is needed here
        build(self.spec, Path(output_dir), "lambda")
        return True


def function_code(scope: Construct, handler: str) -> lambda_.Code:
    """The deployable asset of the function whose handler is ``handler``."""
    spec = asset_for(handler)
    own = PROJECT_ROOT / spec.sources[-1]  # the function's own package (or module's directory)
    source_dir = str(own if own.is_dir() else own.parent)
    if scope.node.try_get_context("skip_bundling") in (True, "true", "1"):
        return lambda_.Code.from_asset(source_dir, exclude=["__pycache__", "*.pyc"])
    return lambda_.Code.from_asset(
        source_dir,
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(spec),
        bundling=BundlingOptions(
            # Never used: local bundling always succeeds or raises, so Docker is not needed.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=LocalPythonBundler(spec),
        ),
    )
