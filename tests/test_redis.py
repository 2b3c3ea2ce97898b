"""A shared Redis cache that stops and returns, with a real redis-server (issue #16.3 and
"several navigators at once").

Why: a centre runs several app processes behind one Redis. When Redis stops, each page used to
show `redis.exceptions.ConnectionError` with a traceback; now answers are kept in memory with a
note, and Redis is used again once it answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, summary_counts
from tests.redis_server import REDIS_SERVER, RedisServer
from tests.standin import RegistryStandIn
from trials_helper import cache as cache_module
from trials_helper.client import RegistryClient, SearchQuery
from trials_helper.config import load_settings

APP = str(ROOT / "streamlit_app.py")
PAGE = 10


def keys(server: RedisServer) -> int:
    import redis

    return int(redis.Redis.from_url(server.url).dbsize())


@pytest.fixture
def redis_server(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (.ci/run installs it with apt: redis-server)")
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def registry():
    with RegistryStandIn() as s:
        yield s


def client_on(redis_url: str, registry) -> RegistryClient:
    return RegistryClient(
        load_settings(
            {"TRIALS_HELPER_CACHE_BACKEND": redis_url},
            api_url=registry.api_url,
            page_size=PAGE,
            retries=0,
        )
    )


def test_redis_stopping_mid_run_falls_back_to_memory_and_recovers(
    redis_server, registry, monkeypatch
):
    first = client_on(redis_server.url, registry)
    assert first.fetch().source == "registry" and keys(redis_server) > 0
    second = client_on(redis_server.url, registry)  # another app process
    served = registry.request_count
    assert second.fetch().source == "cache" and registry.request_count == served

    monkeypatch.setattr(cache_module, "REDIS_RECHECK_SECONDS", 0.0)
    redis_server.stop()
    result = first.fetch(SearchQuery.recruiting(include_not_yet=True))  # a new search
    assert result.source == "registry" and result.fetched > 0
    note = first.cache_status.note
    assert "has not answered since" in note and "kept in memory" in note
    again = first.fetch(SearchQuery.recruiting(include_not_yet=True))
    assert again.source == "cache"  # the memory cache serves meanwhile

    redis_server.start()  # back, empty, on the same port
    assert first.fetch().source == "registry"
    assert first.cache_status.note == ""
    assert keys(redis_server) > 0  # written to Redis again


def test_the_page_keeps_working_with_a_note_when_redis_stops(redis_server, registry, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("TRIALS_HELPER_CACHE_BACKEND", redis_server.url)
    monkeypatch.setenv("TRIALS_HELPER_API_URL", registry.api_url)
    monkeypatch.setenv("TRIALS_HELPER_RETRIES", "0")
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=120).run()
        assert not at.exception and summary_counts(at)[0] > 0
        redis_server.stop()
        at.checkbox(key="include_nyr").check()  # a new load, while Redis is down
        at.run()
        assert not at.exception and not at.error
        assert summary_counts(at)[0] > 0
        assert any("has not answered since" in c.value for c in at.caption)
    finally:
        st.cache_resource.clear()


# One app process: renders the page (AppTest) each time it reads a line, and says what it showed.
# st.cache_resource lives as long as the process, as in `streamlit run`.
WORKER = """
import json, sys
from streamlit.testing.v1 import AppTest
from tests.conftest import summary_counts

app = sys.argv[1]
for line in sys.stdin:
    at = AppTest.from_file(app, default_timeout=120)
    at.run()
    if line.strip() == "not-yet":
        at.checkbox(key="include_nyr").check()
        at.run()
    print(json.dumps({
        "exception": [str(e.value) for e in at.exception],
        "errors": [e.value for e in at.error],
        "found": (summary_counts(at) or [None])[0],
        "banner": [m.value for m in (*at.info, *at.warning)],
        "captions": [c.value for c in at.caption],
    }), flush=True)
"""


def test_two_app_processes_share_redis_and_survive_it_stopping(redis_server, registry, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRIALS_HELPER_CACHE_BACKEND": redis_server.url,
        "TRIALS_HELPER_API_URL": registry.api_url,
        "TRIALS_HELPER_RETRIES": "0",
        "TRIALS_HELPER_CACHE_DIR": str(tmp_path / "unused"),
    }
    apps = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, APP],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]

    def show(app, what="default") -> dict:
        app.stdin.write(what + "\n")
        app.stdin.flush()
        line = app.stdout.readline()
        assert line, app.stderr.read()
        return json.loads(line)

    try:
        one = show(apps[0])
        assert not one["exception"] and not one["errors"] and one["found"] > 0
        assert any("live from the registry" in b for b in one["banner"])
        served = registry.request_count
        two = show(apps[1])  # the second process answers from the shared cache
        assert not two["exception"] and two["found"] == one["found"]
        assert any("from the cache; results as of" in b for b in two["banner"])
        assert registry.request_count == served

        redis_server.stop()
        start = time.monotonic()
        for app in apps:
            page = show(app, "not-yet")  # a search neither process has kept
            assert not page["exception"] and not page["errors"], page
            assert page["found"] > 0
            assert any("has not answered since" in c for c in page["captions"]), page
        assert time.monotonic() - start < 60
    finally:
        for app in apps:
            app.stdin.close()
            try:
                app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
        for app in apps:
            app.stdout.close()
            app.stderr.close()
