"""The index directory: alias pointer files, physical indices, the reader cache, the writer lock.

One directory per region holds the physical indices (sub-directories) and, per alias, a
small pointer file ``<alias>.alias`` that :meth:`IndexStore.swap_alias` replaces atomically
(``os.replace``). Any process may open the directory:

* the index writer is taken only for one write (:meth:`IndexStore.writer`) and released
  after the commit, so the CLI can reindex or repair while the sandbox serves (a busy
  writer is retried with a short backoff for ~2 s, then :class:`EngineUnavailable`);
* readers re-resolve the alias and reload when the index's ``meta.json`` changed (one
  ``stat`` each per read), so commits of other processes show at once, and a process
  reads its own writes as soon as the write returns.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import tantivy

from catalog.defaults import INDEX_ALIAS
from catalog.engine import EngineConfigError
from catalog.engine.embedded.schema import physical_schema, register_tokenizers
from catalog.engine.port import EngineUnavailable, IndexNotFound, InvalidRequest

WRITER_HEAP = 64_000_000
LOCK_WAIT_SECONDS = 2.0
MARKER = "storefront-index.json"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclass
class Physical:
    name: str
    path: Path
    index: tantivy.Index
    meta: tuple[int, int, int] | None
    searcher: tantivy.Searcher
    meta_path: str = ""


def _stat(path: str | Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


class IndexStore:
    """The physical indices of ``directory`` and the pointer file of ``alias``."""

    def __init__(self, directory: str | os.PathLike[str], alias: str = INDEX_ALIAS) -> None:
        if not NAME.match(alias):
            raise EngineConfigError(f"INDEX_ALIAS must match {NAME.pattern}, got {alias!r}")
        self.alias = alias
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.schema = physical_schema()
        self._lock = threading.RLock()
        self.write_lock = threading.Lock()  # one write at a time in this process
        self._indices: dict[str, Physical] = {}
        self._alias_file = str(self.directory / f"{alias}.alias")
        self._alias_stat: tuple[int, int, int] | None = None
        self._alias_target: str | None = None
        self._closed = False

    @property
    def _alias_path(self) -> Path:
        return Path(self._alias_file)

    def alias_target(self) -> str | None:
        with self._lock:
            st = _stat(self._alias_file)
            if st != self._alias_stat:
                target = None
                if st is not None:
                    try:
                        target = json.loads(self._alias_path.read_text())["index"]
                    except (OSError, ValueError, KeyError, TypeError):
                        target = None
                self._alias_stat, self._alias_target = st, target
            return self._alias_target

    def check_name(self, name: str) -> str:
        if not isinstance(name, str) or not NAME.match(name):
            raise InvalidRequest("index", f"must match {NAME.pattern}, got {name!r}")
        return name

    def create_index(self, name: str | None = None) -> str:
        with self._lock:
            if name is None:
                stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
                fresh = (f"{self.alias}-{stamp}-{n:03d}" for n in itertools.count(1))
                name = next(c for c in fresh if not (self.directory / c).exists())
            self.check_name(name)
            path = self.directory / name
            if (path / "meta.json").exists():
                raise InvalidRequest("index", f"{name!r} already exists")
            path.mkdir(parents=True, exist_ok=True)
            index = tantivy.Index(self.schema.schema, path=str(path), reuse=False)
            register_tokenizers(index)
            (path / MARKER).write_text(json.dumps({"alias": self.alias, "created_ns": time.time_ns(),
                                                   "schema": self.schema.fingerprint}))
            del index
            return name

    def swap_alias(self, new_index: str) -> str | None:
        with self._lock:
            self.check_name(new_index)
            if not (self.directory / new_index / "meta.json").exists():
                raise IndexNotFound(f"index {new_index!r} does not exist in {self.directory}")
            previous = self.alias_target()
            tmp = self.directory / f".{self.alias}.alias.{os.getpid()}.{threading.get_ident()}"
            tmp.write_text(json.dumps({"index": new_index}))
            os.replace(tmp, self._alias_path)
            self.alias_target()
            return previous

    def indices(self) -> list[str]:
        found = []
        for marker in self.directory.glob(f"*/{MARKER}"):
            try:
                meta = json.loads(marker.read_text())
            except (OSError, ValueError):
                continue
            if meta.get("alias") == self.alias and (marker.parent / "meta.json").exists():
                found.append((meta.get("created_ns", 0), marker.parent.name))
        return [name for _, name in sorted(found)]

    def delete_index(self, name: str) -> None:
        with self._lock:
            self.check_name(name)
            path = self.directory / name
            if not (path / "meta.json").exists():
                raise IndexNotFound(f"index {name!r} does not exist")
            if name == self.alias_target():
                raise InvalidRequest("index", f"{name!r} is the target of alias {self.alias!r}; swap first")
            self._indices.pop(name, None)
            shutil.rmtree(path)

    def open(self, name: str) -> Physical:
        """The physical index ``name``, reloaded if another process committed to it."""
        with self._lock:
            if self._closed:
                raise EngineUnavailable("engine is closed")
            phys = self._indices.get(name)
            if phys is not None:
                meta = _stat(phys.meta_path)
                if meta == phys.meta:
                    return phys
            path = self.directory / name
            meta = _stat(path / "meta.json")
            if meta is None:
                self._indices.pop(name, None)
                raise IndexNotFound(f"index {name!r} does not exist in {self.directory}")
            if phys is None:
                self._check_schema(path)
                try:
                    index = tantivy.Index.open(str(path))
                except (OSError, ValueError) as exc:
                    raise EngineUnavailable(f"cannot open index {name!r}: {exc}") from exc
                register_tokenizers(index)
                index.config_reader("manual")
                index.reload()
                phys = Physical(name, path, index, meta, index.searcher(), str(path / "meta.json"))
                self._indices[name] = phys
            elif phys.meta != meta:
                phys.index.reload()
                phys.searcher = phys.index.searcher()
                phys.meta = meta
            return phys

    def create_alias(self) -> None:
        """A fresh directory: make the first physical index and the alias, once across processes."""
        with open(self.directory / f".{self.alias}.create.lock", "w") as fh, self._lock:
            fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes
            self._alias_stat = None  # re-read: another process may have just made it
            if self.alias_target() is None:
                self.swap_alias(self.create_index())

    def _check_schema(self, path: Path) -> None:
        """Refuse an index built from another schema: queries address fields by position."""
        try:
            built = json.loads((path / MARKER).read_text()).get("schema")
        except FileNotFoundError:
            return  # not made by this adapter: trust it
        except (OSError, ValueError) as exc:
            raise EngineUnavailable(f"index {path.name!r}: unreadable {MARKER}: {exc}") from exc
        if built != self.schema.fingerprint:
            raise EngineUnavailable(f"index {path.name!r} was built with another index schema ({built}, this "
                                    f"code uses {self.schema.fingerprint}); rebuild it into a new index and "
                                    "swap the alias")

    def refresh(self, phys: Physical) -> None:
        """Read our own commit at once (stat first: a later commit by others shows as a change)."""
        with self._lock:
            meta = _stat(phys.meta_path)
            phys.index.reload()
            phys.searcher = phys.index.searcher()
            phys.meta = meta

    def target(self, index: str | None) -> str:
        if index is not None:
            return self.check_name(index)
        target = self.alias_target()
        if target is None:
            raise IndexNotFound(f"alias {self.alias!r} does not exist in {self.directory}")
        return target

    def reader(self, index: str | None = None) -> tantivy.Searcher:
        return self.open(self.target(index)).searcher

    def writer(self, phys: Physical) -> tantivy.IndexWriter:
        """The index writer (a lock file shared by all processes), retried while busy."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        delay = 0.005
        while True:
            try:
                return phys.index.writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise EngineUnavailable(f"cannot open the index writer: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise EngineUnavailable(f"index {phys.name!r} is being written by another process; "
                                            f"retry later") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def close(self) -> None:
        with self._lock:
            self._indices.clear()
            self._closed = True
