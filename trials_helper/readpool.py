"""Reading many new studies on several processors: the first load of a registry-sized set.

Reading eligibility text is pure CPU work on plain data, about 2 ms a study on one core, so the
registry's thousand recruiting studies take 2 s the first time (later loads use the stored
readings, `facetstore`). When at least `PARALLEL_FROM` studies are new, worker processes share
the reading: each gets slices of the studies as `Trial`s without their sites (the reader never
looks at them) and sends back the same frozen `TrialFacets` the facet store keeps, so a reading
is the same wherever it was made.

The pool is started as soon as the count of new studies is known, and the workers import and
compile the reader while this process parses the records; it is closed when the load is done.
Workers come from multiprocessing's forkserver where the system has one (a clean process, safe
beside the app server's threads), else from spawn. Below `PARALLEL_FROM`, or with one worker
(`TRIALS_HELPER_READ_WORKERS=1`), reading stays in this process: starting workers would cost
more than it saves. A pool that cannot start or breaks (a worker killed) is not retried: what is
left is read here, so a load never fails for want of workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from .facets import TrialFacets, classify_trial
from .facetstore import FacetStore, study_key
from .reading import warm_up
from .search import Analysed
from .studies import Trial, parse_study

log = logging.getLogger(__name__)

PARALLEL_FROM = 200  # new studies; fewer are read here
MAX_AUTO_WORKERS = 8
SLICES_PER_WORKER = 4  # smaller slices even out the work and let progress move

Progress = Callable[[int, int], None]  # (studies done, of how many)


def worker_count(setting: int) -> int:
    """`TRIALS_HELPER_READ_WORKERS`: 0 means one per processor this process may use."""
    if setting > 0:
        return setting
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_AUTO_WORKERS))


def _ready() -> bool:
    return True


def _read(trials: Sequence[Trial]) -> list[TrialFacets]:
    return [classify_trial(t) for t in trials]


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # the reader imported and its tables built once, in the server: workers start ready
        context.set_forkserver_preload([__name__, "trials_helper.reading.warmed"])
        return context
    return multiprocessing.get_context("spawn")


def prestart(workers: int) -> None:
    """Start the process workers are made from now, while the studies are fetched or loaded, so
    its imports are done by the time a large load needs workers (nothing to do for one worker,
    or where workers are spawned afresh). Best effort: a failure here shows at `start_pool`."""
    if workers <= 1 or "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver

    try:
        _context()
        forkserver.ensure_running()
    except (OSError, RuntimeError, ValueError) as exc:
        log.info("could not start the worker server early (%s)", exc)


def start_pool(workers: int) -> Executor | None:
    """A pool of `workers` processes, already starting (None if it cannot be started)."""
    try:
        pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=warm_up)
        for _ in range(workers):
            pool.submit(_ready)  # start every worker now, not at the first slice
    except (OSError, RuntimeError, ValueError) as exc:
        log.warning("worker processes could not be started (%s); reading here", exc)
        return None
    return pool


class _Reading:
    """New trials handed over as they are parsed. Once a pool is attached, each full slice goes
    to a worker at once, so reading starts while the rest is still being parsed; `finish()`
    gives the facets in order, reading here whatever a broken pool did not."""

    def __init__(self, expected: int, progress: Progress | None, done: int, total: int) -> None:
        self.expected = expected
        self.progress, self.done, self.total = progress, done, total
        self.pool: Executor | None = None
        self.size = 0
        self.trials: list[Trial] = []
        self.slices: list[tuple[int, Future]] = []
        self.sent = 0  # trials handed to the pool so far

    def attach(self, pool: Executor | None, workers: int) -> None:
        if pool is not None:
            self.pool = pool
            self.size = max(1, -(-self.expected // (workers * SLICES_PER_WORKER)))
            self._send()

    def add(self, trial: Trial) -> None:
        self.trials.append(trial)
        if self.pool is not None:
            self._send()

    def _send(self, last: bool = False) -> None:
        """Hand over every full slice (and, when `last`, what is left)."""
        while self.pool is not None and (
            len(self.trials) - self.sent >= self.size or (last and self.sent < len(self.trials))
        ):
            end = min(self.sent + self.size, len(self.trials))
            part = [replace(t, sites=()) for t in self.trials[self.sent : end]]  # sites unread
            try:
                self.slices.append((self.sent, self.pool.submit(_read, part)))
            except Exception as exc:  # noqa: BLE001 - a pool that broke: read the rest here
                log.warning("reading in worker processes failed (%s); reading the rest here", exc)
                self.pool = None
                return
            self.sent = end

    def step(self, n: int, every: int = 1) -> None:
        self.done += n
        if self.progress is not None and (self.done % every == 0 or self.done == self.total):
            self.progress(self.done, self.total)

    def finish(self) -> list[TrialFacets]:
        self._send(last=True)
        out: list[TrialFacets | None] = [None] * len(self.trials)
        for start, future in self.slices:
            try:
                got = future.result()
            except Exception as exc:  # noqa: BLE001 - a broken pool: read the rest here
                log.warning("reading in worker processes failed (%s); reading the rest here", exc)
                break
            out[start : start + len(got)] = got
            self.step(len(got))
        for n, trial in enumerate(self.trials):
            if out[n] is None:
                out[n] = classify_trial(trial)
                self.step(1, every=50)
        return [f for f in out if f is not None]


def read_trials(
    trials: Sequence[Trial],
    pool: Executor | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> list[TrialFacets]:
    """Every trial's facets, in order: on the pool of `workers` processes when there is one,
    else here."""
    reading = _Reading(len(trials), progress, done_before, total or len(trials))
    reading.attach(pool, workers)
    for trial in trials:
        reading.add(trial)
    return reading.finish()


class _Starter:
    """A pool started on a thread: the wait for the new processes overlaps the parsing."""

    def __init__(self, workers: int) -> None:
        self._found: list[Executor | None] = []
        self._thread = threading.Thread(target=lambda: self._found.append(start_pool(workers)))
        self._thread.start()

    def ready(self) -> bool:
        return not self._thread.is_alive()

    def pool(self) -> Executor | None:
        self._thread.join()
        return self._found[0] if self._found else None


def read_studies(
    studies: Sequence[Mapping[str, Any]],
    store: FacetStore,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[Analysed]:
    """Parse every study once (duplicates of an NCT id kept once) and read the ones the store
    does not hold, on `workers` processes when many are new. `search.analyse` without the pool
    and the store."""
    keys = [study_key(s) for s in studies]
    stored = {k: f for k in dict.fromkeys(keys) if (f := store.lookup(k)) is not None}
    new = sum(k not in stored for k in keys)
    starter = _Starter(workers) if workers > 1 and new >= PARALLEL_FROM else None
    reading = _Reading(new, progress, 0, len(studies))
    kept: list[tuple[str, Trial]] = []
    try:
        seen: set[str] = set()
        for study, key in zip(studies, keys, strict=True):
            if starter is not None and reading.pool is None and starter.ready():
                reading.attach(starter.pool(), workers)
            trial = parse_study(study)
            if trial.nct_id and trial.nct_id in seen:
                continue
            seen.add(trial.nct_id)
            kept.append((key, trial))
            if key not in stored:
                reading.add(trial)
        if starter is not None and reading.pool is None:
            reading.attach(starter.pool(), workers)
        reading.total = len(kept)
        if len(kept) > len(reading.trials):
            reading.step(len(kept) - len(reading.trials))  # the stored readings
        made = reading.finish()
    finally:
        pool = starter.pool() if starter is not None else None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    new_keys = [key for key, _trial in kept if key not in stored]
    for key, facets in zip(new_keys, made, strict=True):
        store.keep(key, facets)
        stored[key] = facets
    if progress is not None and not kept:
        progress(0, 0)
    return [Analysed(trial, stored[key]) for key, trial in kept]
