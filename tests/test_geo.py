"""Location: geocoding offline, nearest RECRUITING site, filters, map rows, bad input."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CTGOV, load_study
from trials_helper.errors import LocationError
from trials_helper.geo import (
    SITE_ROW_COLUMNS,
    LocationFilter,
    Place,
    apply_location_filter,
    distance,
    geo_filter_param,
    geocode,
    nearest_recruiting_site,
    recruiting_site_count,
    site_distances,
    site_rows,
)
from trials_helper.studies import iter_studies, parse_study

BOSTON = Place(42.3601, -71.0589, "Boston", "latlon")


def sites_study(nct: str):
    data = json.loads((CTGOV / "sites" / f"{nct}.json").read_text())
    return parse_study(next(iter_studies(data)))


@pytest.fixture(scope="module")
def big():
    """NCT04267848: 1,148 sites, 659 RECRUITING, 393 SUSPENDED, 96 ACTIVE_NOT_RECRUITING."""
    return sites_study("NCT04267848")


def test_nearest_recruiting_site_matches_brute_force(big):
    got = nearest_recruiting_site(big, BOSTON)
    candidates = [
        (distance(BOSTON.lat, BOSTON.lon, s.lat, s.lon), s)
        for s in big.sites
        if s.status == "RECRUITING" and s.has_coordinates
    ]
    # many sites share their city's geoPoint: ties go to facility name, then city
    best_d, best_site = min(candidates, key=lambda x: (x[0], x[1].facility, x[1].city))
    assert got.site == best_site and got.distance == pytest.approx(best_d)
    assert got.site.status == "RECRUITING" and not got.status_inferred
    closer_closed = [
        s
        for s in big.sites
        if s.status != "RECRUITING"
        and s.has_coordinates
        and distance(BOSTON.lat, BOSTON.lon, s.lat, s.lon) < best_d
    ]
    # whether or not a closed site is nearer, it is never chosen
    assert all(s != got.site for s in closer_closed)


def test_recruiting_count_and_sites_without_coordinates(big):
    assert recruiting_site_count(big) == 659
    ds = site_distances(big, BOSTON)
    assert [d.distance for d in ds[-4:]] == [None] * 4  # 4 sites without geoPoint sort last
    assert all(
        a.distance <= b.distance
        for a, b in zip(ds, ds[1:], strict=False)
        if a.distance is not None and b.distance is not None
    )


def test_closed_site_near_and_recruiting_site_far():
    # Copy of real record NCT02513394 (sites carry no status) with two site statuses set:
    # the nearest site to Mobile, AL is marked COMPLETED, one far away RECRUITING.
    t = parse_study(load_study("NCT02513394"))
    mobile = Place(30.6954, -88.0399, "Mobile", "latlon")
    near = min(
        (s for s in t.sites if s.has_coordinates),
        key=lambda s: distance(mobile.lat, mobile.lon, s.lat, s.lon),
    )
    far = max(
        (s for s in t.sites if s.has_coordinates),
        key=lambda s: distance(mobile.lat, mobile.lon, s.lat, s.lon),
    )
    sites = tuple(
        dataclasses.replace(s, status="COMPLETED")
        if s is near
        else dataclasses.replace(s, status="RECRUITING")
        if s is far
        else s
        for s in t.sites
    )
    got = nearest_recruiting_site(sites, mobile)
    assert got.site.facility == far.facility and got.distance > 1000
    assert recruiting_site_count(sites) == 1


def test_sites_without_any_status_count_as_recruiting_and_say_so():
    t = parse_study(load_study("NCT02513394"))  # real record, no site statuses
    got = nearest_recruiting_site(t, BOSTON)
    assert got.status_inferred and got.distance is not None
    assert recruiting_site_count(t) == len(t.sites)


def test_ties_are_broken_by_facility_then_city():
    t = sites_study("NCT06341426")
    only = t.sites[0]
    twin_a = dataclasses.replace(only, facility="B Hospital")
    twin_b = dataclasses.replace(only, facility="A Hospital")
    got = nearest_recruiting_site((twin_a, twin_b), BOSTON)
    assert got.site.facility == "A Hospital"


@pytest.mark.parametrize(
    "text,label,kind",
    [
        ("02115", "02115 (Boston, MA)", "zip"),
        ("10001", "10001 (New York, NY)", "zip"),
        ("94305-1234", "94305 (Stanford, CA)", "zip"),
        ("Portland, OR", "Portland, Oregon, United States", "city"),
        ("portland, maine", "Portland, Maine, United States", "city"),
        ("Paris, France", "Paris, France", "city"),
        ("Montreal", "Montréal, Canada", "city"),
        ("42.36, -71.06", "42.3600, -71.0600", "latlon"),
    ],
)
def test_geocode(text, label, kind):
    p = geocode(text)
    assert (p.label, p.kind) == (label, kind)


def test_ambiguous_city_lists_candidates():
    with pytest.raises(LocationError) as err:
        geocode("Portland")
    assert "Portland, Oregon, United States" in err.value.candidates
    assert "Portland, Maine, United States" in err.value.candidates
    assert "add the state or country" in str(err.value)


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "Please enter a place"),
        ("99999", "not found in the US ZIP list"),
        ("Xyzzyville", "No city called"),
        ("Paris, Narnia", "not a known US state or country"),
        ("95, 200", "latitude must be between"),
    ],
)
def test_bad_places_are_explained(text, words):
    with pytest.raises(LocationError, match=words):
        geocode(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_geocode_never_raises_anything_else(text):
    with contextlib.suppress(LocationError):
        geocode(text)


def test_distance_units():
    ny = geocode("10001")
    mi = distance(BOSTON.lat, BOSTON.lon, ny.lat, ny.lon, "mi")
    km = distance(BOSTON.lat, BOSTON.lon, ny.lat, ny.lon, "km")
    assert 180 < mi < 200 and km == pytest.approx(mi * 6371.0 / 3958.8)
    with pytest.raises(LocationError, match="unit"):
        distance(0, 0, 1, 1, "furlong")


def test_geo_filter_param():
    assert geo_filter_param(BOSTON, 100) == "distance(42.3601,-71.0589,100mi)"
    assert geo_filter_param(BOSTON, 50.5, "km") == "distance(42.3601,-71.0589,50.5km)"
    with pytest.raises(LocationError, match="positive"):
        geo_filter_param(BOSTON, -5)


def test_radius_country_state_filters(big):
    small = sites_study("NCT06341426")
    trials = [big, small]
    near = apply_location_filter(trials, LocationFilter(origin=BOSTON, radius=100))
    for located in near:
        assert located.nearest.distance <= 100 and located.within_radius
    everywhere = apply_location_filter(trials, LocationFilter(origin=BOSTON, radius=None))
    assert len(everywhere) == 2
    us = apply_location_filter(trials, LocationFilter(country="USA"))
    assert all(any(s.country == "United States" for s in lt.trial.sites) for lt in us)
    ma = apply_location_filter([big], LocationFilter(origin=BOSTON, state="MA"))
    assert len(ma) == 1 and ma[0].nearest.site.state == "Massachusetts"  # 12 recruiting in MA
    nowhere = apply_location_filter([big], LocationFilter(country="Narnia"))
    assert nowhere == []


def test_trials_without_coordinates_kept_only_on_request():
    t = parse_study(load_study("NCT06016738"))  # converted record: sites without geoPoint
    t = dataclasses.replace(
        t, sites=tuple(dataclasses.replace(s, lat=None, lon=None) for s in t.sites) or t.sites
    )
    assert apply_location_filter([t], LocationFilter(origin=BOSTON, radius=100)) == []
    kept = apply_location_filter(
        [t], LocationFilter(origin=BOSTON, radius=100, include_without_coordinates=True)
    )
    assert len(kept) == 1 and not kept[0].has_coordinates
    assert "No recruiting site with a map location" in kept[0].label


def test_site_rows_for_the_map(big):
    frame = site_rows([big], BOSTON)
    assert tuple(frame.columns) == SITE_ROW_COLUMNS
    assert len(frame) == 1148 and int(frame["is_recruiting"].sum()) == 659
    assert frame["distance"].notna().sum() == 1144


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("St. John's", "st john s"),
        ("WINSTON-SALEM", "winston salem"),
        ("  Ann   Arbor ", "ann arbor"),
        ("Montréal", "montreal"),
        ("São Paulo", "sao paulo"),
        ("Düsseldorf (Altstadt)", "dusseldorf altstadt"),
        ("Łódź", "odz"),  # letters with no decomposition drop, as they always did
        ("", ""),
    ],
)
def test_place_names_fold_the_same_with_or_without_accents(name, folded):
    from trials_helper.geo import _fold

    assert _fold(name) == folded


def test_the_background_place_index_pauses_and_gives_the_same_index(monkeypatch):
    """The app builds the place index on a background thread that stops at each pause while a
    page is drawn; the index is the one a place typed first would build."""
    from trials_helper import geo

    built = geo._city_index()
    monkeypatch.setattr(geo, "_CITY_INDEX", [])
    pauses = []
    geo.warm_up(lambda: pauses.append(1))
    cities, _, _ = geo._geonames()
    assert len(pauses) >= len(cities) // geo._CHUNK  # a pause every few thousand cities
    assert geo._city_index() == built
    assert geo.geocode("Montreal").lat == pytest.approx(45.5, abs=0.2)
