"""The OpenSearch client gives up within the search API's own budget (``SEARCH_TIMEOUT_MS``).

Before: the client waited 5 s per attempt and retried twice while the API answered 503
at 2 s, so abandoned requests kept pool connections and worker threads busy.
"""

from __future__ import annotations

import pytest

from catalog.engine import EngineUnavailable
from catalog.engine.opensearch import settings_from_env
from search_api.app import deps_from_env
from search_api.settings import engine_client_env
from tests.unit.engine_opensearch.conftest import stub_client

ENV = {"AWS_REGION": "eu-west-1", "SEARCH_ENGINE": "opensearch", "OPENSEARCH_ENDPOINT": "https://budget.test",
       "OPENSEARCH_AUTH": "none", "INDEX_ALIAS": "products"}


@pytest.mark.parametrize("budget_ms", [10, 150, 1000, 2000, 5000, 28_000])
def test_every_attempt_of_the_client_fits_in_the_budget(budget_ms):
    client = settings_from_env({**ENV, **engine_client_env(budget_ms)})
    assert client.max_retries == 1
    assert (client.max_retries + 1) * client.timeout * 1000 < budget_ms


def test_deployed_default_is_two_attempts_of_0_9_seconds():
    assert engine_client_env(2000) == {"OPENSEARCH_TIMEOUT": "0.9", "OPENSEARCH_MAX_RETRIES": "1"}


def test_the_search_api_engine_stops_after_two_attempts_each_within_its_share():
    deps = deps_from_env({**ENV, "SEARCH_TIMEOUT_MS": "2000", "OPENSEARCH_TIMEOUT": "5"})
    engine = deps.backend.engine()
    http = stub_client(engine.client)
    busy = (503, {"error": {"type": "unavailable", "reason": "busy"}, "status": 503})
    http.answer(busy, busy, busy)
    with pytest.raises(EngineUnavailable, match="503"):
        engine.count()
    assert len(http.sent) == 2  # one retry, not two
    assert all(sent.timeout == 0.9 for sent in http.sent)  # not the 5 s the environment asked for
