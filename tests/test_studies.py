"""Parsing every real recorded record: full, partial and converted shapes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CTGOV, all_study_paths, load_study
from trials_helper.errors import DataFileError
from trials_helper.studies import (
    age_years,
    iter_studies,
    load_studies,
    parse_study,
    phase_label,
    sites_frame,
    trials_frame,
)


@pytest.mark.parametrize("path", all_study_paths(), ids=lambda p: p.stem)
def test_every_real_record_parses(path):
    study = json.loads(path.read_text(encoding="utf-8"))
    trial = parse_study(study)
    assert trial.nct_id == path.stem
    assert trial.title  # brief title, official title, or at least the id
    assert trial.url == f"https://clinicaltrials.gov/study/{path.stem}"
    for site in trial.sites:
        assert site.nct_id == trial.nct_id
        assert (site.lat is None) == (site.lon is None) or site.lat is not None


def test_real_records_include_every_shape():
    shapes = {
        line.split("\t")[4] for line in (CTGOV / "SOURCES.tsv").read_text().splitlines()[1:] if line
    }
    assert {"v2-full", "v2-partial"} <= shapes
    assert any(s.startswith("converted") for s in shapes)


def test_full_record_spot_check():
    t = parse_study(load_study("NCT02513394"))
    assert t.brief_title == "PALbociclib CoLlaborative Adjuvant Study"
    assert t.overall_status == "ACTIVE_NOT_RECRUITING"
    assert t.phases == ("PHASE3",) and t.phase_label == "Phase 3"
    assert t.status_verified == "2023-04"
    assert t.sponsor == "Alliance Foundation Trials, LLC."
    assert "Pfizer" in t.collaborators
    assert t.allocation == "RANDOMIZED"
    assert t.eligibility_criteria.startswith("Inclusion Criteria:")
    assert len(t.sites) == 437
    first = t.sites[0]
    assert first.facility == "University of South Alabama Mitchell Cancer Institute"
    assert first.city == "Mobile" and first.state == "Alabama"
    assert first.has_coordinates
    assert any(i.name == "Palbociclib" and i.type == "DRUG" for i in t.interventions)
    assert t.arms[0].label == "Arm A"


def test_partial_and_converted_records_have_empty_values_not_errors():
    sources = {}
    for line in (CTGOV / "SOURCES.tsv").read_text().splitlines()[1:]:
        cols = line.split("\t")
        sources[cols[0]] = cols[4]
    converted = [n for n, shape in sources.items() if shape.startswith("converted")]
    partial = [n for n, shape in sources.items() if shape == "v2-partial"]
    for nct in converted + partial:
        t = parse_study(load_study(nct))
        assert t.nct_id == nct
        assert isinstance(t.phases, tuple) and isinstance(t.last_update, str)


def test_site_statuses_and_contacts_from_sites_folder():
    data = json.loads((CTGOV / "sites" / "NCT04267848.json").read_text())
    t = parse_study(next(iter_studies(data)))
    statuses = [s.status for s in t.sites]
    assert len(t.sites) == 1148
    assert statuses.count("RECRUITING") == 659
    assert statuses.count("SUSPENDED") == 393
    assert sum(1 for s in t.sites if not s.has_coordinates) == 4


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"protocolSection": None},
        {"protocolSection": {"identificationModule": "x", "statusModule": []}},
        {"protocolSection": {"contactsLocationsModule": {"locations": [None, 3, {"geoPoint": 5}]}}},
        {
            "protocolSection": {
                "designModule": {"phases": "PHASE2", "enrollmentInfo": {"count": "x"}}
            }
        },
        {"protocolSection": {"eligibilityModule": {"eligibilityCriteria": 12}}},
    ],
)
def test_odd_fields_never_crash(broken):
    t = parse_study(broken)
    assert t.nct_id == ""


def test_iter_studies_accepts_single_list_and_page():
    one = load_study("NCT05514054")
    assert len(list(iter_studies(one))) == 1
    assert len(list(iter_studies([one, one]))) == 2
    assert len(list(iter_studies({"studies": [one], "nextPageToken": "x"}))) == 1
    pages = sorted((CTGOV / "pages").glob("*.json"))
    for page in pages:
        studies = list(iter_studies(json.loads(page.read_text())))
        assert studies and all(parse_study(s).nct_id.startswith("NCT") for s in studies)


def test_load_studies_errors_are_clear(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_studies(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataFileError, match="could not be read as JSON"):
        load_studies(bad)


def test_frames_have_one_row_per_trial_and_per_site():
    trials = [parse_study(load_study(n)) for n in ("NCT02513394", "NCT05514054")]
    tf = trials_frame(trials)
    assert list(tf["nct_id"]) == ["NCT02513394", "NCT05514054"]
    assert tf.loc[0, "site_count"] == 437
    sf = sites_frame(trials)
    assert len(sf) == sum(len(t.sites) for t in trials)
    assert set(sf["nct_id"]) <= {"NCT02513394", "NCT05514054"}


@pytest.mark.parametrize(
    "text,years",
    [
        ("18 Years", 18.0),
        ("6 Months", 0.5),
        ("", None),
        ("N/A", None),
        ("75 years", 75.0),
    ],
)
def test_age_years(text, years):
    assert age_years(text) == years


def test_phase_label():
    assert phase_label(("PHASE1", "PHASE2")) == "Phase 1/2"
    assert phase_label(("NA",)) == "Not applicable"
    assert phase_label(("EARLY_PHASE1",)) == "Phase Early 1"


@pytest.mark.parametrize(
    "content,count",
    [
        ({"a": 1}, "1 of 1"),  # was read as "1 studies"
        ([{"x": n} for n in range(50_000)], "50000 of 50000"),  # was "50000 studies"
        ({"studies": [{"protocolSection": {}}]}, "1 of 1"),
        ("studies", None),
        (42, None),
    ],
)
def test_files_that_hold_no_studies_are_refused(tmp_path, content, count):
    """Issue #16.4: garbage snapshot files were taken as studies."""
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(content))
    with pytest.raises(DataFileError) as err:
        load_studies(path)
    assert str(path) in str(err.value) and "trials-helper fetch" in str(err.value)
    if count:
        assert f"{count} entries have no protocolSection.identificationModule.nctId" in str(
            err.value
        )
    assert len(str(err.value)) < 500


def test_one_non_study_among_real_ones_is_named(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([load_study("NCT05514054"), {"oops": True}]))
    with pytest.raises(DataFileError, match=r"1 of 2 entries .* \(the first is entry 2\)"):
        load_studies(path)


def test_an_empty_list_is_an_empty_snapshot(tmp_path):
    path = tmp_path / "none.json"
    path.write_text("[]")
    assert load_studies(path) == []
