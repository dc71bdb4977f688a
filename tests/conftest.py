"""Session-wide test settings: no real AWS, no network, and a shared generated catalog."""

from __future__ import annotations

import os

import pytest

# Never reach real AWS from a test, whatever the developer's shell has.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # moto 5.2 with botocore 1.44: Streams calls 404 under mock_aws without this.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_METRICS_NAMESPACE": "StorefrontTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_VALIDATION": "false",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture(scope="session")
def catalog_1k():
    """The first 1,000 generated products (with content), seed 42."""
    from catalog.generator import generate

    return list(generate(1000, seed=42))


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, launched at most once per test process and shared by every test that
    drives a browser (see tests/chromium.py for why there must be only one); skips, saying why,
    where Chromium or Playwright is missing."""
    from tests.chromium import chromium

    with chromium() as launched:
        yield launched
