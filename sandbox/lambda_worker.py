"""A Lambda execution environment for one function: run as a script in an isolated interpreter.

``python -I -S -B lambda_worker.py ASSET RUNTIME [EXTRA ...] HANDLER`` puts only the
function's asset (built by :func:`infra.bundling.build`), what the Lambda runtime provides
(``RUNTIME``: boto3, botocore, s3transfer) and any ``EXTRA`` folders on the import path,
imports ``HANDLER`` ("module.attribute", as the template's Handler) under the process
environment (the function's), then serves invocations: one JSON request per line on
stdin, ``{"event": ..., "context": {"function_name", "invoked_function_arn",
"memory_limit_in_mb", "aws_request_id", "log_group_name", "log_stream_name",
"remaining_ms"}}``, one JSON answer per line on its original stdout, ``{"result": ...}``
or ``{"error": {"type", "message", "trace"}}``; what the handler prints goes to stderr.
A failed init prints ``INIT-FAILED <type>: <message>`` (stderr) and exits 1. A request
``{"outside": true}`` answers the files of modules imported from a ``site-packages``
outside the path above (nothing, when the asset is complete).

Standard library only: nothing of the project is importable here unless the asset holds it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class Context:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name = fields.get("function_name", "function")
        self.function_version = "$LATEST"
        self.invoked_function_arn = fields.get("invoked_function_arn", "")
        self.memory_limit_in_mb = int(fields.get("memory_limit_in_mb", 128))
        self.aws_request_id = fields.get("aws_request_id", "")
        self.log_group_name = fields.get("log_group_name", "")
        self.log_stream_name = fields.get("log_stream_name", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + float(fields.get("remaining_ms", 3000)) / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(argv: list[str]) -> int:
    *paths, handler = argv
    sys.path[:0] = paths
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the handler's prints and logs go to stderr
    sys.stdout = os.fdopen(1, "w", buffering=1)
    module_name, _, attr = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:
        traceback.print_exc()
        print(f"INIT-FAILED {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    answers.write(json.dumps({"ready": handler}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("outside"):
            files = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
            outside = sorted({f for f in files
                              if f and "site-packages" in f and not f.startswith(tuple(paths))})
            answers.write(json.dumps({"result": outside}) + "\n")
            continue
        try:
            answer = {"result": function(request["event"], Context(request.get("context", {})))}
        except Exception as exc:
            answer = {"error": {"type": type(exc).__name__, "message": str(exc), "trace": traceback.format_exc()}}
        answers.write(json.dumps(answer, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
