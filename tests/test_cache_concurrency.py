"""Two processes refreshing one SQLite cache at once, against the local stand-in.

Why: several app sessions (or the CLI next to the app) share the cache folder. Concurrent
writers must neither lose an answer nor corrupt the file; a "database is locked" that escaped,
or a file the next start has to set aside, would show up here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.standin import RegistryStandIn
from trials_helper.client import RegistryClient, SearchQuery
from trials_helper.config import load_settings

PAGE = 5
ROUNDS = 4

# One worker: wait for the go signal, then refresh the same search ROUNDS times.
WORKER = """
import json, sys, time
from pathlib import Path
from trials_helper.client import RegistryClient, SearchQuery
from trials_helper.config import load_settings

api_url, cache_dir, folder, name, rounds, page = sys.argv[1:7]
client = RegistryClient(load_settings(
    {}, api_url=api_url, cache_dir=cache_dir, page_size=int(page), retries=2, backoff=0.0
))
client.session  # open the cache before the start line
Path(folder, "ready-" + name).touch()
while not Path(folder, "go").exists():
    time.sleep(0.005)
runs = []
for _ in range(int(rounds)):
    start = time.time()
    result = client.fetch(SearchQuery.recruiting(include_not_yet=True), refresh=True)
    runs.append({
        "ids": [s["protocolSection"]["identificationModule"]["nctId"] for s in result.studies],
        "studies": result.studies,
        "complete": result.complete,
        "total": result.total_count,
        "source": result.source,
        "start": start,
        "end": time.time(),
    })
client.close()
print(json.dumps({"note": client.cache_status.note, "runs": runs}))
"""


def _start_workers(server, cache_dir, folder, n=2) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree, not an installed copy
    args = [server.api_url, str(cache_dir), str(folder)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args, str(i), str(ROUNDS), str(PAGE)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    deadline = time.monotonic() + 20
    while len(list(folder.glob("ready-*"))) < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            pytest.fail("workers did not start: " + " | ".join(p.stderr.read() for p in procs))
        time.sleep(0.01)
    (folder / "go").touch()
    return procs


def test_two_processes_refreshing_one_cache_lose_and_corrupt_nothing(tmp_path):
    cache_dir, folder = tmp_path / "cache", tmp_path / "signals"
    folder.mkdir()
    query = SearchQuery.recruiting(include_not_yet=True)
    with RegistryStandIn(latency=0.002) as server:
        expected = [r.nct_id for r in server.registry.matching(query.params(PAGE))]
        procs = _start_workers(server, cache_dir, folder)
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            outputs.append(json.loads(out))
        requests_served = server.request_count
        api_url = server.api_url

    pages = -(-len(expected) // PAGE)
    assert len(expected) > 30 and pages >= 7
    assert requests_served == 2 * ROUNDS * pages  # every refresh really went to the registry
    reference = outputs[0]["runs"][0]["studies"]
    for output in outputs:
        assert output["note"] == ""  # the cache was never set aside or replaced
        for run in output["runs"]:
            assert run["ids"] == expected  # complete, in order, nothing doubled
            assert run["complete"] and run["total"] == len(expected)
            assert run["source"] == "registry"
            assert run["studies"] == reference
    # The two processes really worked at the same time.
    a, b = (o["runs"] for o in outputs)
    assert a[0]["start"] < b[-1]["end"] and b[0]["start"] < a[-1]["end"]

    db = cache_dir / "http_cache.sqlite"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not list(cache_dir.glob("*.corrupt-*"))

    # A third start opens the cache as it is and answers the search from it alone.
    later = RegistryClient(
        load_settings({}, api_url=api_url, cache_dir=str(cache_dir), page_size=PAGE, retries=0)
    )
    try:
        offline = later.fetch(query, offline=True)
        assert later.cache_status.backend == "sqlite" and later.cache_status.note == ""
    finally:
        later.close()
    assert offline.source == "cache" and offline.studies == reference
    assert offline.pages == pages
