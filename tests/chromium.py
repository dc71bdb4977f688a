"""The one headless Chromium of a test process: Debian's ``chromium`` under Playwright's sync API.

Playwright's sync API pumps its own asyncio loop, and that loop stays the running loop of
the process for as long as the Playwright instance lives. A second ``sync_playwright()`` in
the same process then fails ("using Playwright Sync API inside the asyncio loop"), and so
would ``asyncio.run`` in a later test on the same worker (none of the suite's tests uses
asyncio). So no test starts Playwright itself: the page tests (tests/browser) and the
sandbox e2e alike take the session fixture ``browser`` from tests/conftest.py, which
launches it at most once per process (per xdist worker) through :func:`chromium`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def chromium_path() -> str | None:
    """``$CHROMIUM``, else Debian's ``chromium`` (or ``chromium-browser``) on the PATH."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium under Playwright (skips, saying why, where either is missing)."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (Debian package `chromium`, listed in .ci/apt/browser.txt)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the test extra's playwright is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()
