"""Defaults shared across the deploy-time configuration and the Lambda side that reads it.

The configuration schema (:mod:`catalog.config.schema`) writes these into each function's
environment; the functions (:mod:`indexer.settings`, the engines' ``from_env``) fall back to
the same values when a variable is absent. One definition, so the two cannot drift. Light to
import: the Lambda functions import it at init.
"""

from __future__ import annotations

INDEX_ALIAS = "products"
"""The alias every read and write goes through (reindex swaps it between physical indices)."""

BULK_MAX_OPERATIONS = 1000
"""Operations per ``_bulk`` request the indexer sends at most."""

BULK_MAX_BYTES = 5 * 1024 * 1024
"""Body bytes per ``_bulk`` request at most (under every instance type's HTTP payload limit)."""
