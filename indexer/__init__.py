"""The indexer Lambda: keeps a region's search index in step with its table replica and bucket.

Entry point :func:`indexer.handler.lambda_handler`; the logic lives in plain modules:
:mod:`indexer.records` (event decoding and transformation into port operations),
:mod:`indexer.content` (S3 hints -> content operations), :mod:`indexer.chunking`,
:mod:`indexer.retry`, :mod:`indexer.dlq`, :mod:`indexer.batch` (one batch, end to end),
:mod:`indexer.runtime` (settings, engine and clients kept per container) and
:mod:`indexer.telemetry` (logs, metrics, traces).
"""
