from __future__ import annotations

import pytest

from catalog.schema import OPENSEARCH_ANALYSIS
from tests.parity import lucene_ref


@pytest.fixture(scope="session")
def lucene(tmp_path_factory):
    """Real Lucene with the index body's analyzers (skips where no JDK or jars can be had)."""
    why = lucene_ref.missing()
    if why:
        pytest.skip(f"Lucene reference unavailable: {why}")
    return lucene_ref.Lucene(OPENSEARCH_ANALYSIS, tmp_path_factory.mktemp("lucene"))
