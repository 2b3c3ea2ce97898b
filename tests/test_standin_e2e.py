"""The CLI and the app against the local registry stand-in through real sockets."""

from __future__ import annotations

import csv
import io
import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, summary_counts
from tests.standin import RegistryStandIn
from trials_helper.cli import main
from trials_helper.export import COLUMN_NAMES

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def server(monkeypatch):
    import streamlit as st

    with RegistryStandIn() as s:
        monkeypatch.setenv("TRIALS_HELPER_API_URL", s.api_url)
        monkeypatch.setenv("TRIALS_HELPER_RETRIES", "1")
        monkeypatch.setenv("TRIALS_HELPER_BACKOFF", "0")
        st.cache_data.clear()
        st.cache_resource.clear()
        yield s
        st.cache_resource.clear()


def test_cli_search_near_a_place_through_the_stand_in(server, tmp_path, capsys):
    out = tmp_path / "t.csv"
    # NCT06331169 (recruiting) has a site in Shanghai with coordinates
    args = ["search", "--near", "Shanghai, China", "--radius", "100", "--unit", "km"]
    assert main([*args, "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [r["nct_id"] for r in rows] == ["NCT06331169"], server.log[-1].params
    assert tuple(rows[0]) == COLUMN_NAMES
    assert rows[0]["nearest_city"] == "Shanghai" and rows[0]["distance_unit"] == "km"
    assert float(rows[0]["nearest_distance"]) < 20
    # the recruiting set is fetched whole and the place applied here (issue #15)
    assert all("filter.geo" not in r.params for r in server.log)
    assert "live from the registry" in capsys.readouterr().err
    record = json.loads((tmp_path / "t.csv.query.json").read_text())
    assert record["location"]["near"] == "Shanghai, China" and record["location"]["radius"] == 100


def test_cli_include_no_coordinates_keeps_those_trials_within_a_radius(server, tmp_path):
    """With filter.geo the registry dropped them first, so the flag kept none (issue #15)."""
    args = ["search", "--near", "Shanghai, China", "--radius", "100", "--format", "json"]
    near = tmp_path / "near.json"
    assert main([*args, "--out", str(near)]) == 0
    assert main([*args, "--include-no-coordinates", "--out", str(tmp_path / "all.json")]) == 0
    kept = json.loads(near.read_text())["trials"]
    both = json.loads((tmp_path / "all.json").read_text())["trials"]
    assert len(kept) == 1 and len(both) > 10
    assert {r["nct_id"] for r in kept} < {r["nct_id"] for r in both}
    no_site = [r for r in both if r["nct_id"] != "NCT06331169"]
    assert all(r["nearest_distance"] == "" for r in no_site)
    assert server.request_count == 1  # the second search was answered by the cache


def test_cli_fetch_near_still_narrows_with_filter_geo(server, tmp_path):
    out = tmp_path / "near.json"
    assert main(["fetch", "--near", "Shanghai, China", "--radius", "100", "--out", str(out)]) == 0
    assert server.log[-1].params["filter.geo"].startswith("distance(31.2")
    assert [
        s["protocolSection"]["identificationModule"]["nctId"] for s in json.loads(out.read_text())
    ] == ["NCT06331169"]


def test_cli_fetch_then_offline_search_after_the_registry_stops(server, tmp_path, capsys):
    snap = tmp_path / "snap.json"
    assert main(["fetch", "--out", str(snap)]) == 0
    server.stop()
    assert main(["search", "--offline", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["meta"]["source"] == "cache" and data["trials"]


def test_app_through_the_stand_in_and_with_a_snapshot(server, tmp_path, monkeypatch):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "live from the registry" in at.info[0].value
    assert summary_counts(at)[0] > 0
    assert server.request_count >= 1

    snap = tmp_path / "snap.json"
    assert main(["fetch", "--out", str(snap)]) == 0
    server.stop()
    import streamlit as st

    st.cache_resource.clear()
    monkeypatch.setenv("TRIALS_HELPER_SNAPSHOT", str(snap))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "from a snapshot; results as of" in at.info[0].value


def test_cli_refresh_answered_with_garbage_keeps_the_cached_answer(server, tmp_path, capsys):
    """Issue #16.1: `fetch --refresh` met a malformed page 1, failed, and had deleted the cache."""
    assert main(["fetch", "--out", str(tmp_path / "a.json")]) == 0
    capsys.readouterr()
    server.faults.append("malformed")
    assert main(["fetch", "--refresh", "--out", str(tmp_path / "b.json")]) == 0
    err = capsys.readouterr().err
    assert "from the cache because the registry's answer could not be read" in err
    assert json.loads((tmp_path / "b.json").read_text()) == json.loads(
        (tmp_path / "a.json").read_text()
    )
    server.stop()
    assert main(["search", "--offline", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["trials"]


def test_app_on_a_cache_damaged_in_the_middle_shows_results_and_a_note(server, tmp_path):
    """Issue #16.2: the page showed `sqlite3.DatabaseError` with a traceback on every run."""
    import os
    from pathlib import Path

    import streamlit as st

    from tests.test_faults import damage_middle

    assert main(["fetch", "--out", str(tmp_path / "s.json")]) == 0
    db = Path(os.environ["TRIALS_HELPER_CACHE_DIR"]) / "http_cache.sqlite"
    damage_middle(db)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not at.error
    assert summary_counts(at)[0] > 0
    assert any("set aside" in c.value for c in at.caption)
