"""One registry of settings, read from environment variables.

Every setting is declared once here as (name, default, help); `load_settings()` reads them, checks
their types and gives a `SettingsError` that names the variable when a value cannot be used. The
README lists every setting, and a test fails when one is missing there.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import SettingsError

ENV_PREFIX = "TRIALS_HELPER_"


@dataclass(frozen=True)
class Setting:
    """One configurable value: its environment variable, default and a line of help."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "inf" would mean no timeout at all; "nan" compares false
        raise ValueError("must be a finite number")
    return value


def _within(low: float, high: float, *, integer: bool = False, above: bool = False):
    """A parser for a number in a sane range: values that passed a bare type check used to
    crash later (1e12 hours overflowed a timedelta) or freeze the app (1e308 s of backoff)."""

    def parse(text: str) -> float | int:
        if integer:
            try:
                value: float | int = int(text.strip())
            except ValueError:
                raise ValueError("must be a whole number") from None
        else:
            value = _finite(text)
        too_low = value <= low if above else value < low
        if too_low or value > high:
            lower = f"greater than {low:g}" if above else f"at least {low:g}"
            raise ValueError(f"must be {lower} and at most {high:g}")
        return value

    return parse


def _page_size(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError("must be a whole number between 1 and 1000") from None
    if not 1 <= value <= 1000:
        raise ValueError("must be between 1 and 1000 (the registry's maximum)")
    return value


def _url(text: str) -> str:
    """An http(s) URL that requests can use ('http://[::1' passed and then crashed)."""
    text = text.strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"is not a usable URL ({exc})") from None
    if not parts.hostname or any(ch.isspace() for ch in text):
        raise ValueError("is not a usable URL (no host name, or spaces in it)")
    return text


def _backend(text: str) -> str:
    text = text.strip()
    if text.lower() in {"sqlite", "memory", "filesystem"}:
        return text.lower()
    if text.startswith(("redis://", "rediss://", "unix://")):
        return text
    raise ValueError("must be sqlite, filesystem, memory, or a redis:// URL")


def _optional_path(text: str) -> str:
    return text.strip()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "api_url",
        "https://clinicaltrials.gov/api/v2",
        "Base URL of the ClinicalTrials.gov API v2; point it at a local stand-in for tests.",
        _url,
    ),
    Setting(
        "cache_dir",
        "cache",
        "Folder for the HTTP cache (relative paths are taken from the working directory).",
        str,
    ),
    Setting(
        "cache_backend",
        "sqlite",
        "Where cached answers live: sqlite (default), filesystem, memory, or a redis:// URL "
        "shared by several app instances.",
        _backend,
    ),
    Setting(
        "cache_expire_hours",
        24.0,
        "How long a cached registry answer counts as fresh, in hours (0 to 87,600, ten years).",
        _within(0, 87_600),
    ),
    Setting(
        "connect_timeout",
        5.0,
        "Seconds to wait for a connection to the registry (more than 0, at most 300).",
        _within(0, 300, above=True),
    ),
    Setting(
        "read_timeout",
        60.0,
        "Seconds to wait for each answer from the registry (a 1,000-study page is large; more "
        "than 0, at most 3,600).",
        _within(0, 3600, above=True),
    ),
    Setting(
        "retries",
        4,
        "How many times a failed request (429, 500, 502, 503, 504, connection error) is "
        "retried before giving up (0 to 20).",
        _within(0, 20, integer=True),
    ),
    Setting(
        "backoff",
        1.0,
        "Base of the exponential wait between retries, in seconds (1, 2, 4 ...; 0 to 60).",
        _within(0, 60),
    ),
    Setting(
        "max_retry_wait",
        30.0,
        "Longest single wait between retries, in seconds; a Retry-After longer than this "
        "makes the client give up at once with a clear message (0 to 3,600).",
        _within(0, 3600),
    ),
    Setting("page_size", 1000, "Studies asked for per page (1 to 1000).", _page_size),
    Setting(
        "cards_per_group",
        5,
        "Trial cards the app draws per kind of treatment before a 'Show more' button; every "
        "trial stays in the table and the CSV (1 to 200).",
        _within(1, 200, integer=True),
    ),
    Setting(
        "read_workers",
        0,
        "Processes that share the reading of eligibility text when many studies are new (the "
        "first load of a registry-sized set): 0 means one per processor (at most 8), 1 reads "
        "in the app's own process (0 to 64).",
        _within(0, 64, integer=True),
    ),
    Setting(
        "snapshot",
        "",
        "Path of a snapshot JSON (from `trials-helper fetch`) to answer from instead of the "
        "registry; empty means the live registry.",
        _optional_path,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The values in force; build with `load_settings()`, or directly in tests."""

    api_url: str = _BY_NAME["api_url"].default
    cache_dir: str = _BY_NAME["cache_dir"].default
    cache_backend: str = _BY_NAME["cache_backend"].default
    cache_expire_hours: float = _BY_NAME["cache_expire_hours"].default
    connect_timeout: float = _BY_NAME["connect_timeout"].default
    read_timeout: float = _BY_NAME["read_timeout"].default
    retries: int = _BY_NAME["retries"].default
    backoff: float = _BY_NAME["backoff"].default
    max_retry_wait: float = _BY_NAME["max_retry_wait"].default
    page_size: int = _BY_NAME["page_size"].default
    cards_per_group: int = _BY_NAME["cards_per_group"].default
    read_workers: int = _BY_NAME["read_workers"].default
    snapshot: str = _BY_NAME["snapshot"].default

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir).expanduser()

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


assert {f.name for f in fields(Settings)} == set(_BY_NAME), "Settings and SETTINGS disagree"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read every setting from the environment (empty values mean the default)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, "")
        if raw.strip() == "":
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise SettingsError(
                f"{setting.env}={raw!r} cannot be used: {exc}. "
                f"Unset it to use the default ({setting.default!r})."
            ) from exc
    values.update(overrides)
    return Settings(**values)


def settings_table() -> list[dict[str, str]]:
    """Rows for documentation: variable, default, meaning."""
    return [{"variable": s.env, "default": str(s.default), "meaning": s.help} for s in SETTINGS]
