"""Lambda entry point of the search API (API Gateway REST v1 proxy events).

Configuration comes only from environment variables (see :mod:`search_api.settings` and
:mod:`catalog.engine`), read and validated here at init: a mistake fails the init with
an error naming the variable. The routes are in :mod:`search_api.app`.
"""

from __future__ import annotations

import os
from typing import Any

from search_api.app import create_app, deps_from_env

deps = deps_from_env(os.environ)
app = create_app(deps)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
