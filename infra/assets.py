"""Lambda assets as plain files: what each function's asset holds, its hash, and its build.

CDK-free (the sandbox builds and checks assets without starting the CDK's node process);
:mod:`infra.bundling` hands :func:`build` to CDK as the local bundler. See that module
for how the lock, the platforms and the hash fit together.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infra.settings import PROJECT_ROOT

PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
# provided by the Lambda runtime; never in the lock (uv pip compile --no-emit-package)
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# The runtime dependencies of pyproject.toml resolved for the Lambda platform, with hashes.
# Regenerate after changing [project].dependencies (the command is in the file's header).
LOCK = PROJECT_ROOT / "requirements" / "lambda.txt"
LOCK_COMMAND = (
    "uv pip compile pyproject.toml --python-version 3.13 --python-platform aarch64-manylinux2014 "
    "--generate-hashes --no-emit-package boto3 --no-emit-package botocore --no-emit-package s3transfer "
    "-o requirements/lambda.txt"
)
Target = Literal["lambda", "host"]
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "tests")


@dataclass(frozen=True)
class AssetSpec:
    """What goes into one function's asset: source paths (relative to the project root,
    copied to the same relative place, or to ``rename`` for a single file) and the lock."""

    handler: str
    sources: tuple[str, ...]
    locked: bool = True
    rename: str | None = None

    @property
    def name(self) -> str:
        return self.handler.split(".")[0]

    def source_files(self) -> list[Path]:
        files: list[Path] = []
        for source in self.sources:
            root = PROJECT_ROOT / source
            paths = sorted(root.rglob("*")) if root.is_dir() else [root]
            files += [p for p in paths if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                      and "tests" not in p.relative_to(PROJECT_ROOT).parts]
        return files


ASSETS: dict[str, AssetSpec] = {spec.handler: spec for spec in (
    AssetSpec("indexer.handler.lambda_handler", ("catalog", "indexer")),
    AssetSpec("search_api.handler.lambda_handler", ("catalog", "search_api")),
    AssetSpec("index_bootstrap.lambda_handler", ("infra/runtime/index_bootstrap.py",), locked=False,
              rename="index_bootstrap.py"),
)}


def asset_for(handler: str) -> AssetSpec:
    """The asset of the function whose handler is ``handler``."""
    try:
        return ASSETS[handler]
    except KeyError:
        raise ValueError(f"handler {handler!r} has no asset definition; known: {', '.join(ASSETS)}") from None


def asset_hash(spec: AssetSpec, target: Target = "lambda") -> str:
    """A hash of the lock (the resolved versions and their file hashes), the platform and every source file."""
    h = hashlib.sha256()
    h.update(f"{target} {PLATFORM} {PYTHON_VERSION} {spec.handler}\n".encode())
    if spec.locked:
        h.update(LOCK.read_bytes())
    for path in spec.source_files():
        h.update(str(path.relative_to(PROJECT_ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def pip_command(out: Path, target: Target, lock: Path = LOCK) -> list[str]:
    """``pip install`` of exactly the locked files into ``out``, for Lambda or this host."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
           "--target", str(out), "--no-deps", "--require-hashes", "--only-binary=:all:", "-r", str(lock)]
    if target == "lambda":
        cmd += ["--platform", PLATFORM, "--implementation", "cp", "--python-version", PYTHON_VERSION]
    return cmd


def build(spec: AssetSpec, out: Path, target: Target = "lambda") -> Path:
    """Build ``spec``'s asset into the directory ``out`` (created if missing); returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for source in spec.sources:
        src = PROJECT_ROOT / source
        if src.is_dir():
            shutil.copytree(src, out / source, ignore=_IGNORE, dirs_exist_ok=True)
        else:
            dest = out / (spec.rename or source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    if spec.locked:
        result = subprocess.run(pip_command(out, target), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"bundling {spec.handler} for {target}: pip failed "
                               f"(exit {result.returncode}): {result.stderr.strip()[-2000:]}")
        for cache in out.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
    return out


def runtime_provided(out: Path, extra: tuple[str, ...] = ()) -> Path:
    """A folder of what the Lambda Python runtime adds to the import path (:data:`RUNTIME_PROVIDED`,
    from this environment), plus the ``extra`` packages named: symlinks into ``out``; returns ``out``."""
    import importlib

    out.mkdir(parents=True, exist_ok=True)
    for name in (*RUNTIME_PROVIDED, *extra):
        module = importlib.import_module(name)
        if module.__file__ is None:
            raise RuntimeError(f"{name} has no file to link into the asset (a namespace package?)")
        source = Path(module.__file__)
        package = source.parent if source.name == "__init__.py" else source
        link = out / package.name
        if not link.exists():
            link.symlink_to(package, target_is_directory=package.is_dir())
    return out
