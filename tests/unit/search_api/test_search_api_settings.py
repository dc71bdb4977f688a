"""Environment variables are validated at init, each error naming its variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from search_api.settings import Settings, SettingsError

BASE = {"AWS_REGION": "eu-west-1", "SEARCH_ENGINE": "embedded"}


def test_defaults():
    s = Settings.from_env(BASE)
    assert s.region == "eu-west-1"
    assert s.maintenance_parameter == "/storefront/eu-west-1/maintenance"
    assert (s.maintenance_cache_seconds, s.search_timeout_ms) == (5.0, 2000.0)
    assert s.cors_allow_origins == ("*",)


def test_cors_origins():
    s = Settings.from_env({**BASE, "CORS_ALLOW_ORIGIN": "https://shop.example.com, http://127.0.0.1:8080"})
    assert s.cors_allow_origins == ("https://shop.example.com", "http://127.0.0.1:8080")


def test_values():
    s = Settings.from_env({**BASE, "MAINTENANCE_PARAMETER": "/shop/eu-west-1/maintenance",
                           "MAINTENANCE_CACHE_SECONDS": "2", "SEARCH_TIMEOUT_MS": "150"})
    assert (s.maintenance_parameter, s.maintenance_cache_seconds, s.search_timeout_seconds) == \
        ("/shop/eu-west-1/maintenance", 2.0, 0.15)


@pytest.mark.parametrize(("variable", "value"), [
    ("AWS_REGION", ""), ("SEARCH_ENGINE", "elastic"), ("MAINTENANCE_PARAMETER", "no-slash"),
    ("MAINTENANCE_CACHE_SECONDS", "soon"), ("MAINTENANCE_CACHE_SECONDS", "-1"), ("SEARCH_TIMEOUT_MS", "0"),
    ("SEARCH_TIMEOUT_MS", "nan"), ("CORS_ALLOW_ORIGIN", "https://shop.example.com/"),
    ("CORS_ALLOW_ORIGIN", "shop.example.com"), ("CORS_ALLOW_ORIGIN", ","), ("CORS_ALLOW_ORIGIN", "*,https://a.b"),
])
def test_errors_name_the_variable(variable, value):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**BASE, variable: value})
    assert info.value.variable == variable and variable in str(info.value)


def test_handler_init_fails_naming_the_variable():
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "SEARCH_ENGINE")}
    env.update({"AWS_REGION": "us-east-1", "SEARCH_TIMEOUT_MS": "fast"})
    proc = subprocess.run([sys.executable, "-c", "import search_api.handler"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "SEARCH_TIMEOUT_MS" in proc.stderr.splitlines()[-1]
