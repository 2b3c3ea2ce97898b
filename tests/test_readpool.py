"""Reading many new studies on several processors (trials_helper.readpool): the same readings as
reading here, stored the same way, and a pool that cannot start or breaks costs nothing but
time."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from tests.registry_fakes import real_studies
from trials_helper import readpool
from trials_helper.config import SettingsError, load_settings
from trials_helper.facetstore import FacetStore
from trials_helper.search import analyse
from trials_helper.studies import parse_study

STUDIES = real_studies()


def test_a_pool_reads_what_this_process_reads_and_the_store_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setattr(readpool, "PARALLEL_FROM", 2)  # the recorded set is small
    started = []
    real_start = readpool.start_pool
    monkeypatch.setattr(readpool, "start_pool", lambda n: started.append(n) or real_start(n))
    steps: list[tuple[int, int]] = []
    store = FacetStore(tmp_path / "facets.sqlite")
    pooled = readpool.read_studies(
        STUDIES, store, workers=2, progress=lambda d, t: steps.append((d, t))
    )
    assert started == [2]
    here = analyse(STUDIES)
    assert [a.trial.nct_id for a in pooled] == [a.trial.nct_id for a in here]
    assert [a.facets for a in pooled] == [a.facets for a in here]
    assert [a.trial.sites for a in pooled] == [a.trial.sites for a in here]  # sites kept here
    assert steps[-1] == (len(here), len(here))
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    store.flush()
    # the next load: every reading is stored, no pool is started
    again = FacetStore(tmp_path / "facets.sqlite")
    second = readpool.read_studies(STUDIES, again, workers=2)
    assert started == [2] and again.misses == 0
    assert [a.facets for a in second] == [a.facets for a in here]


def test_few_new_studies_or_one_worker_read_here(tmp_path, monkeypatch):
    monkeypatch.setattr(readpool, "start_pool", lambda n: pytest.fail("no pool for this"))
    few = readpool.read_studies(STUDIES[:5], FacetStore(None), workers=4)  # under PARALLEL_FROM
    monkeypatch.setattr(readpool, "PARALLEL_FROM", 1)
    one = readpool.read_studies(STUDIES[:5], FacetStore(None), workers=1)
    assert (
        [a.facets for a in few]
        == [a.facets for a in one]
        == [a.facets for a in analyse(STUDIES[:5])]
    )


class _BrokenPool:
    """A pool whose workers died: every slice fails as a real broken pool's would."""

    def submit(self, fn, *args):
        future: Future = Future()
        future.set_exception(BrokenProcessPool("a worker process ended abruptly"))
        return future


def test_a_broken_pool_leaves_the_reading_to_this_process(caplog):
    trials = [parse_study(s) for s in STUDIES[:6]]
    read = readpool.read_trials(trials, _BrokenPool(), workers=2)
    assert read == [a.facets for a in analyse(STUDIES[:6])]
    assert "reading the rest here" in caplog.text


def test_a_pool_that_cannot_start_is_no_pool(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(readpool, "ProcessPoolExecutor", refuse)
    assert readpool.start_pool(2) is None
    assert "could not be started" in caplog.text


def test_worker_setting(monkeypatch):
    assert 1 <= readpool.worker_count(0) <= readpool.MAX_AUTO_WORKERS
    assert readpool.worker_count(3) == 3
    assert load_settings({"TRIALS_HELPER_READ_WORKERS": "1"}).read_workers == 1
    with pytest.raises(SettingsError, match="TRIALS_HELPER_READ_WORKERS"):
        load_settings({"TRIALS_HELPER_READ_WORKERS": "many"})


def test_worker_processes_importing_the_app_script_do_not_run_the_page(monkeypatch):
    """multiprocessing imports the main module again in each worker (as "__mp_main__"); under
    Streamlit that module is streamlit_app.py, which ran the whole page in every worker (a
    first load went from 7 s to 11 s) until the script was guarded."""
    import runpy

    import app.main
    from tests.conftest import ROOT

    monkeypatch.setattr(app.main, "run", lambda: pytest.fail("the page ran in a worker"))
    runpy.run_path(str(ROOT / "streamlit_app.py"), run_name="__mp_main__")


class _InlinePool:
    """A pool that runs each slice at once, here, and counts the slices."""

    def __init__(self) -> None:
        self.slices: list[int] = []

    def submit(self, fn, part):
        assert not any(t.sites for t in part)  # the reader never looks at sites: not sent
        self.slices.append(len(part))
        future: Future = Future()
        future.set_result(fn(part))
        return future


def test_the_studies_are_shared_in_slices_with_their_sites_left_here():
    trials = [parse_study(s) for s in STUDIES]
    pool = _InlinePool()
    workers = 2
    read = readpool.read_trials(trials, pool, workers=workers)
    assert read == [a.facets for a in analyse(STUDIES)]
    assert sum(pool.slices) == len(trials)
    assert len(pool.slices) == -(-len(trials) // -(-len(trials) // (workers * 4)))  # ~4 each
    assert len(pool.slices) > workers  # not one slice for one worker


def test_the_worker_server_is_started_while_the_studies_are_loaded(monkeypatch, tmp_path):
    """A load starts the process workers come from before it fetches, so its imports overlap
    the fetch (prestart does nothing for one worker: next test)."""
    import json

    from trials_helper.client import RegistryClient
    from trials_helper.pipeline import DataRequest, load_dataset

    calls: list[int] = []
    monkeypatch.setattr(readpool, "prestart", calls.append)
    snapshot = tmp_path / "studies.json"
    snapshot.write_text(json.dumps(STUDIES[:3]), encoding="utf-8")
    for setting in (3, 1):
        settings = load_settings({}, cache_dir=str(tmp_path / "c"), read_workers=setting)
        load_dataset(RegistryClient(settings), DataRequest(snapshot=str(snapshot)))
    assert calls == [3, 1]


def test_prestart_starts_the_worker_server_only_for_several_workers(monkeypatch):
    import multiprocessing

    started: list[int] = []
    monkeypatch.setattr("multiprocessing.forkserver.ensure_running", lambda: started.append(1))
    readpool.prestart(1)
    assert started == []
    readpool.prestart(2)
    has_forkserver = "forkserver" in multiprocessing.get_all_start_methods()
    assert started == ([1] if has_forkserver else [])
