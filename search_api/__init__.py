"""The search API Lambda: anonymous, read-only product search for one region.

``search_api.handler.lambda_handler`` is the entry point (API Gateway REST v1 proxy
events): it reads the environment and serves :mod:`.app`'s routes on Powertools'
``APIGatewayRestResolver`` (``create_app(Deps(...))`` binds them to any engine). The
routes are thin; the logic lives in plain modules: :mod:`.params` (the parameter tables, validation into
``SearchRequest``), :mod:`.responses` (JSON, ETag, caching headers, error bodies),
:mod:`.shaping` (engine results -> response bodies), :mod:`.maintenance` (the SSM
switch), :mod:`.health`, :mod:`.backend` (the engine, created once, with a timeout),
:mod:`.settings` (environment) and :mod:`.openapi` (``/openapi.json`` and ``/docs``,
generated from the same parameter tables).
"""
