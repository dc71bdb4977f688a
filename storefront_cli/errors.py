"""Exit codes and the one error a command raises for a mistake the user can fix.

Imports nothing of ours: the command modules (``replication.cli``, ``sandbox.cli``) raise
:class:`CLIError` and return these codes, and ``storefront_cli.main`` catches and returns
them, without either importing the other.

Exit codes scripts can rely on: 0 ok, 1 findings or failed checks, 2 usage or
configuration error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A mistake the user can fix; printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code
