from __future__ import annotations

import pytest
from moto import mock_aws

from replication.targets import Target
from tests.integration.replication.replication_harness import (
    Clients,
    FakeRoute53,
    create_resources,
    embedded_engine,
    make_config,
)


@pytest.fixture
def cfg(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def clients(cfg):
    with mock_aws():
        c = Clients()
        create_resources(cfg, c)
        yield c


@pytest.fixture
def route53(cfg, clients):
    fake = FakeRoute53(cfg, clients).start()
    yield fake
    fake.stop()


@pytest.fixture
def target(cfg, clients, route53, tmp_path):
    t = Target(kind="moto", config=cfg, client=clients,
               engine_factory=lambda region: embedded_engine(tmp_path / "index" / region, cfg.engine.index_alias),
               observer=route53, health=route53.health, poll_seconds=0.05)
    yield t
    t.close()
