"""The embedded search engine: a :class:`~catalog.engine.port.SearchEngine` on tantivy.

One directory per region, any process may open it (:mod:`.store`: alias pointer files,
the writer lock, readers that see other processes' commits). Writes are versioned
read-modify-writes of one document per product (:mod:`.writes`); a search is one facet
pass (:mod:`.facets`) and one page pass (:mod:`.paging`, two strategies), see
:mod:`.search`. Queries are built from the analysed text in :mod:`.query`; the physical
schema is :mod:`.schema`.

Not for Lambda: this package imports tantivy (``engine_from_env`` imports it only when
``SEARCH_ENGINE=embedded``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence

from catalog.defaults import INDEX_ALIAS
from catalog.engine import EngineConfigError
from catalog.engine.embedded import query as eq
from catalog.engine.embedded import search as _search
from catalog.engine.embedded import states as _states
from catalog.engine.embedded import writes as _writes
from catalog.engine.embedded.schema import hit_count
from catalog.engine.embedded.store import IndexStore
from catalog.engine.port import (
    DocState,
    Health,
    IndexNotFound,
    Operation,
    OpResult,
    SearchRequest,
    SearchResult,
    Suggestion,
)
from catalog.model import Content, Product


class EmbeddedEngine:
    """A region's product index in ``directory``, read and written through ``alias``."""

    def __init__(self, directory: str | os.PathLike[str], alias: str = INDEX_ALIAS) -> None:
        self._store = IndexStore(directory, alias)
        self.alias = self._store.alias
        self.directory = self._store.directory

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EmbeddedEngine:
        directory = env.get("EMBEDDED_INDEX_DIR", "").strip()
        if not directory:
            raise EngineConfigError("EMBEDDED_INDEX_DIR is required for SEARCH_ENGINE=embedded "
                                    "(the region's index directory)")
        return cls(directory, alias=env.get("INDEX_ALIAS", "").strip() or INDEX_ALIAS)

    # ------------------------------------------------------------ administration
    def alias_target(self) -> str | None:
        return self._store.alias_target()

    def create_index(self, name: str | None = None) -> str:
        return self._store.create_index(name)

    def swap_alias(self, new_index: str) -> str | None:
        return self._store.swap_alias(new_index)

    def indices(self) -> list[str]:
        return self._store.indices()

    def delete_index(self, name: str) -> None:
        self._store.delete_index(name)

    def purge_tombstones(self, older_than_seconds: float) -> int:
        return _writes.purge_tombstones(self._store, older_than_seconds)

    def health(self) -> Health:
        detail = {"engine": "embedded", "directory": str(self.directory), "alias": self.alias}
        try:
            target = self.alias_target()
            if target is None:
                return Health(reachable=self.directory.is_dir(), alias_present=False, detail=detail)
            detail["index"] = target
            detail["docs"] = str(self._store.open(target).searcher.num_docs)
            return Health(reachable=True, alias_present=True, detail=detail)
        except IndexNotFound as exc:
            detail["error"] = str(exc)
            return Health(reachable=True, alias_present=False, detail=detail)
        except Exception as exc:  # health never raises
            detail["error"] = f"{type(exc).__name__}: {exc}"
            return Health(reachable=False, alias_present=False, detail=detail)

    def close(self) -> None:
        self._store.close()

    # ------------------------------------------------------------ write
    def apply(self, ops: Sequence[Operation], *, index: str | None = None) -> list[OpResult]:
        return _writes.apply(self._store, ops, index)

    # ------------------------------------------------------------ read
    def states(self, ids: Sequence[str], *, index: str | None = None) -> dict[str, DocState]:
        return _states.states(self._store.reader(index), ids)

    def iter_states(self, *, index: str | None = None, batch_size: int = 1000) -> Iterator[DocState]:
        """Every stored document's state in id order, in pages of bounded memory."""
        yield from _states.iter_states(lambda: self._store.reader(index), batch_size)

    def count(self, *, index: str | None = None) -> int:
        return hit_count(self._store.reader(index).search(eq.visible_filter(), 1, count=True))

    def get(self, product_id: str) -> tuple[Product, Content | None] | None:
        return _states.get(self._store.reader(), product_id)

    def search(self, request: SearchRequest) -> SearchResult:
        t0 = time.perf_counter()
        return _search.search(self._store.reader(), request, t0)

    def suggest(self, prefix: str, size: int = 10) -> list[Suggestion]:
        _search.check_suggest_size(size)
        terms = eq.analyse(prefix or "")
        if not terms:
            return []
        return _search.suggest(self._store.reader(), terms, size)
