"""The one search pipeline (trials_helper.pipeline): fetch once per status choice, places applied
here, searches kept per inputs, rows and record once; the readings store; the domain enums."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from tests.conftest import ROOT, load_study
from tests.registry_fakes import API, paged, real_studies, serve_pages
from trials_helper.client import DataSource, RegistryClient
from trials_helper.config import load_settings
from trials_helper.errors import RegistryTimeout, RegistryUnreachable
from trials_helper.export import COLUMN_NAMES
from trials_helper.facetstore import FacetStore, study_key
from trials_helper.geo import LocationFilter, Place, location_filter
from trials_helper.match import CHECK, LEVELS, POSSIBLE, UNLIKELY, Level, VerdictKind
from trials_helper.pipeline import (
    DataRequest,
    DatasetCache,
    SearchRequest,
    Stage,
    load_dataset,
    run_search,
)
from trials_helper.profile import Profile
from trials_helper.search import SearchOptions

RECRUITING = real_studies("RECRUITING")


@pytest.fixture
def registry():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_pages(rsps, paged(RECRUITING, 1000))
        yield rsps


@pytest.fixture
def client(tmp_path):
    c = RegistryClient(load_settings({}, api_url=API, cache_dir=str(tmp_path / "c"), retries=0))
    yield c
    c.close()


def _shanghai() -> tuple[float, float]:
    site = next(
        s
        for s in load_study("NCT06331169")["protocolSection"]["contactsLocationsModule"][
            "locations"
        ]
        if s.get("geoPoint")
    )
    return site["geoPoint"]["lat"], site["geoPoint"]["lon"]


def test_places_distances_and_units_cost_no_request(registry, client):
    cache = DatasetCache()
    lat, lon = _shanghai()
    here = Place(lat, lon, "here", "latlon")
    wheres = [
        None,
        LocationFilter(here, 25),
        LocationFilter(here, 500, "km"),
        location_filter("Boston, MA", 100),
        location_filter(None, None, country="China"),
        LocationFilter(here, 25, include_without_coordinates=True),
    ]
    counts = []
    for where in wheres:
        result = run_search(SearchRequest(location=where), client=client, cache=cache)
        counts.append(len(result.matches))
    assert len(registry.calls) == 1  # the recruiting set, once
    assert "filter.geo" not in registry.calls[0].request.url
    assert counts[1] == 1 and counts[3] == 0 and 1 <= counts[4] < counts[0]
    assert counts[5] > counts[1]  # the no-coordinates option works at a set distance
    # another status choice is another set: one more request
    nyr = DataRequest(statuses=("RECRUITING", "NOT_YET_RECRUITING"))
    run_search(SearchRequest(data=nyr), client=client, cache=cache)
    assert len(registry.calls) == 2
    sent = parse_qs(urlparse(registry.calls[1].request.url).query)
    assert sent["filter.overallStatus"] == ["RECRUITING,NOT_YET_RECRUITING"]


def test_no_coordinates_option_keeps_every_trial_without_a_map_location(registry, client):
    lat, lon = _shanghai()
    near = LocationFilter(Place(lat, lon, "", "latlon"), 10, include_without_coordinates=True)
    result = run_search(SearchRequest(location=near), client=client)
    everywhere = run_search(SearchRequest(), client=client)
    kept = {m.trial.nct_id for m in result.matches}
    without = {
        m.trial.nct_id
        for m in everywhere.matches
        if not any(s.has_coordinates for s in m.trial.sites)
    }
    assert without and without <= kept and "NCT06331169" in kept


def test_a_search_with_the_same_inputs_is_kept_and_rows_are_made_once(registry, client):
    cache = DatasetCache()
    request = SearchRequest(profile=Profile(hr="positive"))
    first = run_search(request, client=client, cache=cache)
    again = run_search(SearchRequest(profile=Profile(hr="positive")), client=client, cache=cache)
    assert again is first
    assert first.rows is first.rows and first.csv is first.csv
    other = run_search(SearchRequest(profile=Profile(hr="negative")), client=client, cache=cache)
    assert other is not first and other.dataset is first.dataset
    assert len(registry.calls) == 1


def test_refresh_loads_again_and_replaces_the_kept_set(registry, client):
    cache = DatasetCache()
    first = run_search(SearchRequest(), client=client, cache=cache)
    fresh = run_search(SearchRequest(refresh=True), client=client, cache=cache)
    assert fresh.dataset is not first.dataset and len(registry.calls) == 2
    assert run_search(SearchRequest(), client=client, cache=cache).dataset is fresh.dataset


class Loaded:
    """A stand-in for a loaded Dataset: the cache only reads `loaded_at`."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.loaded_at = time.monotonic()


def test_kept_sets_expire_and_are_bounded():
    loads = []

    def loader(tag):
        def load():
            loads.append(tag)
            return Loaded(tag)

        return load

    cache = DatasetCache(ttl=3600, max_entries=2)
    a, b, c = (DataRequest(statuses=(s,)) for s in ("A", "B", "C"))
    for request, tag in ((a, "a"), (b, "b"), (a, "a"), (c, "c"), (a, "a"), (b, "b")):
        cache.get(request, loader(tag))

    assert loads == ["a", "b", "c", "b"]  # b was the least recently used when c came
    assert cache.peek(c) is None  # the least recently used went when b came back
    cache.peek(a).loaded_at -= 3601  # type: ignore[union-attr]
    assert cache.peek(a) is None  # past its time


def test_two_sessions_asking_at_once_load_once():
    cache = DatasetCache()
    started, release, loads = threading.Event(), threading.Event(), []

    def load():
        loads.append(1)
        started.set()
        release.wait(5)
        return Loaded("set")

    got = []
    first = threading.Thread(target=lambda: got.append(cache.get(DataRequest(), load)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: got.append(cache.get(DataRequest(), load)))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert len(got) == 2 and got[0] is got[1] and loads == [1]


def test_progress_says_fetching_then_reading(registry, client):
    seen = []
    run_search(SearchRequest(), client=client, progress=lambda *a: seen.append(a))
    stages = [s for s, _, _ in seen]
    assert stages[0] == Stage.FETCH and stages[-1] == Stage.READ
    assert seen[0][1:] == (len(RECRUITING), len(RECRUITING))
    assert seen[-1][1:] == (len(RECRUITING), len(RECRUITING))


def test_record_output_and_sites(registry, client):
    where = location_filter("Shanghai, China", 100, "km")
    request = SearchRequest(
        profile=Profile(her2="low"),
        location=where,
        options=SearchOptions(phases=("PHASE2",)),
    )
    result = run_search(request, client=client)
    record = result.record()
    assert record["source"] == "registry" and record["registry_total"] == len(RECRUITING)
    assert record["location"]["near"] == "Shanghai, China"
    assert record["location"]["radius"] == 100 and record["location"]["unit"] == "km"
    assert record["filters"]["phases"] == ("PHASE2",)
    assert record["profile"] == {"her2": "low"}
    assert "filter.geo" not in record["params"]
    body = json.loads(result.output("json"))
    assert body["meta"]["rows"] == len(body["trials"]) == len(result.matches)
    table = list(csv.DictReader(io.StringIO(result.output("csv").decode("utf-8-sig"))))
    assert [r["nct_id"] for r in table] == [m.trial.nct_id for m in result.matches]
    assert result.output("markdown").startswith(b"# Metastatic breast cancer trials")
    sites = result.sites()
    assert set(sites["nct_id"]) <= {m.trial.nct_id for m in result.matches}
    with pytest.raises(ValueError):
        result.output("xml")


def test_snapshot_keeps_only_the_statuses_asked_for(tmp_path, client):
    snap = tmp_path / "all.json"
    snap.write_text(json.dumps(real_studies()), encoding="utf-8")
    data = DataRequest(snapshot=str(snap))
    result = run_search(SearchRequest(data=data), client=client)
    assert result.fetched.source == DataSource.SNAPSHOT
    assert {m.trial.overall_status for m in result.matches} == {"RECRUITING"}
    assert client.cache_note == ""  # a snapshot run never opened the HTTP cache


# -- stored readings -------------------------------------------------------------------------
def test_readings_are_stored_per_study_version_and_reader(tmp_path, client, registry):
    store = FacetStore(tmp_path / "facets.sqlite")
    first = load_dataset(client, DataRequest(), store=store)
    assert store.misses == len(RECRUITING) and store.hits == 0
    again = FacetStore(tmp_path / "facets.sqlite")  # a new process
    second = load_dataset(client, DataRequest(), store=again)
    assert again.hits == len(RECRUITING) and again.misses == 0
    assert [a.facets for a in second.analysed] == [a.facets for a in first.analysed]
    changed = json.loads(json.dumps(RECRUITING[0]))
    changed["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] += "\n- HER2-low"
    assert study_key(changed) != study_key(RECRUITING[0])


def test_the_reader_fingerprint_covers_every_source_and_data_file():
    from trials_helper import facetstore

    facetstore.reader_fingerprint.cache_clear()
    before = facetstore.reader_fingerprint()
    files = [p.name for p in (ROOT / "trials_helper").rglob("*") if p.suffix in (".py", ".toml")]
    assert "facets.py" in files and "concepts.toml" in files
    original = facetstore._PACKAGE
    try:
        facetstore._PACKAGE = ROOT / "trials_helper" / "data"  # another set of files
        facetstore.reader_fingerprint.cache_clear()
        assert facetstore.reader_fingerprint() != before
    finally:
        facetstore._PACKAGE = original
        facetstore.reader_fingerprint.cache_clear()


def test_a_damaged_readings_file_is_set_aside_and_the_search_goes_on(tmp_path, client, registry):
    path = tmp_path / "facets.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    store = FacetStore(path)
    result = run_search(SearchRequest(), client=client, store=store)
    assert result.matches and "set aside" in result.dataset.note
    assert list(tmp_path.glob("facets.sqlite.corrupt-*"))
    assert FacetStore(path).note == ""  # the new file is sound


def test_memory_backend_writes_no_readings_file(tmp_path):
    settings = load_settings({}, cache_dir=str(tmp_path), cache_backend="memory")
    store = FacetStore.for_settings(settings)
    assert store.path is None
    store.flush()
    assert not any(Path(tmp_path).iterdir())


# -- domain values -----------------------------------------------------------------------------
def test_levels_and_verdicts_are_enums_with_the_csv_words():
    assert LEVELS == (POSSIBLE, CHECK, UNLIKELY) == tuple(Level)
    assert [str(x) for x in Level] == [
        "possible match",
        "check with your oncologist",
        "likely not eligible",
    ]
    assert VerdictKind.NOT_MET == "does not meet" and f"{VerdictKind.ASK}" == "unknown"
    assert {Level.CHECK: 1}["check with your oncologist"] == 1
    assert json.dumps([Level.UNLIKELY]) == '["likely not eligible"]'


def test_match_level_column_keeps_its_values(registry, client):
    result = run_search(SearchRequest(profile=Profile(hr="positive", her2="zero")), client=client)
    levels = {r["match_level"] for r in result.rows}
    assert levels <= {"possible match", "check with your oncologist", "likely not eligible"}
    assert all(isinstance(m.level, Level) for m in result.matches)
    assert tuple(result.rows[0]) == COLUMN_NAMES


@responses.activate
def test_a_registry_time_out_is_its_own_error(client):
    responses.add(responses.GET, f"{API}/studies", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(RegistryTimeout) as err:
        client.fetch()
    assert isinstance(err.value, RegistryUnreachable)  # handled wherever unreachable is
    assert "timed out" in str(err.value)


@responses.activate
def test_a_refused_connection_is_not_a_time_out(client):
    responses.add(responses.GET, f"{API}/studies", body=requests.ConnectionError("refused"))
    with pytest.raises(RegistryUnreachable) as err:
        client.fetch()
    assert not isinstance(err.value, RegistryTimeout)


def test_benchmarks_never_import_the_tests():
    for path in (ROOT / "bench").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "from tests" not in text and "import tests" not in text, path.name
