"""The HTTP session: requests-cache for answers, urllib3.Retry for transient failures.

One `requests.Session` (a `requests_cache.CachedSession`) serves the whole process. Only
successful GETs are cached. A cache that cannot be opened (a corrupt SQLite file, a folder that
cannot be written) is set aside and rebuilt, or replaced by an in-memory cache, and the reason is
kept in `CacheStatus.note` so the UI can say so; it never stops the app.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from requests_cache.backends.base import BaseStorage, DictStorage
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from . import __version__
from .config import Settings

log = logging.getLogger(__name__)

USER_AGENT = (
    f"trials-helper/{__version__} (metastatic breast cancer trial discussion helper; "
    "python-requests)"
)
RETRY_STATUSES = (429, 500, 502, 503, 504)
CACHE_NAME = "http_cache"


class BoundedRetry(Retry):
    """urllib3.Retry that honours Retry-After only up to `max_wait` seconds, and fails fast.

    A registry that asks us to come back in an hour should produce a clear message now, not a
    frozen screen, so a Retry-After longer than the bound ends the retries at once. With at most
    `total` retries of at most `max_wait` each, the whole wait is bounded.

    A refused connection or an unknown host is not retried: nothing is listening there, and
    waiting out the backoff (about 15 s with the defaults) only delays the cached answer or the
    message. Resets, timeouts and 5xx answers, which do pass, are still retried.
    """

    def __init__(self, *args, max_wait: float = 30.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait

    def new(self, **kw):
        retry = super().new(**kw)
        retry.max_wait = self.max_wait
        return retry

    def increment(
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ):
        if isinstance(error, NewConnectionError):  # refused, unknown host (not a timeout)
            raise MaxRetryError(_pool, url, reason=error) from error
        if response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after is not None and retry_after > self.max_wait:
                raise MaxRetryError(_pool, url, reason=None)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def make_retry(settings: Settings) -> BoundedRetry:
    return BoundedRetry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        backoff_factor=settings.backoff,
        backoff_max=settings.max_retry_wait,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # hand back the last error response so we can explain it
        max_wait=settings.max_retry_wait,
    )


@dataclass
class CacheStatus:
    """What kind of cache is in use, and anything the user should know about it.

    `note` is fixed when the cache is opened (or repaired); a shared store's `health` can change
    while the process runs, so `current_note()` is what to show.
    """

    backend: str
    location: str
    note: str = ""
    health: SharedHealth | None = None

    def current_note(self) -> str:
        live = self.health.note if self.health is not None else ""
        return " ".join(x for x in (self.note, live) if x)


REDIS_RECHECK_SECONDS = 5.0  # while Redis is down, how often a request tries it again
REDIS_TIMEOUTS = {"socket_connect_timeout": 2.0, "socket_timeout": 5.0}  # never hang on it


class SharedHealth:
    """Whether a shared store (Redis) answers. While it does not, answers are kept in memory and
    the store is tried again every REDIS_RECHECK_SECONDS, so the app recovers by itself."""

    def __init__(self, location: str, errors: tuple[type[BaseException], ...]) -> None:
        self.location = location
        self.errors = errors
        self.down_since: float | None = None
        self.error = ""
        self._next_try = 0.0

    def try_store(self) -> bool:
        return self.down_since is None or time.monotonic() >= self._next_try

    def failed(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.time()
            log.warning("shared cache %s stopped answering: %s", self.location, exc)
        self.error = f"{type(exc).__name__}: {exc}"
        self._next_try = time.monotonic() + REDIS_RECHECK_SECONDS

    def answered(self) -> None:
        if self.down_since is not None:
            log.warning("shared cache %s answers again", self.location)
            self.down_since = None
            self.error = ""

    @property
    def note(self) -> str:
        if self.down_since is None:
            return ""
        since = time.strftime("%H:%M:%S", time.localtime(self.down_since))
        return (
            f"The shared cache at {self.location} has not answered since {since} "
            f"({self.error}); answers are kept in memory in this process until it is back "
            f"(tried again every {REDIS_RECHECK_SECONDS:g} s)."
        )


class _Shared(BaseStorage):
    """One table of a shared store that falls back to a memory table while the store fails.

    Every operation tries the store (unless it failed in the last few seconds); a store error
    sends that operation to memory instead of up to the page as a traceback.
    """

    def __init__(self, store: BaseStorage, health: SharedHealth) -> None:
        self.store = store
        self.memory = DictStorage()
        self.health = health
        self.serializer = store.serializer

    def _run(self, op: Callable[[BaseStorage], Any]) -> Any:
        if self.health.try_store():
            try:
                result = op(self.store)
            except self.health.errors as exc:
                self.health.failed(exc)
            else:
                self.health.answered()
                return result
        return op(self.memory)

    def __getitem__(self, key):
        return self._run(lambda t: t[key])

    def __setitem__(self, key, value) -> None:
        self._run(lambda t: t.__setitem__(key, value))

    def __delitem__(self, key) -> None:
        self._run(lambda t: t.__delitem__(key))

    def __contains__(self, key) -> bool:
        return bool(self._run(lambda t: key in t))

    def __iter__(self):
        return iter(self._run(lambda t: list(t)))

    def __len__(self) -> int:
        return int(self._run(len))

    def bulk_delete(self, keys) -> None:
        keys = list(keys)
        self._run(lambda t: t.bulk_delete(keys))

    def clear(self) -> None:
        self._run(lambda t: t.clear())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.store.close()


def _sqlite_file(settings: Settings) -> Path:
    return settings.cache_path / f"{CACHE_NAME}.sqlite"


def _free_name(path: Path) -> Path:
    """`<file>.corrupt-DATE`, or `-2`, `-3` ... after it: two breakages in one second must not
    overwrite the first copy."""
    base = f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
    target, n = path.with_name(base), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{base}-{n}")
    return target


def _set_aside(path: Path) -> Path | None:
    """Rename a broken cache file out of the way (keeping it for inspection)."""
    if not path.exists():
        return None
    target = _free_name(path)
    try:
        path.rename(target)
    except OSError:
        try:
            path.unlink()
        except OSError:
            return None
        return path
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            with contextlib.suppress(OSError):
                side.unlink()
    return target


def _backend(settings: Settings):
    """Build the requests-cache backend named by the settings."""
    name = settings.cache_backend
    if name == "memory":
        return requests_cache.backends.BaseCache(), CacheStatus("memory", "this process only")
    if name == "filesystem":
        folder = settings.cache_path / CACHE_NAME
        return (requests_cache.FileCache(folder), CacheStatus("filesystem", str(folder)))
    if name.startswith(("redis://", "rediss://", "unix://")):
        import redis  # optional dependency: pip install "trials-helper[redis]"

        connection = redis.Redis.from_url(name, **REDIS_TIMEOUTS)
        shared = requests_cache.RedisCache(CACHE_NAME, connection=connection)
        health = SharedHealth(_redact(name), (redis.exceptions.RedisError, OSError))
        shared.responses = _Shared(shared.responses, health)
        shared.redirects = _Shared(shared.redirects, health)
        return shared, CacheStatus("redis", _redact(name), health=health)
    path = _sqlite_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    backend = requests_cache.SQLiteCache(path, wal=True, timeout=30)
    return backend, CacheStatus("sqlite", str(path))


def _redact(url: str) -> str:
    """Hide a password in a redis URL before showing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _probe(backend, status: CacheStatus) -> None:
    """Touch the store once so a corrupt file shows itself now, not mid-search.

    Counting rows reads only the start of a SQLite file; damage in the middle passed that and
    then broke every lookup, so a SQLite file also gets `PRAGMA quick_check` (milliseconds for
    tens of megabytes).
    """
    len(backend.responses)
    if status.backend == "sqlite":
        with contextlib.closing(sqlite3.connect(status.location, timeout=30)) as conn:
            verdict = conn.execute("PRAGMA quick_check(1)").fetchone()
        if not verdict or verdict[0] != "ok":
            raise sqlite3.DatabaseError(
                f"database disk image is malformed ({verdict[0] if verdict else 'no answer'})"
            )


def is_damaged(exc: BaseException) -> bool:
    """A SQLite error that means the file is broken (not merely busy)."""
    return isinstance(exc, sqlite3.DatabaseError) and not _is_busy(exc)


def set_aside_damaged(settings: Settings, exc: BaseException) -> str:
    """Move a cache file found broken during use out of the way; the note to show."""
    moved = _set_aside(_sqlite_file(settings))
    note = (
        f"The cache file was found damaged ({exc}); it was set aside"
        + (f" as {moved.name}" if moved else "")
        + " and a new one was started, so earlier answers are not available offline."
    )
    log.warning(note)
    return note


def _is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "busy": another process is writing, nothing is broken."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


BUSY_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0)  # about 5.5 s in all


def _open_patiently(settings: Settings):
    """Open and probe the store, waiting while another process holds the file's lock (two app
    sessions starting together, or the CLI next to the app)."""
    for wait in (*BUSY_WAITS, None):
        try:
            backend, status = _backend(settings)
            _probe(backend, status)
            return backend, status
        except sqlite3.OperationalError as exc:
            if wait is None or not _is_busy(exc):
                raise
            log.info("cache file busy (%s); waiting %.2f s", exc, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


def build_cache(settings: Settings):
    """Open the configured cache; repair or replace it when it is broken.

    A file that stays locked by another process is left alone (moving it would break that
    process's cache); this session then keeps answers in memory.
    """
    try:
        return _open_patiently(settings)
    except (sqlite3.DatabaseError, OSError) as exc:
        if _is_busy(exc):
            note = (
                f"The cache at {settings.cache_path} is in use by another process and stayed "
                f"locked ({exc}); answers are kept in memory for this session only."
            )
            log.warning(note)
            return (
                requests_cache.backends.BaseCache(),
                CacheStatus("memory", "this process only", note),
            )
        if settings.cache_backend == "sqlite":
            moved = _set_aside(_sqlite_file(settings))
            try:
                backend, status = _open_patiently(settings)
                status.note = (
                    f"The cache file could not be read ({exc}); it was set aside"
                    + (f" as {moved.name}" if moved else "")
                    + " and a new one was started."
                )
                log.warning(status.note)
                return backend, status
            except (sqlite3.DatabaseError, OSError) as exc2:
                exc = exc2
        note = (
            f"The cache at {settings.cache_path} cannot be used ({exc}); answers are kept "
            "in memory for this session only."
        )
        log.warning(note)
        return requests_cache.backends.BaseCache(), CacheStatus("memory", "this process only", note)
    except Exception as exc:  # e.g. redis not reachable or not installed
        note = (
            f"The {settings.cache_backend.split(':')[0]} cache cannot be used ({exc}); "
            "answers are kept in memory for this session only."
        )
        log.warning(note)
        return requests_cache.backends.BaseCache(), CacheStatus("memory", "this process only", note)


Accept = Callable[[requests.Response], bool]


def _guard_writes(backend, accept: Accept) -> None:
    """Store only answers `accept` can read.

    requests-cache caches every 200; a 200 whose body is not the expected JSON would replace
    the last good answer (and its own `filter_fn` deletes the old entry when it refuses the new
    one). Refusing the write keeps the good copy for the fallback.
    """
    save = backend.save_response

    def save_response(response, cache_key=None, expires=None):
        if accept(response):
            save(response, cache_key, expires)
        else:
            log.info("not caching an unreadable answer from %s", getattr(response, "url", ""))

    setattr(backend, "save_response", save_response)  # noqa: B010 - an instance override


def make_session(
    settings: Settings, accept: Accept | None = None
) -> tuple[requests_cache.CachedSession, CacheStatus]:
    """The one HTTP session: cache, retries, User-Agent. Makes no request.

    `accept(response)` says whether a new answer is readable enough to be cached.
    """
    backend, status = build_cache(settings)
    if accept is not None:
        _guard_writes(backend, accept)
    session = requests_cache.CachedSession(
        backend=backend,
        expire_after=timedelta(hours=settings.cache_expire_hours),
        allowable_codes=(200,),
        allowable_methods=("GET",),
        stale_if_error=True,
    )
    adapter = HTTPAdapter(max_retries=make_retry(settings))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session, status


def cached_answer(session: requests_cache.CachedSession, request: requests.PreparedRequest):
    """The stored answer for exactly this request, however old, or None."""
    try:
        return session.cache.get_response(session.cache.create_key(request))
    except sqlite3.DatabaseError as exc:
        if is_damaged(exc):
            raise  # the caller sets the file aside (see RegistryClient._repair)
        log.warning("cache lookup failed: %s", exc)
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("cache lookup failed: %s", exc)
        return None


def clear_cache(session: requests_cache.CachedSession) -> None:
    session.cache.clear()
