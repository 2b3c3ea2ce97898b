"""One search for every shell: `run_search(SearchRequest) -> SearchResult`.

The app page and `trials-helper search` read their inputs into a `SearchRequest` and draw or
write the `SearchResult`; everything between is here, once:

1. data source: a snapshot (`--from`, TRIALS_HELPER_SNAPSHOT) or the registry through the cache,
   with its fallback to the last cached answer (`source.get_studies`, `client.RegistryClient`).
   The whole recruiting set is fetched once per choice of statuses (1-2 requests at the
   registry's size) and kept in a `DatasetCache` by the app; no place is ever sent to the
   registry, so a new place or distance costs no request;
2. reading: every study parsed and read into facets once per loaded set (`search.analyse`), with
   readings kept per study version across runs (`facetstore.FacetStore`);
3. geography (`geo.LocationFilter`: place, distance, country, state, sites without a map
   location), selection, matching and grouping (`search.select`), kept per (profile, place,
   filters) on the loaded set, so a rerun with the same inputs repeats no work;
4. export rows, the CSV, the sites table and the query record (`SearchResult`).

IO happens in steps 1 and 2 only; the rest is pure.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .client import RECRUITING, DataSource, FetchResult, RegistryClient, SearchQuery
from .config import load_settings
from .export import COLUMN_NAMES, csv_bytes, markdown_table, query_url, trial_row
from .geo import LocatedTrial, LocationFilter, Place
from .group import TrialGroup
from .match import TrialMatch
from .profile import Profile
from .search import Analysed, SearchOptions, SearchOutcome, select
from .source import get_studies

if TYPE_CHECKING:
    from .facetstore import FacetStore


class Stage(StrEnum):
    """What a progress report is about."""

    FETCH = "fetch"  # studies received from the registry (or the cache, or a snapshot)
    READ = "read"  # studies parsed and read into facets


# (stage, done, total): total is None while the registry has not said how many there are
Progress = Callable[[Stage, int, int | None], None]


@dataclass(frozen=True)
class DataRequest:
    """Which studies to load: what decides a fetch, and so the key of a loaded set."""

    statuses: tuple[str, ...] = (RECRUITING,)
    extra_terms: str = ""
    snapshot: str = ""  # a snapshot file; empty: TRIALS_HELPER_SNAPSHOT, else the registry
    max_studies: int | None = None
    offline: bool = False  # the cache only

    def query(self) -> SearchQuery:
        """The registry query: never a place (filter.geo), which is applied locally."""
        return SearchQuery(statuses=self.statuses, extra_terms=self.extra_terms)


@dataclass(frozen=True)
class SearchRequest:
    profile: Profile = field(default_factory=Profile)
    location: LocationFilter | None = None
    options: SearchOptions = field(default_factory=SearchOptions)
    data: DataRequest = field(default_factory=DataRequest)
    refresh: bool = False  # load again, past the HTTP cache and the kept set


class Dataset:
    """A loaded, analysed set of studies; searches on it are kept (most recent first)."""

    KEEP_RESULTS = 16

    def __init__(
        self, request: DataRequest, fetched: FetchResult, analysed: tuple[Analysed, ...], note=""
    ) -> None:
        self.request = request
        self.fetched = fetched
        self.analysed = analysed
        self.note = note  # said while loading (e.g. stored readings set aside)
        self.loaded_at = time.monotonic()
        self._results: OrderedDict[Hashable, SearchResult] = OrderedDict()
        self._lock = threading.Lock()

    def search(
        self,
        profile: Profile,
        location: LocationFilter | None = None,
        options: SearchOptions | None = None,
    ) -> SearchResult:
        options = options or SearchOptions()
        if self.fetched.source == DataSource.SNAPSHOT:
            # a snapshot may hold other statuses than the ones asked for
            options = replace(options, statuses=self.request.statuses)
        key = (profile, location, options)
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
        outcome = select(self.analysed, profile, location, options)
        result = SearchResult(self, profile, location, options, outcome)
        with self._lock:
            self._results[key] = result
            while len(self._results) > self.KEEP_RESULTS:
                self._results.popitem(last=False)
        return result


def load_dataset(
    client: RegistryClient,
    request: DataRequest,
    *,
    refresh: bool = False,
    store: FacetStore | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Fetch (or read the snapshot) and analyse: the only IO of a search. New studies are read
    on several processors when there are many (`readpool`)."""
    from .facetstore import FacetStore
    from .readpool import prestart, read_studies, worker_count

    workers = worker_count(client.settings.read_workers)
    prestart(workers)  # overlaps the fetch; used when many studies turn out to be new
    fetched = get_studies(
        client,
        request.query(),
        snapshot=request.snapshot,
        refresh=refresh,
        offline=request.offline,
        max_studies=request.max_studies,
        progress=(lambda n, total: progress(Stage.FETCH, n, total)) if progress else None,
    )
    store = store or FacetStore.for_settings(client.settings)
    analysed = read_studies(
        fetched.studies,
        store,
        workers=workers,
        progress=(lambda n, total: progress(Stage.READ, n, total)) if progress else None,
    )
    store.flush()
    return Dataset(request, fetched, tuple(analysed), store.note)


class DatasetCache:
    """Loaded sets by `DataRequest`, shared by every session of the app: at most
    `max_entries`, each kept `ttl` seconds. Two sessions asking for the same set while it loads
    wait for the one load."""

    def __init__(self, ttl: float = 3600.0, max_entries: int = 8) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._sets: OrderedDict[DataRequest, Dataset] = OrderedDict()
        self._loading: dict[DataRequest, threading.Lock] = {}
        self._lock = threading.Lock()

    def peek(self, request: DataRequest) -> Dataset | None:
        """The kept set, if any and still fresh (no loading)."""
        with self._lock:
            found = self._sets.get(request)
            if found is not None and time.monotonic() - found.loaded_at > self.ttl:
                del self._sets[request]
                found = None
            if found is not None:
                self._sets.move_to_end(request)  # least recently used goes first
            return found

    def get(
        self, request: DataRequest, load: Callable[[], Dataset], *, refresh: bool = False
    ) -> Dataset:
        if not refresh:
            found = self.peek(request)
            if found is not None:
                return found
        with self._lock:
            gate = self._loading.setdefault(request, threading.Lock())
        with gate:
            if not refresh:  # loaded by another session while this one waited
                found = self.peek(request)
                if found is not None:
                    return found
            dataset = load()
            with self._lock:
                self._sets[request] = dataset
                self._sets.move_to_end(request)
                while len(self._sets) > self.max_entries:
                    self._sets.popitem(last=False)
            return dataset

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


def run_search(
    request: SearchRequest,
    *,
    client: RegistryClient | None = None,
    cache: DatasetCache | None = None,
    store: FacetStore | None = None,
    progress: Progress | None = None,
) -> SearchResult:
    """The search, from data source to export rows; raises TrialsHelperError subclasses with
    messages to show as they are."""
    client = client or RegistryClient(load_settings())

    def load() -> Dataset:
        return load_dataset(
            client, request.data, refresh=request.refresh, store=store, progress=progress
        )

    dataset = cache.get(request.data, load, refresh=request.refresh) if cache else load()
    return dataset.search(request.profile, request.location, request.options)


MARKDOWN_COLUMNS = (
    "nct_id",
    "title",
    "match_level",
    "main_category",
    "phases",
    "nearest_site",
    "nearest_distance",
    "distance_unit",
)


class SearchResult:
    """What a search found, with everything the shells draw or write. Rows, the CSV and the
    query record are made once, when first asked for."""

    def __init__(
        self,
        dataset: Dataset,
        profile: Profile,
        location: LocationFilter | None,
        options: SearchOptions,
        outcome: SearchOutcome,
    ) -> None:
        self.dataset = dataset
        self.profile = profile
        self.location = location
        self.options = options
        self.outcome = outcome

    @property
    def fetched(self) -> FetchResult:
        return self.dataset.fetched

    @property
    def matches(self) -> list[TrialMatch]:
        return self.outcome.matches

    @property
    def groups(self) -> list[TrialGroup]:
        return self.outcome.groups

    @property
    def unit(self) -> str:
        return self.location.unit if self.location else "mi"

    @property
    def origin(self) -> Place | None:
        return self.location.origin if self.location else None

    @cached_property
    def query_url(self) -> str:
        return query_url(self.fetched.url, self.fetched.params)

    @cached_property
    def rows(self) -> list[dict[str, str]]:
        """One export row per trial, in the order shown (docs/export.md)."""
        date = self.fetched.data_date()
        return [
            trial_row(m, unit=self.unit, data_retrieved=date, query=self.query_url)
            for m in self.matches
        ]

    @cached_property
    def csv(self) -> bytes:
        return csv_bytes(self.rows)

    def located(self) -> list[LocatedTrial | Any]:
        """The matches with their located sites (for the map and the sites table)."""
        return [self.outcome.located.get(m.trial.nct_id, m.trial) for m in self.matches]

    @cached_property
    def site_frame(self) -> Any:
        """One row per site of the matches, with its distance from the place given."""
        from .geo import site_rows

        return site_rows(self.located(), self.origin, self.unit)

    def sites(self) -> Any:
        """The sites table (a pandas DataFrame, `geo.SITE_ROW_COLUMNS`)."""
        return self.site_frame

    def record(self) -> dict[str, Any]:
        """The query record: exactly what was asked and where the data came from."""
        loc = self.location
        return {
            "data_retrieved": self.fetched.data_date(),
            "source": self.fetched.source,
            "registry_total": self.fetched.total_count,
            "fetched": self.fetched.fetched,
            "complete": self.fetched.complete,
            "query_url": self.query_url,
            "params": self.fetched.params,
            "profile": self.profile.known(),
            "location": {
                "near": (loc.place or None) if loc else None,
                "place_found": loc.origin.label if loc and loc.origin else None,
                "radius": loc.radius if loc else None,
                "unit": self.unit,
                "country": loc.country if loc else None,
                "state": loc.state if loc else None,
                "include_without_coordinates": loc.include_without_coordinates if loc else False,
                "applied": "locally, on the studies fetched (no place is sent to the registry)",
            },
            "filters": {
                "statuses": self.dataset.request.statuses,
                "phases": self.options.phases,
                "categories": self.options.categories,
                "metastatic_only": self.options.metastatic_only,
            },
            "rows": len(self.matches),
        }

    def output(self, fmt: str) -> bytes:
        """The list as `csv`, `json` (with the query record) or `markdown`."""
        if fmt == "csv":
            return self.csv
        if fmt == "json":
            body = {"meta": self.record(), "trials": self.rows}
            return json.dumps(body, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        if fmt == "markdown":
            header = (
                f"# Metastatic breast cancer trials\n\n{self.fetched.source_line()}\n\n"
                f"Profile: {self.profile.subtype_label}. Query: `{self.query_url}`\n\n"
                "Not medical advice: discuss every trial with your oncologist.\n\n"
            )
            return (header + markdown_table(self.rows, MARKDOWN_COLUMNS)).encode("utf-8")
        raise ValueError(f"unknown format {fmt!r}; use csv, json or markdown")


__all__ = [
    "COLUMN_NAMES",
    "DataRequest",
    "Dataset",
    "DatasetCache",
    "Progress",
    "SearchRequest",
    "SearchResult",
    "Stage",
    "load_dataset",
    "run_search",
]
