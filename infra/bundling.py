"""Lambda assets without Docker: local bundling of ``catalog/`` + one function package.

Each asset holds ``catalog/``, the function's package (``indexer/`` or ``search_api/``)
and the runtime dependencies from ``pyproject.toml`` installed for the Lambda platform
(``pip install --platform manylinux2014_aarch64 --python-version 3.13
--only-binary=:all:``). boto3/botocore are left out: the Lambda runtime provides them.

With the context ``skip_bundling`` (``cdk synth -c skip_bundling=true``, and the tests)
the asset is the bare package directory: the synthesized templates are the same, only
the zip is not deployable. CDK's own ``aws:cdk:bundling-stacks`` context also skips it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.settings import PROJECT_ROOT

PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
# provided by the Lambda runtime
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "tests")


def runtime_requirements(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> list[str]:
    """``[project].dependencies`` minus what the Lambda runtime already has."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [d for d in deps if not any(d.lower().startswith(p) for p in RUNTIME_PROVIDED)]


def source_hash(packages: tuple[str, ...], requirements: list[str]) -> str:
    """A hash of every file that goes into the asset, and the requirement list."""
    h = hashlib.sha256()
    h.update(f"{PLATFORM} {PYTHON_VERSION} {' '.join(requirements)}".encode())
    for package in packages:
        for path in sorted((PROJECT_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                h.update(str(path.relative_to(PROJECT_ROOT)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


@jsii.implements(ILocalBundling)
class LocalPythonBundler:
    """Copies the packages and pip-installs the requirements for arm64 Lambda into the asset."""

    def __init__(self, packages: tuple[str, ...], requirements: list[str]) -> None:
        self.packages = packages
        self.requirements = requirements

    def try_bundle(self, output_dir: str, _options: Any = None, **_kwargs: Any) -> bool:
        # jsii passes the BundlingOptions struct positionally; nothing in it is needed here
        out = Path(output_dir)
        for package in self.packages:
            shutil.copytree(PROJECT_ROOT / package, out / package, ignore=_IGNORE, dirs_exist_ok=True)
        if self.requirements:
            cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--target", str(out), "--platform", PLATFORM, "--implementation", "cp",
                   "--python-version", PYTHON_VERSION, "--only-binary=:all:", "--upgrade", *self.requirements]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"bundling {'+'.join(self.packages)}: pip failed "
                                   f"(exit {result.returncode}): {result.stderr.strip()[-2000:]}")
        return True


def function_code(scope: Construct, package: str) -> lambda_.Code:
    """The asset of one function: ``catalog/`` + ``package`` + runtime dependencies."""
    packages = ("catalog", package)
    if scope.node.try_get_context("skip_bundling") in (True, "true", "1"):
        return lambda_.Code.from_asset(str(PROJECT_ROOT / package), exclude=["__pycache__", "*.pyc"])
    requirements = runtime_requirements()
    return lambda_.Code.from_asset(
        str(PROJECT_ROOT / package),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(packages, requirements),
        bundling=BundlingOptions(
            # Never used: local bundling always succeeds or raises, so Docker is not needed.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=LocalPythonBundler(packages, requirements),
        ),
    )
