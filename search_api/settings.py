"""The search Lambda's settings, read from environment variables and validated at init.

=============================  ====================================================
``AWS_REGION``                 the region served (``X-Served-Region``, ``region``)
``MAINTENANCE_PARAMETER``      SSM parameter; value ``on`` takes the region out of
                               ``/health`` (default ``/storefront/{region}/maintenance``)
``MAINTENANCE_CACHE_SECONDS``  how long a read of it is reused (default 5)
``SEARCH_TIMEOUT_MS``          an engine call slower than this answers 503 (default 2000);
                               the OpenSearch client's timeout and retries are derived
                               from it (:func:`engine_client_env`)
``CORS_ALLOW_ORIGIN``          the origins whose pages may read answers: ``*`` (default)
                               or comma-separated ``https://host[:port]`` origins (the
                               search page's site; see :mod:`catalog.site`)
``SEARCH_ENGINE`` and the other engine variables: see :mod:`catalog.engine`.
=============================  ====================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from catalog.engine import ENGINES

_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?")


class SettingsError(ValueError):
    """An environment variable is missing or wrong; the message names it."""

    def __init__(self, variable: str, message: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {message}")


@dataclass(frozen=True)
class Settings:
    region: str
    maintenance_parameter: str
    maintenance_cache_seconds: float = 5.0
    search_timeout_ms: float = 2000.0
    cors_allow_origins: tuple[str, ...] = ("*",)

    @property
    def search_timeout_seconds(self) -> float:
        return self.search_timeout_ms / 1000.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        region = env.get("AWS_REGION", "").strip()
        if not region:
            raise SettingsError("AWS_REGION", "is required (the region this function serves)")
        engine = env.get("SEARCH_ENGINE", "opensearch")
        if engine not in ENGINES:
            raise SettingsError("SEARCH_ENGINE", f"must be one of {', '.join(ENGINES)}, got {engine!r}")
        parameter = env.get("MAINTENANCE_PARAMETER", f"/storefront/{region}/maintenance").strip()
        if not parameter.startswith("/"):
            raise SettingsError("MAINTENANCE_PARAMETER", f"must be an SSM parameter path starting with '/', "
                                                         f"got {parameter!r}")
        return cls(
            region=region,
            maintenance_parameter=parameter,
            maintenance_cache_seconds=_number(env, "MAINTENANCE_CACHE_SECONDS", cls.maintenance_cache_seconds, 0.0,
                                              3600.0),
            search_timeout_ms=_number(env, "SEARCH_TIMEOUT_MS", cls.search_timeout_ms, 1.0, 60_000.0),
            cors_allow_origins=_origins(env.get("CORS_ALLOW_ORIGIN", "*")),
        )


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    if origins == ("*",):
        return origins
    bad = [o for o in origins if not _ORIGIN.fullmatch(o)]
    if not origins or bad:
        raise SettingsError("CORS_ALLOW_ORIGIN", "must be * or comma-separated origins like "
                                                 f"https://shop.example.com (no path), got {raw!r}")
    return origins


# one retry of a connection error or 502/503/504; every attempt fits in the API's budget
ENGINE_ATTEMPTS = 2
# of the budget, what the attempts may use (the rest: signing, parsing, the thread hand-off)
ENGINE_BUDGET_SHARE = 0.9


def engine_client_env(search_timeout_ms: float) -> dict[str, str]:
    """``OPENSEARCH_TIMEOUT`` (seconds, per attempt) and ``OPENSEARCH_MAX_RETRIES`` for the API's budget.

    The client gives up before the API does: ``ENGINE_ATTEMPTS`` attempts of at most
    ``ENGINE_BUDGET_SHARE * search_timeout_ms / ENGINE_ATTEMPTS`` each (2000 ms: two
    attempts of 0.9 s), so no request is still running, holding a pool connection and a
    worker thread, after the API has answered 503.
    """
    per_attempt_s = max(0.001, search_timeout_ms * ENGINE_BUDGET_SHARE / ENGINE_ATTEMPTS / 1000.0)
    return {"OPENSEARCH_TIMEOUT": f"{per_attempt_s:g}", "OPENSEARCH_MAX_RETRIES": str(ENGINE_ATTEMPTS - 1)}


def _number(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"must be a number, got {raw!r}") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise SettingsError(name, f"must be between {lo:g} and {hi:g}, got {raw!r}")
    return value
