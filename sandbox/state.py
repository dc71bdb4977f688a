"""Where a sandbox keeps its state, the endpoints file, and the checks ``up``/``down`` make.

``<sandbox.state_dir>/endpoints.json`` is written once the sandbox is serving and removed
when it stops; it is the contract other tools (the CLI, the drills, the tests) read::

    {"aws": "http://127.0.0.1:5055", "global": "http://127.0.0.1:8080",
     "regions": {"us-east-1": "http://127.0.0.1:8081", ...},
     "index_dirs": {"us-east-1": "<abs path>", ...}, "domain": "<record name>", "pid": <supervisor pid>}

A relative ``state_dir`` is taken relative to the configuration file's folder.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.config import DeploymentConfig

ENDPOINTS_FILE = "endpoints.json"
LOG_FILE = "sandbox.log"
SANDBOX_DOMAIN = "search.sandbox.localhost"


class SandboxError(Exception):
    """A condition the user can fix (port in use, nothing running, ...); one-line message."""


@dataclass(frozen=True)
class Endpoints:
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


def planned_endpoints(cfg: DeploymentConfig, pid: int) -> Endpoints:
    sb = cfg.sandbox
    host = "127.0.0.1" if sb.host == "localhost" else sb.host
    base = f"http://[{host}]" if ":" in host else f"http://{host}"
    index_root = state_dir(cfg) / "index"
    return Endpoints(
        aws=f"{base}:{sb.aws_port}",
        global_url=f"{base}:{sb.global_port}",
        regions={r: f"{base}:{sb.region_port(cfg.regions, r)}" for r in cfg.regions},
        index_dirs={r: str(index_root / r) for r in cfg.regions},
        domain=SANDBOX_DOMAIN,
        pid=pid,
    )


def write_endpoints(cfg: DeploymentConfig, endpoints: Endpoints) -> Path:
    path = endpoints_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(endpoints.to_json(), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def pid_alive(pid: int) -> bool:
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


def require_running(cfg: DeploymentConfig) -> Endpoints:
    endpoints = read_endpoints(cfg)
    if endpoints is None:
        raise SandboxError("no sandbox is running; start one with `storefront sandbox up --detach`")
    return endpoints


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port_block(n: int, host: str = "127.0.0.1", lo: int = 20000, hi: int = 32000) -> int:
    """The first of ``n`` consecutive free ports, below the kernel's ephemeral range
    (32768+ on Linux), so that no outgoing connection takes one before the sandbox binds it."""
    import random

    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(lo, hi - n)
        if all(port_free(host, p) for p in range(base, base + n)):
            return base
    raise SandboxError(f"no {n} consecutive free ports between {lo} and {hi}")


def free_sandbox_ports(regions: int = 2) -> tuple[int, int, int]:
    """``(aws_port, global_port, first_region_port)`` for a private sandbox of ``regions``
    regions: one free block, laid out as ``[sandbox]`` expects."""
    base = free_port_block(2 + regions)
    return base, base + 1, base + 2


def private_sandbox_toml(name_prefix: str, *, head: str = "", replication_lag_ms: int = 100,
                         aws_port: int | None = None, state_dir: str = "state") -> str:
    """A ``storefront.toml`` for a private two-region sandbox (tests, benchmarks): free ports
    (``aws_port`` overrides the first), health checks every 1 s with threshold 3, a state dir
    beside the file. ``head`` holds further sections (``[thresholds]``...) placed before ``[sandbox]``."""
    aws, glob, first = free_sandbox_ports()
    return (f'name_prefix = "{name_prefix}"\nregions = ["us-east-1", "eu-west-1"]\nrouting = "failover"\n'
            f"{head.strip()}\n[sandbox]\naws_port = {aws if aws_port is None else aws_port}\n"
            f"global_port = {glob}\nfirst_region_port = {first}\nreplication_lag_ms = {replication_lag_ms}\n"
            f"health_check_interval_seconds = 1\nhealth_check_failure_threshold = 3\n"
            f'state_dir = "{state_dir}"\n')


def check_ports(cfg: DeploymentConfig) -> None:
    """Raise :class:`SandboxError` naming the first configured port that is taken."""
    sb = cfg.sandbox
    wanted = [("sandbox.aws_port", sb.aws_port), ("sandbox.global_port", sb.global_port)]
    wanted += [(f"sandbox.first_region_port (+{i}, {r})", sb.region_port(cfg.regions, r))
               for i, r in enumerate(cfg.regions)]
    for setting, port in wanted:
        if not port_free(sb.host, port):
            raise SandboxError(f"port {port} on {sb.host} is in use ({setting}); stop what uses it "
                               f"or choose another port in {cfg.source or 'storefront.toml'}")
