"""Versioning rule, text normalisation, generator determinism, schema derivation, CLI."""

import pytest

from catalog import schema
from catalog.generator import categories, generate
from catalog.text import fold, normalize
from catalog.versioning import VersionClock, content_is_newer, item_is_newer, version_for_time
from storefront_cli.main import main


def test_tombstone_wins_at_equal_version_and_newer_write_revives():
    assert item_is_newer(5, True, 5, False)  # delete of version 5 beats the write of 5
    assert not item_is_newer(5, False, 5, True)  # replayed INSERT of 5 cannot resurrect
    assert item_is_newer(6, False, 5, True)  # a newer write brings it back
    assert not item_is_newer(4, True, 5, False)  # an old delete is stale
    assert not item_is_newer(5, False, 5, False)  # replay is stale
    assert item_is_newer(1, False, None, False)
    assert content_is_newer(2, 1) and not content_is_newer(1, 1) and content_is_newer(1, None)


def test_version_clock_is_strictly_increasing_even_when_time_stands_still():
    clock = VersionClock(now_ms=lambda: 1000)
    values = [clock.next() for _ in range(5)]
    assert values == [1_000_000, 1_000_001, 1_000_002, 1_000_003, 1_000_004]
    assert version_for_time(1000) > values[-1]


def test_normalize_and_fold():
    assert normalize("  Hello\u0000\tWORLD  ") == "hello world"
    assert fold("Crème Brûlée") == "creme brulee"


def test_generator_is_deterministic_and_realistic():
    a = [g.product for g in generate(300, seed=7)]
    b = [g.product for g in generate(300, seed=7)]
    c = [g.product for g in generate(300, seed=8)]
    assert a == b and a != c
    assert len({p.id for p in a}) == 300
    assert {p.category for p in a} <= set(categories())
    assert len({p.brand for p in a}) > 20
    assert all(0 < p.price < 10_000 for p in a)
    assert all(p.rating is None or 1 <= p.rating <= 5 for p in a)
    versions = [p.version for p in a]
    assert versions == sorted(versions)


def test_opensearch_body_is_derived_from_the_field_list():
    body = schema.opensearch_index_body(shards=2, replicas=0)
    props = body["mappings"]["properties"]
    assert body["mappings"]["dynamic"] == "strict"
    assert body["settings"]["index"]["number_of_shards"] == 2
    for f in schema.FIELDS:
        assert f.name in props
    assert "exact" in props["title"]["fields"] and "prefix" in props["title"]["fields"]
    assert props["brand"]["fields"]["key"]["normalizer"] == "folded"
    assert "category_path" in props
    assert props["image_url"]["index"] is False


def test_cli_help_and_config_check(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "storefront" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('regions = ["us-east-1"]\n')
    assert main(["--config", str(bad), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert "regions" in err and "two or more" in err and "Traceback" not in err
