"""The embedded engine loaded with the generated catalog, once per test session (per worker)."""

from __future__ import annotations

import pytest

from catalog.engine.port import UpsertContent, UpsertItem
from search_api.app import Deps, create_app
from search_api.backend import Backend
from search_api.maintenance import MaintenanceSwitch
from search_api.settings import Settings

CATALOG_SIZE = 2000
REGION = "eu-west-1"
MAINTENANCE = f"/storefront/{REGION}/maintenance"


def load(engine, products, contents=()) -> None:
    """Index ``products`` (and ``contents``) into a new physical index, then point the alias at it."""
    target = engine.create_index()
    results = engine.apply([UpsertItem(p) for p in products] + [UpsertContent(c) for c in contents], index=target)
    assert all(r.ok for r in results)
    engine.swap_alias(target)


@pytest.fixture(scope="session")
def generated_catalog():
    from catalog.generator import generate

    return list(generate(CATALOG_SIZE, seed=42))


@pytest.fixture(scope="session")
def catalog_engine(tmp_path_factory, generated_catalog):
    from catalog.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine(tmp_path_factory.mktemp("search-api-index"), alias="products")
    load(engine, [g.product for g in generated_catalog], [g.content for g in generated_catalog])
    yield engine
    engine.close()


def make_api(engine, *, client_factory=None, timeout: float = 2.0):
    """The resolver's ``resolve`` over ``engine``; SSM through ``client_factory`` (default: boto3)."""
    settings = Settings(REGION, MAINTENANCE, maintenance_cache_seconds=0.0)
    kwargs = {"client_factory": client_factory} if client_factory else {}
    switch = MaintenanceSwitch(MAINTENANCE, REGION, 0.0, **kwargs)
    # inline, as deps_from_env runs the embedded engine
    return create_app(Deps(settings, Backend.of(engine, timeout, isolate=False), switch)).resolve


def _no_ssm(region):
    raise ConnectionError("SSM is not reachable from this test")  # reported by /health, never fatal


@pytest.fixture(scope="session")
def api(catalog_engine):
    """The API over the generated catalog; SSM unreachable (health tests use moto)."""
    return make_api(catalog_engine, client_factory=_no_ssm)
