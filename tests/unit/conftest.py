"""Fixtures the unit tests of several packages share."""

from __future__ import annotations

import pytest

from catalog.engine.embedded import EmbeddedEngine


@pytest.fixture
def live_engine(tmp_path):
    """A real embedded engine with its first index behind the alias, closed afterwards."""
    e = EmbeddedEngine(tmp_path / "index")
    e.swap_alias(e.create_index())
    yield e
    e.close()
