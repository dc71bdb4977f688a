"""The search page's build (catalog.site) and the sandbox's global port serving it."""

from __future__ import annotations

import hashlib
import http.client
import re

import pytest

from catalog.site import CACHE_ASSET, CACHE_INDEX, SiteError, build_site, content_security_policy, security_headers


def test_assets_get_content_hashed_names_and_the_index_points_at_them():
    site = build_site("")
    assets = sorted(p for p in site if p.startswith("assets/"))
    assert [re.sub(r"\.[0-9a-f]{12}\.", ".", p) for p in assets] == ["assets/app.js", "assets/styles.css"]
    index = site["index.html"].body.decode()
    for path in assets:
        assert f'"{path}"' in index
        digest = path.split(".")[-2]
        assert hashlib.sha256(site[path].body).hexdigest().startswith(digest)
        assert site[path].cache_control == CACHE_ASSET
    assert site["index.html"].cache_control == CACHE_INDEX
    assert '"app.js"' not in index and "{{STOREFRONT_API}}" not in index


def test_the_api_base_is_rendered_escaped_and_without_trailing_slash():
    index = build_site("https://search.example.com/")
    assert '<meta name="storefront-api" content="https://search.example.com">' in index["index.html"].body.decode()
    assert '<meta name="storefront-api" content="">' in build_site("")["index.html"].body.decode()


@pytest.mark.parametrize("bad", ["search.example.com", "ftp://x.example", "https://x.example/?a=1", "https://"])
def test_a_bad_api_base_is_refused_naming_the_parameter(bad):
    with pytest.raises(SiteError, match="api_base"):
        build_site(bad)


def test_the_csp_allows_exactly_the_api_origin():
    csp = content_security_policy("https://search.example.com/v1")
    assert "connect-src https://search.example.com;" in csp
    assert "script-src 'self';" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    assert "connect-src 'self'" in content_security_policy("")
    assert security_headers("")["X-Content-Type-Options"] == "nosniff"


def test_the_global_port_serves_the_page_beside_the_api():
    from sandbox.router import GlobalRouter

    router = GlobalRouter("127.0.0.1", 0, {}, lambda: {"region": None}, lambda: []).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", router.server_address[1], timeout=10)
        conn.request("GET", "/")
        reply = conn.getresponse()
        body = reply.read().decode()
        assert reply.status == 200 and reply.getheader("Content-Type").startswith("text/html")
        assert reply.getheader("Content-Security-Policy") == content_security_policy("")
        asset = re.search(r'src="(assets/app\.[0-9a-f]{12}\.js)"', body).group(1)
        conn.request("GET", "/" + asset)
        reply = conn.getresponse()
        reply.read()
        assert reply.status == 200 and reply.getheader("Cache-Control") == CACHE_ASSET
        conn.request("GET", "/search?q=x")  # not a page path: routed to the API (no region here: 503)
        reply = conn.getresponse()
        assert reply.status == 503 and b"no_region" in reply.read()
        conn.close()
    finally:
        router.stop()
