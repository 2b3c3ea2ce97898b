"""The registry client against `responses` mocks serving real recorded studies."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from tests.registry_fakes import STUDIES_URL, paged, real_studies, serve_pages
from trials_helper.cache import USER_AGENT
from trials_helper.client import FIELDS, RegistryClient, SearchQuery
from trials_helper.config import load_settings
from trials_helper.errors import (
    RegistryDataError,
    RegistryHTTPError,
    RegistryUnreachable,
    TrialsHelperError,
)


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        {},
        cache_dir=str(tmp_path / "cache"),
        retries=2,
        backoff=0.0,
        max_retry_wait=5.0,
        page_size=10,
    )


@pytest.fixture
def client(settings):
    c = RegistryClient(settings)
    yield c
    c.close()


def fetch_served(client: RegistryClient, n: int, **kwargs):
    """client.fetch() while a mock registry serves the first n real recorded studies."""
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(real_studies()[:n], 10))
        return client.fetch(**kwargs)


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)


@responses.activate
def test_pagination_follows_every_token_and_sends_the_documented_parameters(client):
    studies = real_studies()
    serve_pages(responses, paged(studies, 10))

    result = client.fetch(SearchQuery.recruiting(include_not_yet=True))

    assert [s["protocolSection"]["identificationModule"]["nctId"] for s in result.studies] == [
        s["protocolSection"]["identificationModule"]["nctId"] for s in studies
    ]
    assert result.total_count == len(studies) and result.complete
    assert result.pages == len(responses.calls) == 7
    assert result.source == "registry"
    first = query_of(responses.calls[0])
    assert first["filter.overallStatus"] == ["RECRUITING,NOT_YET_RECRUITING"]
    assert first["query.cond"] == ["breast cancer"]
    assert "metastatic" in first["query.term"][0]
    assert first["countTotal"] == ["true"]
    assert first["pageSize"] == ["10"]
    assert first["fields"] == [",".join(FIELDS)]
    assert "pageToken" not in first
    assert [query_of(c)["pageToken"] for c in responses.calls[1:]] == [
        [f"token-{n}"] for n in range(1, 7)
    ]
    assert responses.calls[0].request.headers["User-Agent"] == USER_AGENT


@responses.activate
def test_geo_and_extra_terms_are_sent(client):
    serve_pages(responses, paged(real_studies()[:3], 10))
    q = SearchQuery(geo="distance(42.3601,-71.0589,100mi)", extra_terms="palbociclib")
    client.fetch(q)
    sent = query_of(responses.calls[0])
    assert sent["filter.geo"] == ["distance(42.3601,-71.0589,100mi)"]
    assert sent["query.term"][0].endswith("AND palbociclib")
    assert sent["filter.overallStatus"] == ["RECRUITING"]


@responses.activate
def test_maximum_is_reported_never_silent(client):
    studies = real_studies()
    serve_pages(responses, paged(studies, 10))
    result = client.fetch(max_studies=15)
    assert result.fetched == 15
    assert result.total_count == len(studies)
    assert not result.complete
    assert "not all" in result.source_line()
    assert len(responses.calls) == 2  # stops fetching once the maximum is reached


@responses.activate
def test_retry_on_429_with_retry_after_then_success(client):
    page = paged(real_studies()[:4], 10)[0]
    responses.add(responses.GET, STUDIES_URL, status=429, headers={"Retry-After": "0"})
    responses.add(responses.GET, STUDIES_URL, json=page)
    result = client.fetch()
    assert result.fetched == 4
    assert len(responses.calls) == 2


@responses.activate
def test_retry_on_503_then_success(client):
    page = paged(real_studies()[:4], 10)[0]
    responses.add(responses.GET, STUDIES_URL, status=503)
    responses.add(responses.GET, STUDIES_URL, status=502)
    responses.add(responses.GET, STUDIES_URL, json=page)
    assert client.fetch().fetched == 4
    assert len(responses.calls) == 3


@responses.activate
def test_gives_up_after_the_bound_with_a_clear_error(client):
    responses.add(responses.GET, STUDIES_URL, status=503, body="Service Unavailable")
    with pytest.raises(RegistryHTTPError) as err:
        client.fetch()
    assert len(responses.calls) == 3  # first try + 2 retries
    assert err.value.status == 503
    assert "server error" in str(err.value) and "Try again later" in str(err.value)


@responses.activate
def test_retry_after_longer_than_the_bound_gives_up_at_once(client):
    responses.add(responses.GET, STUDIES_URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RegistryHTTPError) as err:
        client.fetch()
    assert len(responses.calls) == 1
    assert "429" in str(err.value) and "3600 seconds" in str(err.value)


@responses.activate
def test_400_is_not_retried_and_explains(client):
    responses.add(responses.GET, STUDIES_URL, status=400, body="unknown parameter: filter.phase")
    with pytest.raises(RegistryHTTPError) as err:
        client.fetch()
    assert len(responses.calls) == 1
    assert "unknown parameter: filter.phase" in str(err.value)


@responses.activate
def test_timeout_without_cache_says_what_to_do(client):
    responses.add(responses.GET, STUDIES_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(RegistryUnreachable) as err:
        client.fetch()
    message = str(err.value)
    assert "timed out" in message and "internet connection" in message
    assert isinstance(err.value, TrialsHelperError)


def test_timeouts_are_always_set(client, monkeypatch):
    seen = {}

    def fake_send(request, **kwargs):
        seen.update(kwargs)
        raise requests.ConnectionError("no")

    monkeypatch.setattr(client.session, "send", fake_send)
    with pytest.raises(RegistryUnreachable):
        client.fetch()
    assert seen["timeout"] == (client.settings.connect_timeout, client.settings.read_timeout)


@responses.activate
def test_malformed_json_is_a_clear_error(client):
    responses.add(
        responses.GET,
        STUDIES_URL,
        body='{"studies": [',
        status=200,
        content_type="application/json",
    )
    with pytest.raises(RegistryDataError) as err:
        client.fetch()
    assert "not valid JSON" in str(err.value)


@responses.activate
def test_answer_without_studies_list_is_a_clear_error(client):
    responses.add(responses.GET, STUDIES_URL, json={"studies": "nope"})
    with pytest.raises(RegistryDataError, match="no list of studies"):
        client.fetch()


@responses.activate
def test_repeated_page_token_stops_instead_of_looping(client):
    page = {"studies": real_studies()[:1], "nextPageToken": "same"}
    responses.add(responses.GET, STUDIES_URL, json=page)
    with pytest.raises(RegistryDataError, match="same page token"):
        client.fetch()


@responses.activate
def test_second_fetch_is_served_from_cache(client):
    serve_pages(responses, paged(real_studies()[:12], 10))
    first = client.fetch()
    second = client.fetch()
    assert first.source == "registry"
    assert second.source == "cache"
    assert len(responses.calls) == 2
    assert "from the cache" in second.source_line()
    assert second.studies == first.studies


@responses.activate
def test_refresh_bypasses_the_cache(client):
    serve_pages(responses, paged(real_studies()[:5], 10))
    client.fetch()
    result = client.fetch(refresh=True)
    assert result.source == "registry"
    assert len(responses.calls) == 2


def test_offline_falls_back_to_stale_cache_with_its_date(settings):
    studies = real_studies()[:12]
    short = load_settings({}, **{**settings.__dict__, "cache_expire_hours": 0.5 / 3600})
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(studies, 10))
        c = RegistryClient(short)
        live = c.fetch()
        c.close()
    time.sleep(0.6)  # the cached answer has now expired, and the registry cannot be reached
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, STUDIES_URL, body=requests.ConnectionError("offline"))
        c = RegistryClient(settings)
        result = c.fetch()
        c.close()
    assert result.source == "stale cache"
    assert result.studies == live.studies
    assert abs(result.retrieved_at - live.retrieved_at) < timedelta(seconds=5)
    line = result.source_line()
    assert "cache" in line and "results as of" in line and result.data_date() in line


def test_offline_refresh_still_falls_back_to_cache(settings):
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(real_studies()[:3], 10))
        c = RegistryClient(settings)
        c.fetch()
        rsps.replace(responses.GET, STUDIES_URL, body=requests.ConnectionError("offline"))
        result = c.fetch(refresh=True)
        c.close()
    assert result.source == "stale cache"
    assert result.fetched == 3


def test_server_error_falls_back_to_cache(settings):
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(real_studies()[:3], 10))
        c = RegistryClient(settings)
        c.fetch()
        rsps.replace(responses.GET, STUDIES_URL, status=500)
        result = c.fetch(refresh=True)
        c.close()
    assert result.source == "stale cache" and result.fetched == 3


def test_corrupt_cache_file_is_set_aside_and_rebuilt(settings):
    cache_dir = settings.cache_path
    cache_dir.mkdir(parents=True)
    (cache_dir / "http_cache.sqlite").write_bytes(b"this is not a database" * 100)
    c = RegistryClient(settings)
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(real_studies()[:3], 10))
        result = c.fetch()
    assert result.fetched == 3
    assert "set aside" in c.cache_status.note
    assert list(cache_dir.glob("http_cache.sqlite.corrupt-*"))
    sqlite3.connect(cache_dir / "http_cache.sqlite").execute("select 1")  # a real db again
    c.close()


def _locked_for(monkeypatch, times: int) -> list[int]:
    """Make opening the SQLite cache meet "database is locked" `times` times (as when another
    process is creating or writing it), then open normally."""
    from trials_helper import cache as cache_module

    real_backend, calls = cache_module._backend, []

    def busy_backend(settings):
        calls.append(1)
        if len(calls) <= times:
            raise sqlite3.OperationalError("database is locked")
        return real_backend(settings)

    monkeypatch.setattr(cache_module, "_backend", busy_backend)
    monkeypatch.setattr(cache_module, "BUSY_WAITS", (0.0, 0.0, 0.0))
    return calls


def test_briefly_locked_cache_is_waited_for_not_set_aside(settings, monkeypatch):
    cache_dir = settings.cache_path
    first = RegistryClient(settings)
    fetch_served(first, 3)
    first.close()
    calls = _locked_for(monkeypatch, 2)
    c = RegistryClient(settings)
    result = c.fetch(offline=True)  # the earlier answer is still there
    assert len(calls) == 3 and result.source == "cache" and result.fetched == 3
    assert c.cache_status.backend == "sqlite" and c.cache_status.note == ""
    assert not list(cache_dir.glob("*.corrupt-*"))
    c.close()


def test_cache_that_stays_locked_is_left_alone_and_memory_used(settings, monkeypatch):
    cache_dir = settings.cache_path
    cache_dir.mkdir(parents=True)
    db = cache_dir / "http_cache.sqlite"
    sqlite3.connect(db).execute("create table other_process (x)").connection.commit()
    _locked_for(monkeypatch, 99)
    c = RegistryClient(settings)
    assert fetch_served(c, 2).fetched == 2
    assert c.cache_status.backend == "memory"
    assert "in use by another process" in c.cache_status.note
    assert db.exists() and not list(cache_dir.glob("*.corrupt-*"))  # never moved away
    c.close()


def test_unwritable_cache_location_falls_back_to_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = load_settings({}, cache_dir=str(blocker / "cache"), retries=0)
    c = RegistryClient(settings)
    assert fetch_served(c, 2).fetched == 2
    assert c.cache_status.backend == "memory"
    assert "memory" in c.cache_status.note


def test_redis_url_works_as_backend(tmp_path, monkeypatch):
    fakeredis = pytest.importorskip("fakeredis")
    import redis

    server = fakeredis.FakeServer()
    monkeypatch.setattr(
        redis.Redis,
        "from_url",
        classmethod(lambda cls, url, **kw: fakeredis.FakeRedis(server=server)),
    )
    settings = load_settings(
        {"TRIALS_HELPER_CACHE_BACKEND": "redis://user:pw@cache:6379/0"}, retries=0
    )
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(real_studies()[:3], 10))
        first = RegistryClient(settings)
        assert first.fetch().source == "registry"
        assert first.cache_status.backend == "redis"
        assert "pw" not in first.cache_status.location
        # A second app instance shares the same cache.
        second = RegistryClient(settings)
        assert second.fetch().source == "cache"
        assert len(rsps.calls) == 1


def test_creating_a_client_makes_no_request():
    with responses.RequestsMock() as rsps:
        RegistryClient(load_settings({}))
        assert len(rsps.calls) == 0


def test_base_url_setting_is_used(tmp_path):
    settings = load_settings(
        {"TRIALS_HELPER_API_URL": "http://127.0.0.1:9/api/v2/"}, cache_dir=str(tmp_path)
    )
    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.GET,
            "http://127.0.0.1:9/api/v2/studies",
            json={"studies": [], "totalCount": 0},
        )
        result = RegistryClient(settings).fetch()
    assert result.fetched == 0 and result.total_count == 0 and result.complete


def test_source_line_names_registry_and_date():
    from trials_helper.client import FetchResult

    r = FetchResult(
        studies=[{}] * 3,
        total_count=5,
        complete=True,
        source="registry",
        retrieved_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        url="u",
        params={},
    )
    assert r.source_line() == (
        "The registry reports 5 studies; 3 fetched, live from the registry at 2026-11-25 09:30 UTC."
    )
    assert json.dumps(r.params) == "{}"


def test_offline_answers_from_cache_only(settings):
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(real_studies()[:12], 10))
        c = RegistryClient(settings)
        online = c.fetch()
        result = c.fetch(offline=True)
        assert len(rsps.calls) == 2  # the offline fetch sent nothing
        c.close()
    assert result.source == "cache"
    assert result.studies == online.studies


def test_offline_without_cache_says_so(client):
    with responses.RequestsMock() as rsps, pytest.raises(RegistryUnreachable) as err:
        client.fetch(offline=True)
    assert len(rsps.calls) == 0
    assert "cannot be answered offline" in str(err.value)
