"""Researchers' export: schema, spreadsheet safety, reruns, diff; `trials-helper search`."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from tests.conftest import ROOT
from tests.registry_fakes import paged, real_studies, serve_pages
from trials_helper.cli import main
from trials_helper.export import (
    COLUMN_NAMES,
    COLUMNS,
    csv_bytes,
    diff_exports,
    read_export,
    safe_cell,
)


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("TRIALS_HELPER_RETRIES", "0")


def test_documented_columns_are_exactly_the_schema():
    doc = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", doc, flags=re.M)
    assert tuple(documented) == COLUMN_NAMES
    assert all(c.meaning and c.example for c in COLUMNS)


@pytest.mark.parametrize(
    "value,expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Dana-Farber", "Dana-Farber"),
        (("a", "b"), "a; b"),
        (None, ""),
    ],
)
def test_formula_like_cells_are_neutralised(value, expected):
    assert safe_cell(value) == expected


def test_csv_is_utf8_with_bom_for_excel():
    data = csv_bytes([{"nct_id": "NCT1", "brief_title": "Étude à Montréal", "sponsor": "=cmd"}])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["brief_title"] == "Étude à Montréal"
    assert rows[0]["sponsor"] == "'=cmd"


def _search(tmp_path, *args):
    out = tmp_path / "trials.csv"
    code = main(["search", "--out", str(out), *args])
    return code, out


@responses.activate
def test_search_cli_end_to_end_writes_schema_and_sidecar(tmp_path, capsys):
    studies = real_studies("RECRUITING")
    serve_pages(responses, paged(studies, 1000))
    code, out = _search(tmp_path, "--hr", "positive", "--her2", "zero", "--prior-cdk46", "yes")
    assert code == 0
    text = out.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMN_NAMES
    assert 0 < len(rows) <= len(studies)
    assert {r["match_level"] for r in rows} <= {
        "possible match",
        "check with your oncologist",
        "likely not eligible",
    }
    first = rows[0]
    assert first["url"] == f"https://clinicaltrials.gov/study/{first['nct_id']}"
    assert first["data_retrieved"].endswith("UTC")
    query = parse_qs(urlparse(first["query"]).query)
    assert query["filter.overallStatus"] == ["RECRUITING"]
    sidecar = json.loads((tmp_path / "trials.csv.query.json").read_text())
    assert sidecar["params"]["query.cond"] == "breast cancer"
    assert sidecar["profile"] == {"hr": "positive", "her2": "zero", "prior_cdk46": "yes"}
    assert sidecar["trials_helper_version"]
    err = capsys.readouterr().err
    assert "Wrote" in err and "Left out:" in err


@responses.activate
def test_search_json_markdown_and_sites(tmp_path, capsys):
    serve_pages(responses, paged(real_studies("RECRUITING"), 1000))
    assert main(["search", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["meta"]["source"] == "registry" and data["trials"]
    assert main(["search", "--format", "markdown", "--category", "cdk46"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Metastatic breast cancer trials") and "| nct_id |" in md
    assert "Not medical advice" in md
    sites = tmp_path / "sites.csv"
    assert main(["search", "--out", str(tmp_path / "t.csv"), "--sites-out", str(sites)]) == 0
    header = sites.read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("nct_id,title,facility,city,state,zip,country,status,lat,lon")


def test_search_from_snapshot_and_offline(tmp_path, capsys):
    snap = tmp_path / "snap.json"
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(real_studies("RECRUITING"), 1000))
        assert main(["fetch", "--out", str(snap)]) == 0
        # offline: answered from the cache the fetch filled, no request sent
        calls = len(rsps.calls)
        assert main(["search", "--offline", "--format", "json"]) == 0
        assert len(rsps.calls) == calls
    capsys.readouterr()
    with responses.RequestsMock() as rsps:  # no registry at all: the snapshot answers
        assert main(["search", "--from", str(snap), "--format", "json"]) == 0
        assert len(rsps.calls) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["meta"]["source"] == "snapshot"


def test_search_bad_input_is_explained(tmp_path, capsys):
    with responses.RequestsMock():
        assert main(["search", "--near", "Portland"]) == 1
    assert "matches several places" in capsys.readouterr().err
    assert main(["search", "--sex", "male", "--menopause", "post"]) == 1
    assert "Menopausal status applies to women" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--her2", "maybe"])
    assert exit_.value.code == 2
    assert main(["search", "--from", str(tmp_path / "missing.json")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_diff_of_two_exports(tmp_path, capsys):
    old = tmp_path / "old.csv"
    new = tmp_path / "new.csv"
    base = {c: "" for c in COLUMN_NAMES}
    old.write_bytes(
        csv_bytes(
            [
                {**base, "nct_id": "NCT1", "brief_title": "Kept", "overall_status": "RECRUITING"},
                {**base, "nct_id": "NCT2", "brief_title": "Gone", "overall_status": "RECRUITING"},
            ]
        )
    )
    new.write_bytes(
        csv_bytes(
            [
                {**base, "nct_id": "NCT1", "brief_title": "Kept", "overall_status": "SUSPENDED"},
                {**base, "nct_id": "NCT3", "brief_title": "New", "overall_status": "RECRUITING"},
            ]
        )
    )
    d = diff_exports(read_export(old), read_export(new))
    assert [r["nct_id"] for r in d.added] == ["NCT3"]
    assert [r["nct_id"] for r in d.removed] == ["NCT2"]
    assert d.changed == (("NCT1", "overall_status", "RECRUITING", "SUSPENDED"),)
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "1 added, 1 removed, 1 changed"
    assert "~ NCT1  overall_status: RECRUITING -> SUSPENDED" in out


@pytest.mark.parametrize(
    "text",
    [
        "",  # an empty file read as an empty export
        "hello\nworld\n",  # not an export: no nct_id column
        "nct_id,brief_title\n,lost\n",  # a row without its id
    ],
)
def test_diff_refuses_a_file_that_is_not_an_export(tmp_path, capsys, text):
    """Issue #16.4: `diff` read a malformed file as an empty export and exited 0."""
    good = tmp_path / "good.csv"
    good.write_text("nct_id,brief_title\nNCT05514054,A trial\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    assert main(["diff", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "nct_id" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["facets", "search"])
def test_cli_refuses_a_snapshot_of_non_studies(tmp_path, capsys, command):
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps([{"a": 1}, {"b": 2}]))
    argv = [command, str(snap)] if command == "facets" else ["search", "--from", str(snap)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "2 of 2 entries have no" in captured.err and captured.out == ""


@responses.activate
def test_the_apps_query_record_is_the_clis(tmp_path, monkeypatch):
    """The app's 'How this list was made (JSON)' is the CLI's FILE.query.json (one record from
    the pipeline), plus the app's link parameters."""
    from app import render
    from trials_helper.geo import location_filter
    from trials_helper.pipeline import SearchRequest, run_search
    from trials_helper.profile import Profile

    serve_pages(responses, paged(real_studies("RECRUITING"), 1000))
    code, _out = _search(tmp_path, "--hr", "positive", "--near", "Boston, MA", "--radius", "100")
    assert code == 0
    cli = json.loads((tmp_path / "trials.csv.query.json").read_text())

    monkeypatch.setattr("app.form.search_params", lambda: {"hr": ["positive"]})
    search = run_search(
        SearchRequest(profile=Profile(hr="positive"), location=location_filter("Boston, MA", 100))
    )
    app = json.loads(render._query_record(search)())
    assert set(cli) <= set(app)
    for part in ("location", "filters"):
        assert cli[part] == app[part], part
    assert app["profile"] == cli["profile"] == {"hr": "positive"}
    assert app["made_with"] == "app" and app["app_link_params"] == {"hr": ["positive"]}
