"""Facets kept per study version, so a study is read once, not at every start.

Reading a study's eligibility text into facets is the slowest step of a search (about 2 ms a
study, so 2 s for the registry's thousand). The facets depend only on the study record and on
the reader (its code and data tables), so they are stored under a key made of both: the SHA-256
of the record as received, and a fingerprint of every file of the package. A changed record, or any
change to the reader, gives a new key: an old reading is never used for a new text.

Where: `facets.sqlite` in the cache folder (`TRIALS_HELPER_CACHE_DIR`), beside the HTTP cache;
with the `memory` backend, or a folder that cannot be used, in memory for this process only.
Entries stored more than `KEEP_DAYS` days ago are dropped (and read again when needed). A
damaged file is set aside and started again (like the HTTP cache); a folder that cannot be
used turns the store off for the process, and the search goes on reading every study. The
values are pickles of the package's own frozen dataclasses, written by this installation into
its own cache folder (the HTTP cache already stores pickles there).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import sqlite3
import sys
import threading
import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import __version__
from .config import Settings
from .facets import TrialFacets

log = logging.getLogger(__name__)

FILE_NAME = "facets.sqlite"
KEEP_DAYS = 30
MEMORY_LIMIT = 20_000  # readings kept in memory as well (a few registry-sized sets)
_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def reader_fingerprint() -> str:
    """A hash of every source and data file of the package (and its version): any edit to the
    reader, its tables or the parser makes every stored reading unusable."""
    digest = hashlib.sha256(f"{__version__} {sys.version_info[:2]}".encode())
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in (".py", ".toml", ".json") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(_PACKAGE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def study_key(study: Mapping[str, Any]) -> str:
    """The record's own bytes (a pickle: ten times faster than JSON text for 1,000 studies,
    and the same for the same record as parsed from the same answer) with the reader's."""
    digest = hashlib.sha256(reader_fingerprint().encode())
    digest.update(pickle.dumps(study, protocol=5))
    return digest.hexdigest()


class FacetStore:
    """`lookup(study_key(study))` gives the stored reading when there is one, `keep` takes a
    new one and `flush()` stores the new ones (one transaction). Safe to share between
    threads. `readpool.read_studies` uses it for a whole set."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: memory only
        self.memory: dict[str, TrialFacets] = {}
        self.pending: dict[str, TrialFacets] = {}
        self.hits = 0
        self.misses = 0
        self.note = ""
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._open()

    @classmethod
    def for_settings(cls, settings: Settings) -> FacetStore:
        if settings.cache_backend == "memory":
            return cls(None)
        return cls(settings.cache_path / FILE_NAME)

    # -- the file ---------------------------------------------------------------------------
    def _open(self) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)
        except OSError as exc:
            self._off(f"the folder cannot be used ({exc})")

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS facets "
                "(key TEXT PRIMARY KEY, value BLOB NOT NULL, used REAL NOT NULL)"
            )
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self, exc: BaseException) -> None:
        """A damaged file is renamed (kept for a look) and a new one started."""
        assert self.path is not None
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            self.path.replace(aside)
            for extra in ("-wal", "-shm"):
                with contextlib.suppress(OSError):
                    self.path.with_name(self.path.name + extra).unlink()
            self._db = self._connect()
            self.note = f"The stored readings were damaged ({exc}); they were set aside."
        except (OSError, sqlite3.Error) as again:
            self._off(f"it is damaged and could not be replaced ({again})")

    def _off(self, why: str) -> None:
        log.warning("facet store %s not used: %s", self.path, why)
        self.note = f"Stored readings are not used: {why}; each study is read again."
        self._db = None
        self.path = None

    # -- reading ----------------------------------------------------------------------------
    def _stored(self, key: str) -> TrialFacets | None:
        found = self.memory.get(key)
        if found is not None or self._db is None:
            return found
        try:
            row = self._db.execute("SELECT value FROM facets WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            self._set_aside(exc)
            return None
        if row is None:
            return None
        try:
            value = pickle.loads(row[0])
        except Exception:  # noqa: BLE001 - an unreadable entry is read again, not shown
            return None
        return value if isinstance(value, TrialFacets) else None

    def lookup(self, key: str) -> TrialFacets | None:
        """The stored reading under `key` (from `study_key`), or None (counted as a miss)."""
        with self._lock:
            found = self._stored(key)
            if found is not None:
                self.hits += 1
            else:
                self.misses += 1
        return found

    def keep(self, key: str, facets: TrialFacets) -> None:
        """A new reading, stored at the next `flush()`."""
        with self._lock:
            if len(self.memory) > MEMORY_LIMIT:
                self.memory.clear()
            self.memory[key] = facets
            self.pending[key] = facets

    def flush(self) -> None:
        """Store the readings made since the last flush, and drop long-unused ones."""
        with self._lock:
            pending, self.pending = self.pending, {}
            if self._db is None or not pending:
                return
            now = time.time()
            rows = [(k, pickle.dumps(v, pickle.HIGHEST_PROTOCOL), now) for k, v in pending.items()]
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO facets (key, value, used) VALUES (?, ?, ?)", rows
                    )
                    self._db.execute(
                        "DELETE FROM facets WHERE used < ?", (now - KEEP_DAYS * 86400,)
                    )
            except sqlite3.DatabaseError as exc:
                self._set_aside(exc)
            except sqlite3.Error as exc:  # locked for too long by another process: skip
                log.info("facet store busy, readings not stored this time: %s", exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
