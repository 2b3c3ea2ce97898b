"""The local registry stand-in itself: it must behave like API v2 where the client relies on it.

If the stand-in were lenient where the registry is strict (unknown parameters, foreign page
tokens, `fields`), the fault tests built on it would prove less than they claim.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT
from tests.standin import Fault, RegistryStandIn, parse_essie, project


def get(server, **params) -> requests.Response:
    return requests.get(server.studies_url, params=params, timeout=5)


def ids(page: dict) -> list[str]:
    return [s["protocolSection"]["identificationModule"]["nctId"] for s in page["studies"]]


def walk(server, **params) -> tuple[list[dict], list[str]]:
    """Every page of a search, following tokens; returns the pages and the NCT ids in order."""
    pages, token = [], None
    while True:
        answer = get(server, **params, **({"pageToken": token} if token else {}))
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        token = pages[-1].get("nextPageToken")
        if not token:
            return pages, [i for p in pages for i in ids(p)]


# -- the interface --------------------------------------------------------------------------------
def test_unknown_parameter_is_a_400_with_the_registrys_wording(server):
    answer = get(server, **{"query.cond": "breast cancer", "filter.phase": "PHASE3"})
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == "`filter.phase` is unknown parameter"


def test_real_parameters_it_does_not_implement_say_so(server):
    answer = get(server, **{"filter.advanced": "AREA[Phase]PHASE3"})
    assert answer.status_code == 400
    assert "filter.advanced" in answer.text and "does not implement" in answer.text


@pytest.mark.parametrize(
    "params, words",
    [
        ({"format": "csv"}, "only json"),
        ({"pageSize": "ten"}, "pageSize"),
        ({"countTotal": "yes"}, "countTotal"),
        ({"filter.overallStatus": "OPEN"}, "OPEN"),
        ({"filter.geo": "near(42,-71)"}, "filter.geo"),
        ({"query.term": "AREA[Phase]PHASE3"}, "AREA"),
        ({"query.term": "(metastatic OR advanced"}, "parentheses"),
        ({"fields": "protocolSection.noSuchModule"}, "noSuchModule"),
    ],
)
def test_bad_values_are_a_400_that_names_them(server, params, words):
    answer = get(server, **params)
    assert answer.status_code == 400
    assert words in answer.text


def test_pagination_walks_every_study_once_with_total_on_the_first_page_only(server, files):
    pages, seen = walk(server, pageSize="10", countTotal="true")
    assert seen == sorted(files)  # every recorded study, once, in NCT id order
    assert [len(p["studies"]) for p in pages] == [10] * 6 + [4]
    assert pages[0]["totalCount"] == len(files)
    assert all("totalCount" not in p for p in pages[1:])
    assert "nextPageToken" not in pages[-1]
    tokens = [p["nextPageToken"] for p in pages[:-1]]
    assert len(set(tokens)) == len(tokens)


def test_count_total_is_absent_unless_asked(server):
    assert "totalCount" not in get(server).json()


def test_default_page_size_is_ten_and_the_maximum_is_cut_to_1000(server, files):
    assert len(get(server).json()["studies"]) == 10
    big = get(server, pageSize="5000").json()
    assert len(big["studies"]) == len(files) and "nextPageToken" not in big


def test_a_token_from_another_query_is_rejected(server):
    token = get(server, **{"query.cond": "breast cancer"}).json()["nextPageToken"]
    answer = get(server, **{"query.cond": "lung cancer", "pageToken": token})
    assert answer.status_code == 400 and "does not belong to this query" in answer.text
    garbage = get(server, pageToken="not-a-token")
    assert garbage.status_code == 400 and "pageToken" in garbage.text
    # the page size may change between pages, as the registry allows
    assert get(server, **{"query.cond": "breast cancer", "pageToken": token, "pageSize": "3"}).ok


def test_fields_keep_only_the_asked_subtrees(server, files):
    wanted = "protocolSection.identificationModule,protocolSection.descriptionModule.briefSummary"
    page = get(server, fields=wanted, pageSize="1000").json()
    assert len(page["studies"]) == len(files)
    for study in page["studies"]:
        source = files[study["protocolSection"]["identificationModule"]["nctId"]]
        assert set(study) == {"protocolSection"}
        ps = study["protocolSection"]
        assert ps["identificationModule"] == source["protocolSection"]["identificationModule"]
        summary = source["protocolSection"].get("descriptionModule", {}).get("briefSummary")
        if summary is None:
            assert set(ps) == {"identificationModule"}
        else:
            assert ps["descriptionModule"] == {"briefSummary": summary}


def test_fields_look_through_lists(files):
    source = files["NCT06331169"]
    out = project(source, ["protocolSection.contactsLocationsModule.locations.city"])
    cities = [
        {"city": loc["city"]}
        for loc in source["protocolSection"]["contactsLocationsModule"]["locations"]
    ]
    assert out == {"protocolSection": {"contactsLocationsModule": {"locations": cities}}}


def test_one_study_by_id(server, files):
    url = f"{server.studies_url}/NCT06331169"
    study = requests.get(url, timeout=5).json()
    assert study == files["NCT06331169"]
    assert requests.get(f"{server.studies_url}/NCT00000000", timeout=5).status_code == 404


# -- filters and the search expression ------------------------------------------------------------
def test_status_filter_matches_the_files(server, files):
    _, seen = walk(server, **{"filter.overallStatus": "RECRUITING,NOT_YET_RECRUITING"})
    expected = sorted(
        nct
        for nct, s in files.items()
        if s["protocolSection"].get("statusModule", {}).get("overallStatus")
        in ("RECRUITING", "NOT_YET_RECRUITING")
    )
    assert seen == expected and len(expected) == 40


def _km(a, b) -> float:
    """Haversine, written again here so the test does not trust the stand-in's own."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


@pytest.mark.parametrize(
    "centre, radius, unit", [((31.2, 121.5), 20, "km"), ((41.88, -87.63), 50, "mi")]
)
def test_geo_filter_keeps_studies_with_a_site_within_the_distance(
    server, files, centre, radius, unit
):
    limit_km = radius * (1.609344 if unit == "mi" else 1.0)
    expected = sorted(
        nct
        for nct, s in files.items()
        if any(
            "geoPoint" in loc
            and _km(centre, (loc["geoPoint"]["lat"], loc["geoPoint"]["lon"])) <= limit_km
            for loc in s["protocolSection"].get("contactsLocationsModule", {}).get("locations", [])
        )
    )
    geo = f"distance({centre[0]},{centre[1]},{radius}{unit})"
    _, seen = walk(server, **{"filter.geo": geo})
    assert seen == expected
    assert 0 < len(expected) < len(files)  # the filter really selects


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", text.lower()))


def test_essie_subset():
    text = _words("Metastatic breast cancer, stage IV, after a CDK4/6 inhibitor")
    assert parse_essie("")(text)
    assert parse_essie("breast cancer")(text)  # implicit AND
    assert not parse_essie("breast lung")(text)
    assert parse_essie('"stage IV"')(text)
    assert not parse_essie('"IV stage"')(text)  # a phrase keeps its order
    assert parse_essie("lung OR breast")(text)
    assert parse_essie('(lung OR "stage IV") AND cancer')(text)
    assert not parse_essie("(lung OR melanoma) AND cancer")(text)
    assert parse_essie("breast NOT lung")(text) and not parse_essie("NOT breast")(text)
    assert parse_essie("CDK4/6")(text)  # punctuation splits words, as in the text
    assert not parse_essie("metast")(text)  # whole words, no stemming
    assert parse_essie("breast and cancer")(_words("breast and cancer"))  # lower: a word


def test_the_clients_search_selects_metastatic_breast_studies(server, files):
    term = '(metastatic OR advanced OR "stage IV" OR unresectable OR recurrent)'
    params = {"query.cond": "breast cancer", "query.term": term}
    _, seen = walk(server, **params)
    assert 30 < len(seen) < len(files)
    for nct in set(files) - set(seen):  # the rejected ones really lack the words
        text = json.dumps(files[nct]["protocolSection"].get("eligibilityModule", {})).lower()
        assert not ("breast" in text and "metastatic" in text)
    _, narrower = walk(server, **{**params, "query.term": f"{term} AND palbociclib"})
    assert 0 < len(narrower) < len(seen) and set(narrower) <= set(seen)


# -- faults, counters, lifecycle ------------------------------------------------------------------
def test_faults_are_consumed_in_order_then_answers_are_normal(server):
    server.faults.extend(["429:retry-after=7", "503", "ok", "500"])
    first = get(server)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert [get(server).status_code for _ in range(4)] == [503, 200, 500, 200]


def test_an_unknown_fault_fails_when_it_is_added(server):
    with pytest.raises(ValueError, match="unknown fault"):
        server.faults.append("explode")
    with pytest.raises(ValueError):
        Fault.parse("slow:soon")


def test_a_rule_sees_each_request(server):
    server.rule = lambda req: "503" if "pageToken" in req.params else None
    first = get(server)
    assert first.ok
    assert get(server, pageToken=first.json()["nextPageToken"]).status_code == 503
    server.rule = None
    assert get(server, pageToken=first.json()["nextPageToken"]).ok


def test_reset_and_disconnect_send_no_answer(server):
    server.faults.extend(["reset", "disconnect"])
    with pytest.raises(requests.ConnectionError, match="reset|aborted"):
        get(server)
    with pytest.raises(requests.ConnectionError):
        get(server)
    assert get(server).ok


def test_broken_bodies(server):
    server.faults.extend(["malformed", "half", "truncated"])
    with pytest.raises(ValueError):
        get(server).json()
    half = get(server)
    assert half.status_code == 200 and int(half.headers["Content-Length"]) == len(half.content)
    with pytest.raises(ValueError):
        half.json()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(server)


def test_content_faults(server):
    normal = get(server, countTotal="true").json()
    server.faults.extend(["missing-fields", "empty-with-token", "ok", "drop-token"])
    lean = get(server).json()
    assert ids(lean) == ids(normal)
    assert all(set(s) == {"protocolSection"} for s in lean["studies"])
    assert all(set(s["protocolSection"]) == {"identificationModule"} for s in lean["studies"])
    empty = get(server, countTotal="true").json()
    assert empty["studies"] == [] and empty["totalCount"] == normal["totalCount"]
    again = get(server, pageToken=empty["nextPageToken"]).json()
    assert ids(again) == ids(normal)  # the token asks for the same page again
    assert "nextPageToken" not in get(server).json()


def test_slow_fault_waits_then_answers(server):
    server.faults.append("slow:0.4")
    start = time.monotonic()
    assert get(server).ok
    assert time.monotonic() - start >= 0.4


def test_counters_and_latency(server):
    server.latency = 0.2
    start = time.monotonic()
    sizes = [len(get(server, pageSize=str(n)).content) for n in (1, 5)]
    assert time.monotonic() - start >= 0.4
    assert server.request_count == 2 and server.bytes_sent == sum(sizes)
    assert [r.body_bytes for r in server.log] == sizes
    server.reset_counters()
    assert server.request_count == 0 and server.bytes_sent == 0 and server.log == []


def test_stop_drops_kept_alive_connections(server):
    with requests.Session() as session:
        assert session.get(server.studies_url, timeout=5).ok
        server.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(server.studies_url, timeout=5)


def test_gzip_like_the_registry():
    with RegistryStandIn(compress=True) as s:
        answer = requests.get(s.studies_url, params={"pageSize": "20"}, timeout=5)
        assert answer.headers["Content-Encoding"] == "gzip"
        assert len(answer.json()["studies"]) == 20
        assert s.bytes_sent < len(answer.content) / 3  # counted as sent, compressed


def test_runs_by_hand_as_a_module():
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.standin", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "Serving 64 recorded studies at http://127.0.0.1:" in line
        api_url = line.split(" at ")[1].split()[0]
        answer = requests.get(f"{api_url}/studies", params={"pageSize": "2"}, timeout=5)
        assert len(answer.json()["studies"]) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=5)
