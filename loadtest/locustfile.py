"""The shopper mix of ``storefront load`` (:mod:`loadgen.mix`) as a Locust file, for load
beyond one machine (Locust's distributed mode: one master, many workers).

    locust -f loadtest/locustfile.py --host https://search.example.com --headless \\
        --users 1000 --spawn-rate 100 --run-time 10m --master --expect-workers 20
    locust -f loadtest/locustfile.py --worker --master-host MASTER   # on each worker machine

Every user sends ``STOREFRONT_USER_RPS`` requests per second (default 5; Locust's
``constant_throughput``), so the target rate is users x that. Locust users are closed-loop:
a user whose request is slower than ``1 / STOREFRONT_USER_RPS`` falls below its rate, and
Locust's own percentiles are measured from the send; size the users so responses stay
well under that interval (``storefront load`` is the open-loop, coordinated-omission-free
measurement on one machine). Environment:

* ``STOREFRONT_MIX``: weights as ``--mix`` (default: the same default mix)
* ``STOREFRONT_SEED``: the seed (default 0); each user draws from its own stream
  (seed, worker index, user number), so a run is reproducible for a given layout

Each process samples the catalog through ``--host`` when the test starts. Requests are
named by kind (``text``, ``filter``, ``sort``, ``cursor``, ``suggest``, ``product``) in
Locust's statistics; an HTTP status of 400 or more is a failure, and each process logs the
regions that served it (``X-Served-Region``) when the test stops.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the repository's loadgen

from locust import FastHttpUser, constant_throughput, events, task
from locust.runners import MasterRunner

from loadgen.mix import CatalogSample, RequestMix, parse_mix, sample_catalog
from loadgen.runner import get_json_from

log = logging.getLogger("storefront")
WEIGHTS = parse_mix(os.environ.get("STOREFRONT_MIX"))
SEED = int(os.environ.get("STOREFRONT_SEED", "0"))
USER_RPS = float(os.environ.get("STOREFRONT_USER_RPS", "5"))
_state: dict[str, Any] = {"sample": None, "worker": 0}
_users = itertools.count()
regions: Counter[str] = Counter()


@events.test_start.add_listener
def _sample(environment: Any, **kwargs: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        return
    _state["sample"] = sample_catalog(get_json_from(environment.host))
    _state["worker"] = getattr(environment.runner, "worker_index", 0) or 0
    s: CatalogSample = _state["sample"]
    log.info("catalog sample: %d products, %d words, %d brands", len(s.ids), len(s.words), len(s.brands))


@events.test_stop.add_listener
def _regions(environment: Any, **kwargs: Any) -> None:
    if regions:
        log.info("served by: %s", ", ".join(f"{r} {n}" for r, n in regions.most_common()))


class Shopper(FastHttpUser):
    wait_time = constant_throughput(USER_RPS)

    def on_start(self) -> None:
        n = next(_users)
        self.mix = RequestMix(_state["sample"], WEIGHTS, seed=hash((SEED, _state["worker"], n)) & 0xFFFFFFFF)

    @task
    def shop(self) -> None:
        req = self.mix.next()
        with self.client.get(req.path, name=req.kind, catch_response=True) as resp:
            regions[resp.headers.get("X-Served-Region") or "none"] += 1
            if resp.status_code >= 400 or resp.status_code == 0:
                resp.failure(f"HTTP {resp.status_code}")
            else:
                resp.success()
