"""engine.bulk_max_bytes cannot exceed the HTTP payload limit of any region's OpenSearch
instance type (AWS "Network quotas": 10 MiB or 100 MiB by instance type)."""

from __future__ import annotations

import pytest

from catalog.config import MIB, ConfigError, http_payload_limit, parse_config

AWS = {"account": "123456789012", "domain_name": "search.example.com", "hosted_zone_id": "Z0123456789ABC",
       "hosted_zone_name": "example.com"}


def config(bulk_max_bytes: int, **types: str):
    data = {"regions": ["us-east-1", "eu-west-1"], "engine": {"bulk_max_bytes": bulk_max_bytes}}
    if types:
        data["aws"] = {**AWS, "opensearch": {r.replace("_", "-"): {"instance_type": t} for r, t in types.items()}}
    return parse_config(data)


@pytest.mark.parametrize(("instance_type", "mib"), [
    # rows of the AWS table
    ("t3.small.search", 10), ("t3.medium.search", 10), ("m5.large.search", 10), ("m5.xlarge.search", 100),
    ("c6g.large.search", 10), ("c6g.12xlarge.search", 100), ("r3.large.search", 10), ("r4.large.search", 100),
    ("r6g.large.search", 100), ("or1.medium.search", 10), ("or2.medium.search", 100), ("om2.large.search", 10),
    ("i3.large.search", 100), ("r7i.large.search", 100),
    # not in the table: the smaller limit
    ("r7g.large.search", 10), ("t3.large.search", 10), ("c7g.xlarge.search", 10),
])
def test_payload_limit_by_instance_type(instance_type, mib):
    assert http_payload_limit(instance_type) == mib * MIB


def test_bulk_bytes_above_a_regions_payload_limit_is_refused_naming_the_field():
    assert config(10 * MIB, us_east_1="t3.small.search").engine.bulk_max_bytes == 10 * MIB
    assert config(60 * MIB, us_east_1="r6g.large.search", eu_west_1="m5.xlarge.search").engine.bulk_max_bytes
    with pytest.raises(ConfigError) as err:
        config(10 * MIB + 1, us_east_1="r6g.large.search", eu_west_1="t3.small.search")
    assert err.value.field == "engine.bulk_max_bytes"
    assert "aws.opensearch.eu-west-1.instance_type 't3.small.search'" in str(err.value)
    with pytest.raises(ConfigError):
        config(20 * MIB, us_east_1="r6g.large.search")  # eu-west-1 keeps the default r7g.large: 10 MiB


def test_without_aws_the_sandbox_keeps_the_engine_bound():
    assert config(100 * MIB).engine.bulk_max_bytes == 100 * MIB
