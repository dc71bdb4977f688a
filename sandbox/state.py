"""Where a sandbox keeps its state, the endpoints file it writes, and the checks ``up``/``down`` make.

``<sandbox.state_dir>/endpoints.json`` is written once the sandbox is serving and removed
when it stops; its record (:class:`~catalog.sandbox_endpoints.Endpoints`) and its reader
live in :mod:`catalog.sandbox_endpoints`, below both the sandbox and the operator tooling
that reads it; they are re-exported here for the sandbox's callers.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

from catalog.config import DeploymentConfig
from catalog.sandbox_endpoints import SANDBOX_DOMAIN as SANDBOX_DOMAIN
from catalog.sandbox_endpoints import Endpoints as Endpoints
from catalog.sandbox_endpoints import endpoints_path as endpoints_path
from catalog.sandbox_endpoints import pid_alive as pid_alive
from catalog.sandbox_endpoints import read_endpoints as read_endpoints
from catalog.sandbox_endpoints import state_dir as state_dir

LOG_FILE = "sandbox.log"


class SandboxError(Exception):
    """A condition the user can fix (port in use, nothing running, ...); one-line message."""


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
    (``aws_port`` overrides the first), health checks probed every 1 s, a state dir
    beside the file. ``head`` holds further sections (``[thresholds]``...) placed before ``[sandbox]``."""
    aws, glob, first = free_sandbox_ports()
    return (f'name_prefix = "{name_prefix}"\nregions = ["us-east-1", "eu-west-1"]\nrouting = "failover"\n'
            f"{head.strip()}\n[sandbox]\naws_port = {aws if aws_port is None else aws_port}\n"
            f"global_port = {glob}\nfirst_region_port = {first}\nreplication_lag_ms = {replication_lag_ms}\n"
            f"health_check_interval_seconds = 1\n"
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
