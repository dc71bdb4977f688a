"""``GET /health``: engine reachable, alias present, maintenance switch off.

Deep but cheap: one engine health call and one cached SSM read. Any failing check
answers 503 with every check shown, so a drill or an outage is visible at a glance.
"""

from __future__ import annotations

from typing import Any

from catalog.engine.port import Health
from search_api.maintenance import MaintenanceState


def health_body(engine: Health | BaseException, maintenance: MaintenanceState,
                region: str) -> tuple[int, dict[str, Any]]:
    """``(status code, body)`` for the given engine health (or the error getting it)."""
    checks: dict[str, dict[str, Any]] = {}
    if isinstance(engine, BaseException):
        reason = f"{type(engine).__name__}: {engine}"[:300]
        checks["engine"] = {"ok": False, "error": reason}
        checks["alias"] = {"ok": False, "error": "engine not reachable"}
    else:
        checks["engine"] = {"ok": engine.reachable}
        checks["alias"] = {"ok": engine.alias_present}
        if engine.detail:
            checks["engine"]["detail"] = {str(k): str(v) for k, v in engine.detail.items()}
    checks["maintenance"] = maintenance.as_check()
    failing = [name for name, check in checks.items() if not check["ok"]]
    body: dict[str, Any] = {"status": "fail" if failing else "ok", "region": region, "checks": checks}
    if failing:
        body["failing"] = failing
    return (503 if failing else 200), body
