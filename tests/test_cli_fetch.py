"""`trials-helper fetch` end to end on recorded studies served through `responses`."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from tests.registry_fakes import STUDIES_URL, paged, real_studies, serve_pages
from trials_helper.cli import main
from trials_helper.snapshot import load_snapshot


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("TRIALS_HELPER_BACKOFF", "0")
    monkeypatch.setenv("TRIALS_HELPER_RETRIES", "1")
    monkeypatch.setenv("TRIALS_HELPER_PAGE_SIZE", "25")


@responses.activate
def test_fetch_writes_every_study_and_says_where_from(tmp_path, capsys):
    studies = real_studies("RECRUITING")
    serve_pages(responses, paged(studies, 25))
    out = tmp_path / "mbc.json"

    assert main(["fetch", "--out", str(out)]) == 0

    written = json.loads(out.read_text())
    assert [s["protocolSection"]["identificationModule"]["nctId"] for s in written] == [
        s["protocolSection"]["identificationModule"]["nctId"] for s in studies
    ]
    err = capsys.readouterr().err
    assert f"The registry reports {len(studies)} studies; {len(studies)} fetched" in err
    assert "live from the registry" in err
    assert f"Wrote {len(studies)} studies to {out}" in err

    # Second run: the same data, from the cache, with the date it was retrieved.
    assert main(["fetch", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "from the cache; results as of" in err
    assert len(responses.calls) == 2  # two pages, fetched once


@responses.activate
def test_fetch_status_option_and_snapshot_metadata(tmp_path, capsys):
    serve_pages(responses, paged(real_studies("NOT_YET_RECRUITING"), 25))
    out = tmp_path / "nyr.json"
    assert (
        main(
            ["fetch", "--out", str(out), "--status", "recruiting,not_yet_recruiting", "--max", "1"]
        )
        == 0
    )
    sent = responses.calls[0].request.url
    assert "filter.overallStatus=RECRUITING%2CNOT_YET_RECRUITING" in sent
    snap = load_snapshot(out)
    assert snap.source == "snapshot" and snap.fetched == 1
    assert snap.params["filter.overallStatus"] == "RECRUITING,NOT_YET_RECRUITING"


@responses.activate
def test_fetch_offline_without_cache_fails_clearly(tmp_path, capsys):
    responses.add(responses.GET, STUDIES_URL, body=requests.ConnectionError("offline"))
    assert main(["fetch", "--out", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trials-helper: ClinicalTrials.gov could not be reached")
    assert "Traceback" not in err
    assert not (tmp_path / "x.json").exists()


def test_bad_status_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fetch", "--out", str(tmp_path / "x.json"), "--status", "completed"])
    assert exit_.value.code == 2
    assert "unknown status 'completed'" in capsys.readouterr().err


def test_bad_setting_is_reported_not_raised(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRIALS_HELPER_PAGE_SIZE", "0")
    assert main(["fetch", "--out", str(tmp_path / "x.json")]) == 1
    assert "TRIALS_HELPER_PAGE_SIZE" in capsys.readouterr().err
