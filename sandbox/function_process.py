"""One Lambda function in its own interpreter, started from its bundled asset.

:class:`FunctionProcess` starts :mod:`sandbox.lambda_worker` as ``python -I -S -B`` with
nothing on the import path but the asset (:func:`infra.assets.build` for this host),
what the Lambda runtime provides and the named local additions (:func:`runtime_dir`),
under the function's environment alone. Calling it invokes the handler there: the
context carries the invoking side's remaining-time budget; a handler still running when
the budget is spent is killed and started again (a cold start), as Lambda does, and the
invocation fails with ``Task timed out``. A failed init raises :class:`FunctionInitError`
with the handler's own last line (``ModuleNotFoundError: No module named ...``,
``SettingsError: DLQ_URL ...``).

:func:`host_asset` builds (once, cached by the asset's hash) the asset of a handler.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

WORKER = Path(__file__).resolve().parent / "lambda_worker.py"
INIT_FAILED = "INIT-FAILED "
# What the sandbox adds to every function's path beyond the Lambda runtime: the embedded
# engine (OpenSearch cannot run here). Nothing else.
LOCAL_ADDITIONS = ("tantivy",)
INIT_TIMEOUT_SECONDS = 120.0


class FunctionInitError(RuntimeError):
    """The function could not start (its handler's import failed); the message is the handler's error."""


class FunctionError(RuntimeError):
    """The handler raised (or timed out); the message is ``<type>: <message>`` as Lambda reports it."""


def host_asset(handler: str, root: Path, progress: Any = None) -> Path:
    """The handler's asset built for this host under ``root/assets/<hash>`` (built once, then reused)."""
    from infra.assets import asset_for, asset_hash, build

    spec = asset_for(handler)
    out = root / "assets" / asset_hash(spec, "host")
    if (out / ".complete").is_file():
        return out
    if progress:
        progress(f"building {handler}'s asset for this host ...")
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    build(spec, tmp, "host")
    (tmp / ".complete").write_text(handler + "\n")
    try:
        os.replace(tmp, out)
    except OSError:  # built meanwhile by another sandbox
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return out


def runtime_dir(root: Path) -> Path:
    """The Lambda runtime's boto3/botocore/s3transfer plus :data:`LOCAL_ADDITIONS`, as one folder."""
    from infra.assets import runtime_provided

    return runtime_provided(root / "runtime", LOCAL_ADDITIONS)


class FunctionProcess:
    def __init__(self, handler: str, paths: Sequence[str | os.PathLike[str]], environment: Mapping[str, str],
                 log: IO[str] | None = None) -> None:
        self.handler = handler
        self.paths = [str(p) for p in paths]
        self.environment = dict(environment)
        self.log = log or sys.stderr
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._init_error = ""
        self.cold_starts = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FunctionProcess:
        self._init_error = ""
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(WORKER), *self.paths, self.handler],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**self.environment, "PYTHONUNBUFFERED": "1"}, cwd="/")
        relay = threading.Thread(target=self._relay, args=(self._proc.stderr,), daemon=True)
        relay.start()
        line = self._readline(INIT_TIMEOUT_SECONDS)
        if not line:
            self._proc.wait(timeout=10)
            relay.join(timeout=10)  # its stderr holds the INIT-FAILED line: read to the end before naming it
            raise FunctionInitError(self._init_error or f"{self.handler}: exited with code {self._proc.returncode}")
        self.cold_starts += 1
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _relay(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith(INIT_FAILED):
                self._init_error = line.removeprefix(INIT_FAILED).strip()
            try:
                self.log.write(line)
                self.log.flush()
            except ValueError:  # the log was closed: the process is going away
                return

    def _readline(self, timeout: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], max(0.0, timeout))
        return self._proc.stdout.readline() if ready else ""

    def _request(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        if self._proc is None or self._proc.poll() is not None:
            self.start()
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._readline(timeout)
        return json.loads(line) if line else None

    # ---------------------------------------------------------------- invocations
    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        remaining = context.get_remaining_time_in_millis()
        fields = {k: getattr(context, k) for k in ("function_name", "invoked_function_arn", "memory_limit_in_mb",
                                                   "aws_request_id", "log_group_name", "log_stream_name")}
        with self._lock:
            answer = self._request({"event": event, "context": {**fields, "remaining_ms": remaining}},
                                   remaining / 1000.0)
            if answer is None:  # out of time, or the runtime died: Lambda ends the environment
                code = self._proc.poll() if self._proc is not None else None
                if code is None and self._proc is not None:
                    self._proc.kill()  # a handler still running is ended with its environment, not awaited
                self.stop()
                if code is not None:
                    raise FunctionError(f"Runtime.ExitError: the runtime exited with code {code}")
                raise FunctionError(f"Task timed out after {remaining / 1000.0:.2f} seconds")
        if "error" in answer:
            raise FunctionError(f"{answer['error']['type']}: {answer['error']['message']}")
        return answer["result"]

    def outside(self) -> list[str]:
        """Files of modules the function imported from a site-packages outside its path."""
        with self._lock:
            answer = self._request({"outside": True}, 30.0)
        return list((answer or {}).get("result", ["<no answer>"]))
