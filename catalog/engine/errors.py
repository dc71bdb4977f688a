"""The errors of the search engine port (re-exported by :mod:`catalog.engine.port`)."""

from __future__ import annotations


class EngineError(Exception):
    """Base of engine errors."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached or is too slow: retry later (API answers 503)."""


class InvalidRequest(EngineError, ValueError):
    """A request the engine will not run (a bad cursor, too deep). ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")


class IndexNotFound(EngineError):
    """The alias or physical index does not exist."""
