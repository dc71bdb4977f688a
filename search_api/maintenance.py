"""The maintenance switch: an SSM parameter per region whose value ``on`` takes the
region out of ``/health`` (drills use it). Read at most once per cache period.

The boto3 client is created on the first read (the first ``/health``), never at import:
the search path does not pay for it. A failure to read is reported and does not by
itself fail the check: the last value read is kept (so a drill is not undone by an SSM
hiccup), or "off" if nothing was ever read. A missing parameter means "off".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ON = "on"


@dataclass(frozen=True)
class MaintenanceState:
    on: bool
    value: str | None  # the parameter's value as read (None: missing or never read)
    error: str | None = None  # the last read failed: why
    stale: bool = False  # ``on``/``value`` come from an earlier read
    checked_at: float = 0.0  # monotonic seconds of the read behind this state

    def as_check(self) -> dict[str, Any]:
        check: dict[str, Any] = {"ok": not self.on, "value": ON if self.on else "off"}
        if self.error:
            check["error"] = self.error
            check["stale"] = self.stale
        return check


def _ssm_client(region: str) -> Any:
    import boto3
    from botocore.config import Config

    # One short try: Route 53 fails a probe that gets no answer within 2 s, and a slow SSM must
    # not take the region out (a failed read is reported instead). AWS_ENDPOINT_URL is honoured.
    return boto3.client("ssm", region_name=region, config=Config(
        connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1, "mode": "standard"}))


class MaintenanceSwitch:
    def __init__(self, parameter: str, region: str, cache_seconds: float = 5.0, *,
                 client_factory: Callable[[str], Any] = _ssm_client,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.parameter = parameter
        self.region = region
        self.cache_seconds = cache_seconds
        self._client_factory = client_factory
        self._client: Any = None
        self._clock = clock
        self._lock = threading.Lock()
        self._state: MaintenanceState | None = None
        self._last_good: MaintenanceState | None = None

    def read(self) -> MaintenanceState:
        """The switch, from the cache if it is fresh enough."""
        with self._lock:
            now = self._clock()
            if self._state is not None and now - self._state.checked_at < self.cache_seconds:
                return self._state
            self._state = self._fetch(now)
            return self._state

    def _fetch(self, now: float) -> MaintenanceState:
        try:
            if self._client is None:
                self._client = self._client_factory(self.region)
            response = self._client.get_parameter(Name=self.parameter)
            value = str(response["Parameter"]["Value"])
        except Exception as exc:  # any failure: report it, keep the last known value
            if type(exc).__name__ == "ParameterNotFound":
                state = MaintenanceState(on=False, value=None, checked_at=now)
                self._last_good = state
                return state
            reason = f"{type(exc).__name__}: {exc}"[:300]
            last = self._last_good
            return MaintenanceState(on=last.on if last else False, value=last.value if last else None,
                                    error=reason, stale=last is not None, checked_at=now)
        state = MaintenanceState(on=value.strip().lower() == ON, value=value, checked_at=now)
        self._last_good = state
        return state
