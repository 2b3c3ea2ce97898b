"""The app's side of the search pipeline: one client, one set of loaded studies and one store of
readings per process, and a progress bar while a set loads.

`trials_helper.pipeline.run_search` does the work. The loaded sets (`DatasetCache`: fetched once
per choice of statuses, parsed and read once) and each search on them (per profile, place and
filters) are kept, so a widget change that does not change the statuses makes no request and
repeats no reading; a change that gives the same inputs again repeats nothing.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator

import streamlit as st

from trials_helper import geo, reading
from trials_helper.client import RegistryClient
from trials_helper.config import load_settings
from trials_helper.facetstore import FacetStore
from trials_helper.pipeline import DatasetCache, SearchRequest, SearchResult, Stage, run_search

DATASET_TTL = 3600  # seconds a loaded set is used before it is loaded again (from the cache)
DATASETS_KEPT = 8


@st.cache_resource(show_spinner=False)
def client() -> RegistryClient:
    return RegistryClient(load_settings())


@st.cache_resource(show_spinner=False)
def datasets() -> DatasetCache:
    return DatasetCache(ttl=DATASET_TTL, max_entries=DATASETS_KEPT)


@st.cache_resource(show_spinner=False)
def facet_store() -> FacetStore:
    return FacetStore.for_settings(client().settings)


def _background(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Once per process, in the background while the first set is fetched: the reader's
    tables, so the first cards' questions do not wait for them (a tenth of a second)."""
    return _background(reading.warm_up, "trials-helper-warm-reader")


class Quiet:
    """Whether a page is being drawn in any session. Background work waits at its pauses until
    none has been for `SETTLE` seconds (threads share one interpreter lock, and the browser the
    processors: a page drawn beside it took up to three times as long)."""

    SETTLE = 0.5  # seconds after the last page was drawn

    def __init__(self) -> None:
        self._drawing = 0
        self._last = 0.0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def drawing(self) -> Iterator[None]:
        with self._changed:
            self._drawing += 1
        try:
            yield
        finally:
            with self._changed:
                self._drawing -= 1
                self._last = time.monotonic()
                self._changed.notify_all()

    def wait(self) -> None:
        """Return once no page has been drawn for SETTLE seconds."""
        with self._changed:
            while True:
                if self._drawing:
                    self._changed.wait()
                    continue
                left = self._last + self.SETTLE - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)


@st.cache_resource(show_spinner=False)
def quiet() -> Quiet:
    return Quiet()


class Housekeeper:
    """One background thread per process for the work no page waits for, done only while no
    page is being drawn (`Quiet`):

    - the place indexes, once, after the first results (about half a second of work), so
      typing the first place does not wait for them; started before the first results, the
      work slowed the first load by more than a second;
    - after each load of a study set, the heap is tidied: what is there (the loaded studies,
      their readings, the place indexes) is frozen out of the collector's way (`gc.freeze`).
      Without it, every page drawn ended with a full collection over a thousand studies'
      objects (0.25-0.3 s with the interpreter lock held, before any of the page reached the
      browser: most of a profile change). Later tidies unfreeze and collect first (0.3 s, while
      no page is drawn), so a set dropped from the cache is still freed.
    """

    def __init__(self, quiet: Quiet) -> None:
        self._quiet = quiet
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._places_due = self._tidy_due = False
        self.places_done = threading.Event()
        self.tidied = 0  # tidies done (tests wait on it)
        _background(self._loop, "trials-helper-housekeeping")

    def after_load(self) -> None:
        with self._lock:
            self._tidy_due = True
        self._wake.set()

    def warm_places(self) -> None:
        with self._lock:
            if self.places_done.is_set():
                return
            self._places_due = self._tidy_due = True
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._quiet.wait()  # the page that asked is drawn first
            self._wake.clear()
            with self._lock:
                places, tidy = self._places_due, self._tidy_due
                self._places_due = self._tidy_due = False
            if places:
                geo.warm_up(self._quiet.wait)
                self.places_done.set()
            if tidy:
                self._quiet.wait()
                if self.tidied:  # a set may have been dropped since: collect it first
                    gc.unfreeze()
                    gc.collect()
                gc.freeze()
                self.tidied += 1


@st.cache_resource(show_spinner=False)
def housekeeper() -> Housekeeper:
    return Housekeeper(quiet())


class _ProgressBar:
    """A bar that says what is happening: fetching, then reading each trial."""

    FETCH_SHARE = 0.3  # of the bar; reading takes the rest

    def __init__(self) -> None:
        self.bar = st.progress(0.0, text="Fetching recruiting trials from ClinicalTrials.gov…")

    def __call__(self, stage: Stage, done: int, total: int | None) -> None:
        if stage == Stage.FETCH:
            of = f" of {total:,}" if total else ""
            share = done / total if total else 0.0
            text = f"Fetching recruiting trials from ClinicalTrials.gov: {done:,}{of}…"
            self.bar.progress(min(1.0, self.FETCH_SHARE * share), text=text)
        else:
            share = done / total if total else 1.0
            text = f"Reading the eligibility criteria: {done:,} of {total or done:,} trials…"
            self.bar.progress(min(1.0, self.FETCH_SHARE + (1 - self.FETCH_SHARE) * share), text)

    def close(self) -> None:
        self.bar.empty()


def search(request: SearchRequest) -> SearchResult:
    """run_search with this process's client, loaded sets and readings. A progress bar shows
    only when a set has to be loaded (the first visit, a new status choice, a refresh)."""
    bar = None
    if request.refresh or datasets().peek(request.data) is None:
        bar = _ProgressBar()
    collecting = gc.isenabled()
    if bar is not None:
        # a load builds a thousand studies' objects that all stay: the collector's passes over
        # them while they are made found nothing (the tidy after the page freezes them)
        gc.disable()
    try:
        result = run_search(
            request, client=client(), cache=datasets(), store=facet_store(), progress=bar
        )
    finally:
        if collecting:
            gc.enable()
        if bar is not None:
            bar.close()
    if bar is not None:
        housekeeper().after_load()  # once this page is drawn
    return result


def notes(result: SearchResult) -> str:
    """What to say under the data line: the cache as it is now (a shared Redis can stop, or
    come back, after this set was loaded and kept) and what loading the set said."""
    return " ".join(x for x in (client().cache_status.note, result.dataset.note) if x)
