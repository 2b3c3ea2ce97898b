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


def start_pool(workers: int) -> Executor | None:
    """A pool of `workers` processes, already starting (None if it cannot be started)."""
    try:
        if "forkserver" in multiprocessing.get_all_start_methods():
            context: Any = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])  # the reader imported once, in the server
        else:
            context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=warm_up)
        for _ in range(workers):
            pool.submit(_ready)  # start every worker now, not at the first slice
    except (OSError, RuntimeError, ValueError) as exc:
        log.warning("worker processes could not be started (%s); reading here", exc)
        return None
    return pool


def read_trials(
    trials: Sequence[Trial],
    pool: Executor | None = None,
    *,
    progress: Progress | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> list[TrialFacets]:
    """Every trial's facets, in order: on the pool when there is one, else here."""
    total = total if total is not None else len(trials)
    out: list[TrialFacets | None] = [None] * len(trials)
    done = done_before
    if pool is not None and trials:
        size = max(1, -(-len(trials) // (_workers(pool) * SLICES_PER_WORKER)))
        slices = [(i, trials[i : i + size]) for i in range(0, len(trials), size)]
        try:
            futures: list[tuple[int, Future]] = [
                (i, pool.submit(_read, [replace(t, sites=()) for t in part])) for i, part in slices
            ]
            for i, future in futures:
                got = future.result()
                out[i : i + len(got)] = got
                done += len(got)
                if progress is not None:
                    progress(done, total)
        except Exception as exc:  # noqa: BLE001 - a broken pool: read the rest here
            log.warning("reading in worker processes failed (%s); reading the rest here", exc)
    for n, (trial, facets) in enumerate(zip(trials, out, strict=True)):
        if facets is None:
            out[n] = classify_trial(trial)
            done += 1
            if progress is not None and (done % 50 == 0 or done == total):
                progress(done, total)
    return [f for f in out if f is not None]


def _workers(pool: Executor) -> int:
    return getattr(pool, "_max_workers", 1) or 1


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
    pool = start_pool(workers) if workers > 1 and new >= PARALLEL_FROM else None
    try:
        kept: list[tuple[str, Trial]] = []
        seen: set[str] = set()
        for study, key in zip(studies, keys, strict=True):
            trial = parse_study(study)
            if not (trial.nct_id and trial.nct_id in seen):
                seen.add(trial.nct_id)
                kept.append((key, trial))
        to_read = [(key, trial) for key, trial in kept if key not in stored]
        done = len(kept) - len(to_read)
        if progress is not None and done:
            progress(done, len(kept))
        made = read_trials(
            [t for _, t in to_read], pool, progress=progress, done_before=done, total=len(kept)
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    for (key, _trial), facets in zip(to_read, made, strict=True):
        store.keep(key, facets)
        stored[key] = facets
    if progress is not None and not kept:
        progress(0, 0)
    return [Analysed(trial, stored[key]) for key, trial in kept]
