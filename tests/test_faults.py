"""The registry client against the local stand-in under faults, through real sockets.

`responses` mocks stop at the adapter, so they cannot show that urllib3's retries, Retry-After
waits, read timeouts, connection resets and the SQLite cache really work together. These tests do:
every fault that can be retried must still give the complete recorded data, identical to the
files; every fault that cannot must give a `RegistryError` that says what failed and what to do,
and never a partial result that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ROOT
from tests.standin import RegistryStandIn
from trials_helper.client import FIELDS, RegistryClient, SearchQuery
from trials_helper.config import load_settings
from trials_helper.errors import (
    RegistryDataError,
    RegistryError,
    RegistryHTTPError,
    RegistryUnreachable,
)
from trials_helper.studies import parse_study

PAGE = 10


@pytest.fixture
def make_client(server, tmp_path):
    """Clients on one cache folder (a second client is a second run of the app)."""
    made = []

    def make(*, on=None, **overrides) -> RegistryClient:
        values = dict(
            api_url=(on or server).api_url,
            cache_dir=str(tmp_path / "cache"),
            retries=2,
            backoff=0.0,
            read_timeout=5.0,
            max_retry_wait=5.0,
            page_size=PAGE,
        )
        values.update(overrides)
        client = RegistryClient(load_settings({}, **values))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def nct(study: dict) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


def subtrees(study: dict, paths) -> dict:
    """The recorded study cut to `fields` paths (module or one level below), as the API does."""
    out: dict = {}
    for path in paths:
        section, module, *leaf = path.split(".")
        value = study.get(section, {}).get(module)
        if value is None:
            continue
        if leaf:
            if leaf[0] in value:
                out.setdefault(section, {}).setdefault(module, {})[leaf[0]] = value[leaf[0]]
        else:
            out.setdefault(section, {})[module] = value
    return out


def expected_ids(server, query: SearchQuery) -> list[str]:
    return [r.nct_id for r in server.registry.matching(query.params(PAGE))]


def assert_identical(result, server, files, query: SearchQuery | None = None) -> None:
    """Complete, in order, and every study equal to its file cut to the requested fields."""
    query = query or SearchQuery()
    wanted = expected_ids(server, query)
    assert len(wanted) > 3 * PAGE  # several pages, so faults fall mid-walk
    assert [nct(s) for s in result.studies] == wanted
    assert result.complete and result.total_count == len(wanted)
    for study in result.studies:
        source = files[nct(study)]
        assert study == (subtrees(source, query.fields) if query.fields else source)
        if query.statuses:
            assert study["protocolSection"]["statusModule"]["overallStatus"] in query.statuses


def served(server) -> list[tuple[str | None, int | None]]:
    """(pageToken, status) of each request the stand-in saw."""
    return [(r.params.get("pageToken"), r.status) for r in server.log]


# -- faults the client must ride out --------------------------------------------------------------
@pytest.mark.parametrize("fault", ["500", "502", "503", "504", "reset", "disconnect"])
def test_a_passing_fault_mid_walk_is_retried_and_the_result_is_identical(
    server, make_client, files, fault
):
    server.faults.extend(["ok", fault])  # the second page fails once
    result = make_client().fetch()
    assert_identical(result, server, files)
    assert result.source == "registry" and result.pages == 4
    log = served(server)
    assert len(log) == 5
    assert log[1][0] is not None and log[2][0] == log[1][0]  # the same page asked again
    assert server.log[1].fault is not None and log[2][1] == 200


def test_429_waits_for_retry_after_then_gives_the_identical_result(server, make_client, files):
    server.faults.extend(["ok", "429:retry-after=1"])
    start = time.monotonic()
    result = make_client().fetch()
    assert_identical(result, server, files)
    waited = server.log[2].started - server.log[1].started
    assert 0.95 <= waited < 2.0  # it really waited the second it was asked to, and no more
    assert time.monotonic() - start >= 0.95


def test_a_slow_answer_past_the_read_timeout_is_abandoned_and_retried(server, make_client, files):
    server.faults.extend(["ok", "slow:3"])
    start = time.monotonic()
    result = make_client(read_timeout=0.5).fetch()
    assert_identical(result, server, files)
    gap = server.log[2].started - server.log[1].started
    assert 0.45 <= gap < 2.0  # gave up after the read timeout, did not wait the 3 s
    assert time.monotonic() - start < 2.5


def test_several_faults_in_a_row_within_the_bound(server, make_client, files):
    server.faults.extend(["reset", "503", "429:retry-after=0"])
    result = make_client(retries=3).fetch()
    assert_identical(result, server, files)
    assert server.request_count == result.pages + 3


def test_one_empty_page_with_a_token_is_followed_to_the_data(server, make_client, files):
    """The client follows an empty page's token; here it asks for the same page again."""
    server.faults.extend(["ok", "empty-with-token"])
    result = make_client().fetch()
    assert_identical(result, server, files)
    assert result.pages == 5


def test_a_page_missing_modules_is_passed_on_and_parses(server, make_client, files):
    """Records without modules are normal (partial records); nothing may crash on them."""
    server.faults.extend(["ok", "missing-fields"])
    result = make_client().fetch()
    assert [nct(s) for s in result.studies] == expected_ids(server, SearchQuery())
    lean = result.studies[PAGE : 2 * PAGE]
    assert all(set(s["protocolSection"]) == {"identificationModule"} for s in lean)
    trials = [parse_study(s) for s in lean]
    assert [t.nct_id for t in trials] == [nct(s) for s in lean]
    for study in result.studies[:PAGE] + result.studies[2 * PAGE :]:
        assert study == subtrees(files[nct(study)], FIELDS)


# -- faults the client cannot recover from --------------------------------------------------------
def test_persistent_503_ends_after_the_bound_with_a_clear_error(server, make_client):
    server.faults.append("ok")
    server.always("503")
    with pytest.raises(RegistryHTTPError) as err:
        make_client(retries=2).fetch()
    assert server.request_count == 1 + 3  # page 1, then page 2 tried 1 + 2 times
    message = str(err.value)
    assert err.value.status == 503
    assert "server error (HTTP 503)" in message and "after 2 retries" in message
    assert "Try again later" in message


def test_retry_after_beyond_the_bound_gives_up_at_once(server, make_client):
    server.always("429:retry-after=3600")
    start = time.monotonic()
    with pytest.raises(RegistryHTTPError) as err:
        make_client(max_retry_wait=2.0).fetch()
    assert time.monotonic() - start < 1.0 and server.request_count == 1
    assert "limiting requests (HTTP 429)" in str(err.value)
    assert "Try again in 3600 seconds" in str(err.value)


def test_persistent_slowness_is_a_timeout_that_says_what_to_do(server, make_client):
    server.always("slow:2")
    start = time.monotonic()
    with pytest.raises(RegistryUnreachable) as err:
        make_client(read_timeout=0.3, retries=1).fetch()
    assert time.monotonic() - start < 1.5
    assert server.request_count == 2
    assert "try again" in str(err.value)


def test_persistent_resets_say_the_registry_could_not_be_reached(server, make_client):
    server.always("reset")
    with pytest.raises(RegistryUnreachable) as err:
        make_client(retries=2).fetch()
    assert server.request_count == 3
    assert "could not be reached" in str(err.value) and "try again" in str(err.value)


@pytest.mark.parametrize("fault", ["malformed", "half"])
def test_broken_json_mid_walk_is_a_clear_error_not_a_partial_result(server, make_client, fault):
    server.faults.extend(["ok", fault])
    with pytest.raises(RegistryDataError) as err:
        make_client().fetch()
    message = str(err.value)
    assert "not valid JSON" in message and "try again" in message
    assert "pageToken=" in err.value.url  # names the page that failed
    assert server.request_count == 2  # a 200 with bad JSON is not retried blindly


def test_a_truncated_answer_is_a_clear_error_not_a_partial_result(server, make_client):
    server.faults.extend(["ok", "truncated"])
    with pytest.raises(RegistryError) as err:
        make_client().fetch()
    assert "try again" in str(err.value).lower()
    assert server.log[1].body_bytes > 0  # half a page arrived, and was not used


# -- the stale cache, with its date ---------------------------------------------------------------
def test_stopped_registry_falls_back_to_the_stale_cache_with_its_date(server, make_client, files):
    first = make_client().fetch()
    assert first.source == "registry"
    time.sleep(0.3)
    server.stop()
    before = datetime.now(UTC)
    result = make_client(retries=1).fetch(refresh=True)
    assert result.source == "stale cache"
    assert result.studies == first.studies and result.complete
    assert result.retrieved_at < before  # the date of the cached answer, not now
    assert abs((result.retrieved_at - first.retrieved_at).total_seconds()) < 0.3
    line = result.source_line()
    assert "could not be reached" in line and f"results as of {result.data_date()}" in line
    assert_identical(result, server, files)


@pytest.mark.parametrize("which", ["every page", "page 2 on"])
def test_failing_registry_falls_back_to_the_stale_cache(server, make_client, files, which):
    first = make_client().fetch()
    if which == "every page":
        server.always("503")
    else:
        server.rule = lambda req: "503" if "pageToken" in req.params else None
    result = make_client(retries=1).fetch(refresh=True)
    assert result.source == "stale cache" and result.studies == first.studies
    assert abs(result.retrieved_at - first.retrieved_at) < timedelta(seconds=1)
    assert_identical(result, server, files)


# -- pagination and fields over real sockets ------------------------------------------------------
def test_pagination_sends_each_token_it_was_given(server, make_client, files):
    result = make_client().fetch(SearchQuery.recruiting(include_not_yet=True))
    assert_identical(result, server, files, SearchQuery.recruiting(include_not_yet=True))
    assert result.pages == len(server.log) == -(-result.fetched // PAGE)
    assert server.log[0].params.get("pageToken") is None
    assert result.total_count == result.fetched
    assert all(r.params["pageSize"] == str(PAGE) for r in server.log)
    tokens = [r.params.get("pageToken") for r in server.log[1:]]
    assert len(set(tokens)) == len(tokens) and None not in tokens


def test_the_fields_filter_shrinks_what_is_sent(server, make_client, files, tmp_path):
    """Every recorded study, whole, then cut to the app's FIELDS, then to the ids only."""
    sizes = {}
    for n, fields in enumerate([(), FIELDS, ("protocolSection.identificationModule",)]):
        query = SearchQuery(condition="", terms="", statuses=(), fields=fields)
        server.reset_counters()
        result = make_client(cache_dir=str(tmp_path / f"cache-{n}")).fetch(query)
        assert_identical(result, server, files, query)
        assert result.fetched == len(files) and result.pages == 7
        sizes[len(fields)] = server.bytes_sent
    assert sizes[len(FIELDS)] < 0.6 * sizes[0]  # results and derived sections stay home
    assert sizes[1] < 0.05 * sizes[0]


# -- behaviour these tests found wrong at first, since fixed in client.py -------------------------
def test_persistent_slowness_is_reported_as_a_timeout(server, make_client):
    server.always("slow:2")
    with pytest.raises(RegistryUnreachable) as err:
        make_client(read_timeout=0.3, retries=1).fetch()
    assert "timed out" in str(err.value)


def test_after_a_malformed_answer_the_next_fetch_gets_the_data(server, make_client, files):
    server.faults.extend(["ok", "malformed"])
    with pytest.raises(RegistryDataError):
        make_client().fetch()
    result = make_client().fetch()  # the registry is healthy again
    assert_identical(result, server, files)


def test_pages_that_stop_before_the_total_are_not_presented_as_complete(server, make_client):
    server.faults.extend(["ok", "drop-token"])
    try:
        result = make_client().fetch()
    except RegistryError:
        return  # an error is also an honest answer
    assert result.fetched < result.total_count
    assert not result.complete


def test_endless_empty_pages_with_tokens_end_in_a_clear_error(server, make_client):
    server.rule = lambda req: "empty-with-token" if req.number <= 100 else "503"
    with pytest.raises(RegistryDataError) as err:
        make_client(retries=0).fetch()
    assert "empty" in str(err.value)
    assert server.request_count <= 20


def test_stale_cache_survives_a_refresh_that_fails_after_page_one(make_client, files):
    with RegistryStandIn(vary_tokens=True) as changing:
        first = make_client(on=changing).fetch()
        changing.rule = lambda req: "503" if "pageToken" in req.params else None
        result = make_client(on=changing, retries=1).fetch(refresh=True)
    assert result.source == "stale cache"
    assert [nct(s) for s in result.studies] == [nct(s) for s in first.studies]


# -- issue #16: a bad answer never evicts a good one; failures are fast and quiet -----------------
def test_a_refresh_answered_with_garbage_keeps_and_serves_the_good_copy(server, make_client, files):
    first = make_client().fetch()
    server.faults.append("malformed")  # the refreshed page 1 is not JSON
    result = make_client().fetch(refresh=True)
    assert result.source == "stale cache" and result.studies == first.studies
    assert "because the registry's answer could not be read" in result.source_line()
    # The good copy is still cached: an offline run afterwards answers in full.
    offline = make_client().fetch(offline=True)
    assert offline.studies == first.studies
    assert_identical(offline, server, files)


@pytest.mark.parametrize("fault", ["malformed", "half"])
def test_an_expired_cache_answered_with_garbage_is_not_replaced(server, make_client, fault):
    first = make_client(cache_expire_hours=0.2 / 3600).fetch()
    time.sleep(0.3)  # every cached page has expired
    server.faults.extend(["ok", fault])  # page 2's new answer cannot be read
    result = make_client(cache_expire_hours=0.2 / 3600).fetch()
    assert result.source == "stale cache" and result.studies == first.studies
    assert make_client().fetch(offline=True).studies == first.studies


def test_after_one_page_fails_its_retries_later_pages_come_from_the_cache(server, make_client):
    first = make_client().fetch()
    pages = first.pages
    server.reset_counters()
    server.rule = lambda req: "503" if "pageToken" in req.params else None
    result = make_client(retries=2).fetch(refresh=True)
    assert result.source == "stale cache" and result.studies == first.studies
    # page 1 once, page 2 three times (1 + 2 retries), and pages 3.. never asked again
    assert pages >= 4 and server.request_count == 1 + 3


def test_a_registry_killed_mid_walk_gives_the_stale_answer_fast(server, make_client):
    first = make_client().fetch()

    def kill_after_page_one(fetched, total):
        server.stop()  # the port closes between page 1 and page 2

    start = time.monotonic()
    # the defaults: 4 retries, backoff 1 s (14 s of waiting on every page before the fix)
    result = make_client(retries=4, backoff=1.0).fetch(refresh=True, progress=kill_after_page_one)
    assert time.monotonic() - start < 10
    assert result.source == "stale cache" and result.studies == first.studies


def test_a_refused_connection_fails_within_seconds_not_the_retry_budget(make_client):
    with RegistryStandIn() as gone:
        api_url = gone.api_url  # a port nothing listens on once it stops
    start = time.monotonic()
    with pytest.raises(RegistryUnreachable) as err:
        make_client(on=gone, retries=4, backoff=1.0).fetch()
    assert time.monotonic() - start < 5  # 14 s of backoff before the fix
    assert "could not be reached" in str(err.value) and api_url in str(err.value)


def test_an_unknown_host_fails_within_seconds(make_client, monkeypatch):
    import socket

    lookups = []

    def no_such_host(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    start = time.monotonic()
    with pytest.raises(RegistryUnreachable) as err:
        make_client(api_url="http://registry.invalid/api/v2", retries=4, backoff=1.0).fetch()
    assert time.monotonic() - start < 5
    assert lookups == ["registry.invalid"]  # asked once, not five times
    assert "could not be reached" in str(err.value)


def test_a_correct_stale_answer_prints_no_traceback(server, tmp_path):
    """requests-cache logs its stale-if-error fallback with a traceback; the CLI must not show it
    (a real process, so Python's own last-resort log handler is in play)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRIALS_HELPER_API_URL": server.api_url,
        "TRIALS_HELPER_CACHE_DIR": str(tmp_path / "cache"),
        "TRIALS_HELPER_CACHE_EXPIRE_HOURS": str(1 / 3600),
        "TRIALS_HELPER_RETRIES": "1",
        "TRIALS_HELPER_BACKOFF": "0",
    }
    cmd = [sys.executable, "-m", "trials_helper.cli", "fetch", "--out", str(tmp_path / "s.json")]
    assert subprocess.run(cmd, env=env, capture_output=True, timeout=60).returncode == 0
    time.sleep(1.1)  # the cached answer expires
    server.always("503")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "from the cache because" in done.stderr


# -- issue #16.2: a cache file damaged in the middle ----------------------------------------------
def damage_middle(path) -> None:
    """Overwrite 8 KB in the middle of a real cache file; its header stays intact. (The
    write-ahead log is folded in first, so the answers really are in the main file.)"""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    assert size > 64 * 1024
    with open(path, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(bytes(range(256)) * 32)


def test_a_cache_damaged_in_the_middle_is_set_aside_at_start(server, make_client, tmp_path):
    first = make_client().fetch()
    db = tmp_path / "cache" / "http_cache.sqlite"
    damage_middle(db)
    client = make_client()
    result = client.fetch()
    assert result.source == "registry" and result.studies == first.studies
    assert "set aside" in client.cache_status.note
    assert len(list(db.parent.glob("http_cache.sqlite.corrupt-*"))) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert make_client().fetch(offline=True).studies == first.studies  # the new file works


def test_offline_after_damage_says_the_cache_was_set_aside(server, make_client, tmp_path):
    make_client().fetch()
    damage_middle(tmp_path / "cache" / "http_cache.sqlite")
    with pytest.raises(RegistryUnreachable) as err:
        make_client().fetch(offline=True)
    assert "Nothing is cached" in str(err.value) and "set aside" in str(err.value)


def test_a_cache_damaged_while_running_is_set_aside_at_use(server, make_client, tmp_path):
    first = make_client().fetch()
    client = make_client()
    client.session  # noqa: B018 - opened and checked while the file was sound
    assert client.cache_status.note == ""
    damage_middle(tmp_path / "cache" / "http_cache.sqlite")
    result = client.fetch()
    assert result.studies == first.studies
    assert "found damaged" in client.cache_status.note
    assert list((tmp_path / "cache").glob("http_cache.sqlite.corrupt-*"))


def test_cli_on_a_damaged_cache_says_so_once_and_never_tracebacks(server, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRIALS_HELPER_API_URL": server.api_url,
        "TRIALS_HELPER_CACHE_DIR": str(tmp_path / "cache"),
        "TRIALS_HELPER_PAGE_SIZE": str(PAGE),
    }
    cli = [sys.executable, "-m", "trials_helper.cli"]
    fetch = [*cli, "fetch", "--out", str(tmp_path / "s.json")]
    assert subprocess.run(fetch, env=env, capture_output=True, timeout=60).returncode == 0
    damage_middle(tmp_path / "cache" / "http_cache.sqlite")
    again = subprocess.run(fetch, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert again.stderr.count("set aside") == 1  # the note once (it was printed twice)
    damage_middle(tmp_path / "cache" / "http_cache.sqlite")
    offline = subprocess.run(
        [*cli, "search", "--offline"], env=env, capture_output=True, text=True, timeout=60
    )
    assert offline.returncode == 1 and "Traceback" not in offline.stderr
    assert "set aside" in offline.stderr
    assert len(list((tmp_path / "cache").glob("http_cache.sqlite.corrupt-*"))) == 2


def test_two_breakages_in_one_second_keep_both_copies(tmp_path):
    from trials_helper.cache import _set_aside

    db = tmp_path / "http_cache.sqlite"
    moved = []
    for text in ("first", "second", "third"):
        db.write_text(text)
        moved.append(_set_aside(db))
    assert len(set(moved)) == 3
    assert sorted(p.read_text() for p in moved) == ["first", "second", "third"]


def test_endless_empty_pages_on_a_refresh_do_not_replace_the_cached_pages(server, make_client):
    """Found by bench/fault_probe.py: the empty pages were cached over the good page 2."""
    first = make_client().fetch()
    server.rule = lambda req: "empty-with-token" if "pageToken" in req.params else None
    result = make_client(retries=0).fetch(refresh=True)
    assert result.source == "stale cache" and result.studies == first.studies
    server.rule = None
    assert make_client().fetch(offline=True).studies == first.studies
