"""The sandbox supervisor in a child process: ``python -m sandbox.supervisor [--config FILE]``.

``storefront sandbox up --detach`` starts it in its own session and leaves it running;
``storefront demo`` starts it in the demo's process group (so Ctrl-C reaches both) and
always stops it. Either way the caller is only a client: the supervisor hosts moto and the
emulators, and a catalog load from the same process would compete with them for one GIL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.config import DeploymentConfig
from sandbox.state import LOG_FILE, Endpoints, SandboxError, read_endpoints, state_dir
from sandbox.supervisor import STOP_TIMEOUT_SECONDS

START_TIMEOUT_SECONDS = 300.0
STOP_WAIT_SECONDS = STOP_TIMEOUT_SECONDS + 10.0  # the supervisor stops its regions within STOP_TIMEOUT_SECONDS
PROGRESS_PREFIX = "sandbox: "

Progress = Callable[[str], None]


@dataclass
class SupervisorChild:
    """A started supervisor: its endpoints, the seconds until they were written, its log."""

    proc: subprocess.Popen[bytes]
    cfg: DeploymentConfig
    endpoints: Endpoints
    started_seconds: float
    log_path: Path
    state: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> int | None:
        """SIGTERM, wait up to :data:`STOP_WAIT_SECONDS`, then SIGKILL; returns the exit code.
        Idempotent: a child already gone is only reaped."""
        _stop_process(self.proc)
        read_endpoints(self.cfg)  # a supervisor killed before it removed its endpoints file: drop the stale file
        return self.proc.returncode


def start_supervisor(cfg: DeploymentConfig, *, detach: bool, progress: Progress | None = None,
                     timeout: float = START_TIMEOUT_SECONDS) -> SupervisorChild:
    """Start the supervisor as a child and wait until its endpoints file names it.

    ``detach``: in its own session (it outlives the caller and the terminal's Ctrl-C);
    otherwise in the caller's process group, for a caller that stops it. ``progress(message)``
    gets the supervisor's ``sandbox: ...`` progress lines (the first synthesis of the app).
    Raises :class:`SandboxError` with the log's last line if the child exits, or after
    ``timeout`` seconds; whatever the failure (Ctrl-C included), no child is left running.
    """
    state = state_dir(cfg)
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / LOG_FILE
    cmd = [sys.executable, "-m", "sandbox.supervisor"]
    if cfg.source:
        cmd += ["--config", str(Path(cfg.source).resolve())]
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=detach, cwd=os.getcwd())
    try:
        endpoints = _wait_started(cfg, proc, log_path, started, timeout, progress)
    except BaseException:
        _stop_process(proc)
        read_endpoints(cfg)
        raise
    return SupervisorChild(proc, cfg, endpoints, time.monotonic() - started, log_path, state)


def _wait_started(cfg: DeploymentConfig, proc: subprocess.Popen[bytes], log_path: Path, started: float,
                  timeout: float, progress: Progress | None) -> Endpoints:
    shown = 0
    while True:
        shown = _relay_progress(log_path, shown, progress)
        endpoints = read_endpoints(cfg)
        if endpoints is not None and endpoints.pid == proc.pid:
            return endpoints
        if proc.poll() is not None:
            _relay_progress(log_path, shown, progress)
            lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
            last = lines[-1] if lines else f"exit code {proc.returncode}"
            last = last.removeprefix("storefront: error: ")
            where = "" if "(log: " in last else f" (log: {log_path})"
            raise SandboxError(f"the sandbox did not start: {last}{where}")
        if time.monotonic() - started > timeout:
            raise SandboxError(f"the sandbox did not start within {timeout:.0f} s (log: {log_path})")
        time.sleep(0.1)


def _relay_progress(log_path: Path, shown: int, progress: Progress | None) -> int:
    """Pass the log's new ``sandbox: ...`` lines after the first ``shown`` to ``progress``;
    returns how many complete lines the log has now (a line still being written waits)."""
    lines = log_path.read_text(errors="replace").split("\n")[:-1]
    if progress is not None:
        for line in lines[shown:]:
            if line.startswith(PROGRESS_PREFIX):
                progress(line.removeprefix(PROGRESS_PREFIX))
    return len(lines)


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()
