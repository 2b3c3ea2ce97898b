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


def _positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _page_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1000:
        raise ValueError("must be between 1 and 1000 (the registry's maximum)")
    return value


def _url(text: str) -> str:
    text = text.strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
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
        "How long a cached registry answer counts as fresh, in hours.",
        _non_negative_float,
    ),
    Setting(
        "connect_timeout", 5.0, "Seconds to wait for a connection to the registry.", _positive_float
    ),
    Setting(
        "read_timeout",
        60.0,
        "Seconds to wait for each answer from the registry (a 1,000-study page is large).",
        _positive_float,
    ),
    Setting(
        "retries",
        4,
        "How many times a failed request (429, 500, 502, 503, 504, connection error) is "
        "retried before giving up.",
        _non_negative_int,
    ),
    Setting(
        "backoff",
        1.0,
        "Base of the exponential wait between retries, in seconds (1, 2, 4 ...).",
        _non_negative_float,
    ),
    Setting(
        "max_retry_wait",
        30.0,
        "Longest single wait between retries, in seconds; a Retry-After longer than this "
        "makes the client give up at once with a clear message.",
        _non_negative_float,
    ),
    Setting("page_size", 1000, "Studies asked for per page (1 to 1000).", _page_size),
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
