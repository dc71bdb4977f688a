"""How long-running domain work reports progress, without knowing who draws it.

Domain code (audit, reindex, the sandbox's catalog load) takes a :class:`ProgressFactory`:
called with a label and a total (None when unknown), it returns a context manager whose
``advance(n)`` counts finished items. The CLI passes its terminal bar
(``storefront_cli.progress.Progress``); everything else passes nothing and gets
:func:`silent`::

    def run(progress: ProgressFactory | None = None) -> None:
        with (progress or silent)("scan us-east-1", total) as bar:
            bar.advance(len(batch))
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol


class ProgressBar(Protocol):
    def advance(self, n: int = 1) -> None: ...


class ProgressFactory(Protocol):
    def __call__(self, label: str, total: int | None, /) -> AbstractContextManager[ProgressBar]: ...


class _Silent:
    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


def silent(label: str, total: int | None, /) -> AbstractContextManager[ProgressBar]:
    """A :class:`ProgressFactory` that reports nowhere."""
    return _Silent()
