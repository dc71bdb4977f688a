"""What the Lambda's init imports: nothing local-only, and no boto3 before the first /health."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, sys
import search_api.handler
print(json.dumps(sorted(m for m in ("boto3", "botocore", "tantivy", "moto", "aws_cdk", "sandbox", "hashlib",
                                    "search_api.openapi", "concurrent.futures") if m in sys.modules)))
"""


def test_init_imports_only_what_it_needs():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENSEARCH_", "EMBEDDED_"))}
    env.update({"AWS_REGION": "eu-west-1", "SEARCH_ENGINE": "opensearch", "OPENSEARCH_AUTH": "none",
                "OPENSEARCH_ENDPOINT": "http://127.0.0.1:9"})
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not {"boto3", "tantivy", "moto", "aws_cdk", "sandbox", "search_api.openapi"} & set(loaded), loaded
