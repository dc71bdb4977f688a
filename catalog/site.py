"""The storefront search page (``web/``) as it ships: one build for the sandbox and for S3.

:func:`build_site` turns ``web/index.html``, ``web/app.js`` and ``web/styles.css`` into
the files to serve: the script and the style sheet under content-hashed names in
``assets/`` (cacheable for a year, immutable), and ``index.html`` pointing at them with the
search API's base URL rendered in (a ``<meta name="storefront-api">``; empty means the
page's own origin, as in the sandbox). The API base is configuration, not code.

:func:`security_headers` is the one definition of the page's response headers, including
the content security policy that allows scripts and styles from the page's origin only and
connections to exactly the API's origin: the sandbox's router sends them, and the CDK
site stack puts them in CloudFront's response headers policy.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
API_PLACEHOLDER = "{{STOREFRONT_API}}"
ASSETS = ("app.js", "styles.css")
ASSET_PREFIX = "assets/"
CACHE_ASSET = "public, max-age=31536000, immutable"
CACHE_INDEX = "no-cache"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8"}


class SiteError(ValueError):
    """The page cannot be built: names the parameter or the file."""


@dataclass(frozen=True)
class SiteFile:
    """One file to serve: its bytes and the headers it is stored with."""

    body: bytes
    content_type: str
    cache_control: str


def api_origin(api_base: str) -> str:
    """``https://host[:port]`` of an absolute API base; ``""`` for the page's own origin."""
    if api_base == "":
        return ""
    parts = urlsplit(api_base)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise SiteError(f"api_base: must be '' (same origin) or an absolute http(s) URL without query, "
                        f"got {api_base!r}")
    return f"{parts.scheme}://{parts.netloc}"


def build_site(api_base: str, web_dir: Path = WEB_DIR) -> dict[str, SiteFile]:
    """Path (no leading slash) -> file: ``index.html`` and ``assets/<name>.<hash>.<ext>``."""
    api_origin(api_base)  # validates it
    index = (web_dir / "index.html").read_text(encoding="utf-8")
    if API_PLACEHOLDER not in index:
        raise SiteError(f"{web_dir / 'index.html'}: no {API_PLACEHOLDER} placeholder for the API base")
    files: dict[str, SiteFile] = {}
    for name in ASSETS:
        body = (web_dir / name).read_bytes()
        stem, ext = name.rsplit(".", 1)
        hashed = f"{ASSET_PREFIX}{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{ext}"
        reference = f'"{name}"'
        if reference not in index:
            raise SiteError(f"{web_dir / 'index.html'}: does not reference {name}")
        index = index.replace(reference, f'"{hashed}"')
        files[hashed] = SiteFile(body, CONTENT_TYPES["." + ext], CACHE_ASSET)
    index = index.replace(API_PLACEHOLDER, html.escape(api_base.rstrip("/"), quote=True))
    files["index.html"] = SiteFile(index.encode("utf-8"), CONTENT_TYPES[".html"], CACHE_INDEX)
    return files


def content_security_policy(api_base: str) -> str:
    """Scripts, styles and fonts from the page's origin; fetches to exactly the API's origin."""
    connect = api_origin(api_base) or "'self'"
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",  # product images live on the catalog's image hosts
        f"connect-src {connect}",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def security_headers(api_base: str) -> dict[str, str]:
    """The headers every page response carries (CloudFront adds HSTS itself on HTTPS)."""
    return {
        "Content-Security-Policy": content_security_policy(api_base),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }
