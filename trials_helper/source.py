"""Where studies come from: the live registry (through the cache) or a frozen snapshot.

The app and the CLI both call `get_studies`, so `TRIALS_HELPER_SNAPSHOT` / `--from` behave the
same everywhere.
"""

from __future__ import annotations

from .client import FetchResult, ProgressFn, RegistryClient, SearchQuery
from .snapshot import load_snapshot


def get_studies(
    client: RegistryClient,
    query: SearchQuery,
    *,
    snapshot: str = "",
    refresh: bool = False,
    offline: bool = False,
    max_studies: int | None = None,
    progress: ProgressFn | None = None,
) -> FetchResult:
    """Studies for the query: from `snapshot` (or the snapshot setting) when set, else live."""
    path = snapshot or client.settings.snapshot
    if path:
        return load_snapshot(path)
    return client.fetch(
        query, max_studies=max_studies, refresh=refresh, offline=offline, progress=progress
    )
