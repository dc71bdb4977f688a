"""The one error the configuration raises: it names the field that is wrong."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing or wrong. ``field`` is its dotted path."""

    def __init__(self, field_path: str, message: str, source: str | None = None) -> None:
        self.field = field_path
        self.reason = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field_path}: {message}")
