"""Frozen sets of studies: what `trials-helper fetch` writes and `--from` / the app read back.

A snapshot is the raw API v2 records as a JSON list (so any tool can read it) plus a sidecar
`<name>.meta.json` recording when and how it was fetched, so an analysis can be rerun on exactly
the same data and the data date shown is the snapshot's.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .client import DataSource, FetchResult
from .errors import DataFileError
from .output import check_output
from .studies import load_studies


def meta_path(path: Path) -> Path:
    return (
        path.with_name(path.name + ".meta.json")
        if path.suffix != ".json"
        else path.with_suffix(".meta.json")
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, text: str) -> None:
    """Write through a temporary file so a crash never leaves half a snapshot. The folder must
    exist (a mistyped path must not become new folders), and the file gets the usual
    permissions (mkstemp's 0600 made snapshots unreadable to colleagues)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_snapshot(result: FetchResult, path: Path) -> Path:
    """Write the studies (JSON list) and the sidecar describing the query; returns the sidecar."""
    check_output(path)
    try:
        _atomic_write(path, json.dumps(result.studies, ensure_ascii=False))
        meta = {
            "retrieved_at": result.retrieved_at.astimezone(UTC).isoformat(),
            "source": result.source,
            "total_count": result.total_count,
            "fetched": result.fetched,
            "complete": result.complete,
            "url": result.url,
            "params": result.params,
            "trials_helper_version": __version__,
        }
        side = meta_path(path)
        _atomic_write(side, json.dumps(meta, indent=2, ensure_ascii=False))
    except OSError as exc:
        raise DataFileError(
            f"Could not write {path} ({exc}). Choose a folder you can write to."
        ) from exc
    return side


def load_snapshot(path: str | Path) -> FetchResult:
    """Read a snapshot back as a FetchResult whose source is "snapshot"."""
    path = Path(path)
    studies = load_studies(path)
    meta: dict[str, Any] = {}
    side = meta_path(path)
    if side.exists():
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            meta = {}
    try:
        retrieved = datetime.fromisoformat(meta["retrieved_at"])
    except (KeyError, TypeError, ValueError):
        retrieved = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    total = meta.get("total_count")
    return FetchResult(
        studies=studies,
        total_count=total if isinstance(total, int) else len(studies),
        complete=bool(meta.get("complete", True)),
        source=DataSource.SNAPSHOT,
        retrieved_at=retrieved,
        url=str(meta.get("url", "")),
        params=dict(meta.get("params") or {}),
        notes=[f"Answered from the snapshot {path.name}."],
    )
