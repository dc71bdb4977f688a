"""The search page in headless Chromium (Debian's ``chromium``, driven by Playwright).

The page is served by the sandbox's global router (:class:`sandbox.router.GlobalRouter`)
in front of one region: the API Gateway emulation (:mod:`sandbox.apigw`) invoking the
real search API (:func:`search_api.app.create_app`) over the embedded engine loaded with
the generated catalog, all on 127.0.0.1. The region's engine can be switched "down" so
that the real API answers 503 with ``Retry-After``. The browser is the session fixture
``browser`` (tests/conftest.py), shared with the sandbox e2e: one Playwright per process.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from catalog.engine.port import EngineUnavailable

REGION = "eu-west-1"
FAILOVER = "us-east-1"  # a second region over the same index: what Route 53 fails over to
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or Path(__file__).resolve().parents[2] / "build" / "browser")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


class SwitchableEngine:
    """The real engine, or EngineUnavailable on every call while ``down``."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.down = False

    def __getattr__(self, name):
        attr = getattr(self.engine, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if self.down:
                raise EngineUnavailable("the test switched the engine off")
            return attr(*args, **kwargs)
        return call


@pytest.fixture(scope="session")
def site_stack(tmp_path_factory, catalog_1k):
    """``base`` (the global port serving the page), ``engine`` (switchable)."""
    from catalog.engine.embedded import EmbeddedEngine
    from catalog.engine.port import UpsertContent, UpsertItem
    from sandbox.apigw import ApiGatewayServer
    from sandbox.router import GlobalRouter
    from search_api.app import Deps, create_app
    from search_api.backend import Backend
    from search_api.maintenance import MaintenanceSwitch
    from search_api.settings import Settings

    real = EmbeddedEngine(tmp_path_factory.mktemp("page-index"), alias="products")
    target = real.create_index()
    results = real.apply([UpsertItem(g.product) for g in catalog_1k] + [UpsertContent(g.content) for g in catalog_1k],
                         index=target)
    assert all(r.ok for r in results)
    real.swap_alias(target)
    engine = SwitchableEngine(real)
    servers = {}
    for name in (REGION, FAILOVER):
        parameter = f"/storefront/{name}/maintenance"
        switch = MaintenanceSwitch(parameter, name, 0.0, client_factory=lambda region: None)
        app = create_app(Deps(Settings(name, parameter), Backend.of(engine, 5.0, isolate=False), switch))
        servers[name] = ApiGatewayServer("127.0.0.1", 0, lambda event, app=app: app.resolve(event, SimpleNamespace(
            aws_request_id="browser-test"))).start()
    answer = {"name": "search.example.com", "routing": "failover", "region": REGION}
    router = GlobalRouter("127.0.0.1", 0, {r: f"http://127.0.0.1:{s.server_address[1]}" for r, s in servers.items()},
                          lambda: dict(answer), lambda: []).start()
    try:
        yield SimpleNamespace(base=f"http://127.0.0.1:{router.server_address[1]}", engine=engine, answer=answer)
    finally:
        router.stop()
        for server in servers.values():
            server.stop()
        real.close()


# Typing latency, measured in the page: from the last keystroke to the first time the
# results count shows the final answer's text.
LATENCY_PROBE = """() => {
  window.__typed = []; window.__shown = [];
  const count = document.getElementById('count');
  document.getElementById('q').addEventListener('input', () => window.__typed.push(performance.now()));
  new MutationObserver(() => window.__shown.push([performance.now(), count.textContent]))
    .observe(count, {childList: true, characterData: true, subtree: true});
}"""
LATENCY = """(text) => {
  const last = window.__typed.at(-1);
  return window.__shown.find(([t, shown]) => t > last && shown === text)[0] - last;
}"""


def count_text(total: int) -> str:
    """The page's results count for ``total`` hits (as app.js writes it, locale en-US)."""
    return f"{total:,} result{'' if total == 1 else 's'}"


@pytest.fixture
def page(browser, site_stack):
    """A fresh browser context per test (no shared cache or history); CSP violations collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda msg: page.csp_violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    site_stack.engine.down = False
    site_stack.answer["region"] = REGION
    try:
        yield page
        assert page.csp_violations == [], "the page broke its own content security policy"
    finally:
        site_stack.engine.down = False
        site_stack.answer["region"] = REGION
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
