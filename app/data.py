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
from trials_helper.errors import TrialsHelperError
from trials_helper.search import Analysed, analyse
from trials_helper.source import get_studies


@dataclass(frozen=True)
class Loaded:
    result: FetchResult
    analysed: tuple[Analysed, ...]
    cache_note: str  # said while loading this set (e.g. filtered here instead of by place)


@st.cache_resource(show_spinner=False)
def client() -> RegistryClient:
    return RegistryClient(load_settings())


@st.cache_resource(show_spinner=False, ttl=3600, max_entries=16)
def load(
    statuses: tuple[str, ...], geo: str | None, refresh_nonce: int, _refresh: bool = False
) -> Loaded:
    """Recruiting MBC studies for the statuses (near a place when `geo` is given), analysed.

    With a place and a distance the registry is asked with filter.geo, so fewer studies come
    back; the distance to each recruiting site is still checked locally. A new nonce bypasses
    the HTTP cache. If the narrower query cannot be answered (offline, nothing cached for it),
    the full set is used instead and filtered locally, and the app says so.
    """
    c = client()
    note = ""
    try:
        result = get_studies(c, SearchQuery(statuses=statuses, geo=geo), refresh=_refresh)
    except TrialsHelperError:
        if geo is None:
            raise
        result = get_studies(c, SearchQuery(statuses=statuses), refresh=False)
        note = " ".join(
            x
            for x in (
                note,
                "The search near your place could not be sent to "
                "the registry, so saved results for all places are "
                "filtered by distance here.",
            )
            if x
        )
    return Loaded(result, tuple(analyse(result.studies)), note)


def notes(loaded: Loaded) -> str:
    """What to say under the data line: the cache as it is now (a shared Redis can stop, or
    come back, after this set was loaded and kept) and what loading it said."""
    return " ".join(x for x in (client().cache_status.note, loaded.cache_note) if x)
