"""Real event payloads, as AWS documents them, beside the builders that imitate them.

``events/*.json`` are written in our own files after AWS's documented samples (the Lambda
developer guide's DynamoDB Streams and SQS events, the S3 event message structure, API
Gateway's REST proxy input format), filled with this project's data: the stream carries
real product items, the queue S3 notifications for ``products/{id}.json`` (and the
``s3:TestEvent`` S3 sends when notifications are configured), the proxy event a
``GET /search`` through the regional custom domain.

:func:`shape` is what a builder must share with its sample: the same keys at every level
(and the same JSON type at every leaf), except inside the maps whose keys are data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"

DYNAMODB_STREAM = "dynamodb_stream.json"
SQS_S3_NOTIFICATION = "sqs_s3_notification.json"
APIGW_REST_PROXY = "apigw_rest_proxy.json"


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of the sample (a test may change it)."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def shape(value: Any, data_keyed: frozenset[str] = frozenset(), path: str = "") -> Any:
    """Keys and JSON types of ``value``; a map at a path in ``data_keyed`` counts as one 'map'."""
    if isinstance(value, dict):
        if path in data_keyed:
            return "map"
        return {k: shape(v, data_keyed, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0], data_keyed, f"{path}[]")] if value else []
    return "null" if value is None else type(value).__name__


def differences(built: Any, real: Any, path: str = "") -> list[str]:
    """Where two :func:`shape` results differ, as readable lines (empty when they agree)."""
    if isinstance(built, dict) and isinstance(real, dict):
        out = [f"{path}.{k}: missing from the builder's event" for k in real if k not in built]
        out += [f"{path}.{k}: not in AWS's event" for k in built if k not in real]
        for k in built.keys() & real.keys():
            out += differences(built[k], real[k], f"{path}.{k}")
        return out
    if isinstance(built, list) and isinstance(real, list) and built and real:
        return differences(built[0], real[0], f"{path}[]")
    return [] if built == real else [f"{path}: {built} where AWS has {real}"]
