"""The README documents every setting with the default the schema declares (written once, there).

The README's three configuration tables (the top-level one, ``[alarms]`` and ``[aws]``)
are read as a user reads them; a documented default in backticks must be the schema's,
and every field declared with ``setting()`` must have a row.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from catalog.config import schema

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()

# the table after each of these lines documents the keys of that section (bare keys: in the section)
TABLES = {
    "One file, [`storefront.toml`](storefront.toml)": "",
    "`[alarms]` (defaults in": "alarms.",
    "**The `[aws]` part of the configuration**": "aws.",
}
SECTIONS: dict[str, type] = {
    "": schema.DeploymentConfig,
    "health_check.": schema.HealthCheckConfig,
    "engine.": schema.EngineConfig,
    "thresholds.": schema.Thresholds,
    "alarms.": schema.AlarmThresholds,
    "sandbox.": schema.SandboxConfig,
    "aws.opensearch.R.": schema.OpenSearchSizing,
    "aws.": schema.AwsConfig,
}
# defaults that are not a field's: the parser's own, or derived
OTHER_DEFAULTS = {
    "name_prefix": schema.DEFAULT_NAME_PREFIX,
    "aws.certificates.R": schema.DEFAULT_CERTIFICATE,
    "aws.opensearch.R.profile": schema.DEFAULT_OPENSEARCH_PROFILE,
}


def documented() -> dict[str, str | None]:
    """Dotted key -> the default the README gives in backticks (None: given in words)."""
    rows: dict[str, str | None] = {}
    for intro, prefix in TABLES.items():
        start = README.index(intro)
        lines = README[start:].splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("| key | default |"))
        for line in lines[first + 2:]:
            if not line.startswith("|"):
                break
            key_cell, default_cell = line.split("|")[1:3]
            keys = re.findall(r"`([^`]+)`", key_cell)
            if not keys or "..." in key_cell:
                continue
            parts = [p.strip() for p in default_cell.split(",")] if len(keys) > 1 else [default_cell.strip()]
            if len(parts) == 1:
                parts *= len(keys)  # one default for all, e.g. (required)
            assert len(parts) == len(keys), f"README row {line!r}: one default per key"
            # a bare key after a dotted one belongs to its section: `opensearch.R.instance_type`, `instance_count`
            section = ""
            for key, part in zip(keys, parts, strict=True):
                if "." in key:
                    section = key.rpartition(".")[0] + "."
                elif section and prefix == "aws.":
                    key = section + key
                m = re.fullmatch(r"`\"?([^`\"]*)\"?`", part)
                rows[prefix + key] = m.group(1) if m else None
    return rows


def declared() -> dict[str, object]:
    """Dotted key -> the schema's default, for every field parsing reads by its declaration."""
    out: dict[str, object] = dict(OTHER_DEFAULTS)
    for prefix, cls in SECTIONS.items():
        for f in fields(cls):
            if schema.SETTING in f.metadata:
                out[prefix + f.name] = f.default
            elif prefix == "aws.opensearch.R." and f.default is not MISSING and f.name != "profile":
                out[prefix + f.name] = None  # the profile's
    return out


def _same(doc: str, value: object) -> bool:
    if isinstance(value, bool):
        return doc == str(value).lower()
    if isinstance(value, float):
        return float(doc) == value
    return doc == str(value)


def test_the_readme_tables_are_found():
    assert len(documented()) > 60


@pytest.mark.parametrize("key", sorted(declared()))
def test_every_setting_is_documented_with_the_schema_default(key):
    docs = documented()
    assert key in docs, f"README has no row for {key}"
    default = declared()[key]
    if docs[key] is not None and default is not None:
        assert _same(docs[key], default), f"README says {key} defaults to {docs[key]!r}; the schema says {default!r}"
