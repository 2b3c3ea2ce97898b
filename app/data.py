"""Cached data for the app: one client per process, one analysed study set per query.

Fetching, parsing and classifying happen once per (statuses, refresh) and are kept with
`st.cache_resource` (the objects are frozen, so sharing them is safe and avoids copying); matching
and filtering run on every rerun because they are fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from trials_helper.client import FetchResult, RegistryClient, SearchQuery
from trials_helper.config import load_settings
from trials_helper.search import Analysed, analyse
from trials_helper.source import get_studies


@dataclass(frozen=True)
class Loaded:
    result: FetchResult
    analysed: tuple[Analysed, ...]
    cache_note: str


@st.cache_resource(show_spinner=False)
def client() -> RegistryClient:
    return RegistryClient(load_settings())


@st.cache_resource(show_spinner=False, ttl=3600, max_entries=8)
def load(statuses: tuple[str, ...], refresh_nonce: int, _refresh: bool = False) -> Loaded:
    """All recruiting MBC studies for the statuses, analysed. A new nonce bypasses the cache.

    The app fetches the whole set once and filters by place locally, so changing the place or
    the radius is instant and works offline; the CLI sends filter.geo instead.
    """
    c = client()
    result = get_studies(c, SearchQuery(statuses=statuses), refresh=_refresh)
    return Loaded(result, tuple(analyse(result.studies)), c.cache_status.note)
