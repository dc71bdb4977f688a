"""The one record of a running sandbox's endpoints, and how a reader finds it.

``<sandbox.state_dir>/endpoints.json`` is written by the sandbox's supervisor
(:func:`sandbox.state.write_endpoints`) once it is serving and removed when it stops; every
reader (the sandbox's own commands, the operator tooling's target resolution in
``replication.targets``, the tests) reads it through :func:`read_endpoints` into
:class:`Endpoints`, never by raw keys::

    {"aws": "http://127.0.0.1:5055", "global": "http://127.0.0.1:8080",
     "regions": {"us-east-1": "http://127.0.0.1:8081", ...},
     "index_dirs": {"us-east-1": "<abs path>", ...}, "domain": "<record name>", "pid": <supervisor pid>}

A relative ``state_dir`` is taken relative to the configuration file's folder. This module
sits below both the sandbox and the operator tooling and imports only the configuration.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.config import DeploymentConfig

ENDPOINTS_FILE = "endpoints.json"
SANDBOX_DOMAIN = "search.sandbox.localhost"
# The sandbox's operator: an IAM user with administrator access that the sandbox creates in its
# moto at start (:mod:`sandbox.iam`). Every caller of the sandbox's AWS endpoint that is not one
# of its functions (the CLI, the emulators, the operator tooling, the tests) signs with this key;
# the functions sign with their own roles'. Well known on purpose: the sandbox is local only.
OPERATOR_CREDENTIALS = {"aws_access_key_id": "AKIASANDBOXOPERATOR0",
                        "aws_secret_access_key": "sandbox/operator/secret/access/key/0000"}


@dataclass(frozen=True)
class Endpoints:
    """Where a running sandbox serves: the moto AWS endpoint, the global (routed) and per-region
    search URLs, each region's index directory, the Route 53 record name, the supervisor's pid."""

    aws: str
    global_url: str
    regions: Mapping[str, str]
    index_dirs: Mapping[str, str]
    domain: str
    pid: int

    def to_json(self) -> dict[str, Any]:
        return {"aws": self.aws, "global": self.global_url, "regions": dict(self.regions),
                "index_dirs": dict(self.index_dirs), "domain": self.domain, "pid": self.pid}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Endpoints:
        return cls(aws=data["aws"], global_url=data["global"], regions=dict(data["regions"]),
                   index_dirs=dict(data.get("index_dirs", {})), domain=data.get("domain", SANDBOX_DOMAIN),
                   pid=int(data["pid"]))


def state_dir(cfg: DeploymentConfig) -> Path:
    p = Path(cfg.sandbox.state_dir)
    if not p.is_absolute():
        base = Path(cfg.source).resolve().parent if cfg.source else Path.cwd()
        p = base / p
    return p


def endpoints_path(cfg: DeploymentConfig) -> Path:
    return state_dir(cfg) / ENDPOINTS_FILE


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (0 and negatives name process groups: never alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_endpoints(cfg: DeploymentConfig) -> Endpoints | None:
    """The running sandbox's endpoints, or None (a stale file of a dead sandbox is removed)."""
    path = endpoints_path(cfg)
    try:
        data = json.loads(path.read_text())
        endpoints = Endpoints.from_json(data)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not pid_alive(endpoints.pid):
        path.unlink(missing_ok=True)
        return None
    return endpoints
