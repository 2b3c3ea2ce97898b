"""Sidebar inputs: profile, location and options, read into the package's plain objects.

Every widget has a `key` (the AppTest suite finds widgets by key) and "unknown" is the default
everywhere, so a person can search before answering anything. Common answers are one click
(segmented controls) rather than two (a select box).

The search lives in the page address: every answer that differs from its default is a query
parameter (`?hr=positive&her2=low&place=02115&radius=100`), written on each run, and a link
with them opens the same search (read once, when a session starts). The parameter names and
values are the codes of `trials_helper` (the profile's field names and values), never the words
on the buttons, so a link keeps working when the words change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from trials_helper.errors import LocationError, ProfileError
from trials_helper.geo import RADIUS_CHOICES, LocationFilter, location_filter
from trials_helper.guidance import CATEGORY_KEYS, load_guidance
from trials_helper.profile import CHOICES, HELP, LABELS, UNKNOWN, VALUE_WORDS, Profile
from trials_helper.safetext import md_escape
from trials_helper.search import PHASE_CHOICES, SearchOptions

SECTIONS = (
    (
        "Cancer subtype and test results",
        ("hr", "her2", "brca", "pdl1", "pik3ca", "esr1", "akt1", "pten"),
    ),
    ("About you", ("sex", "menopause")),
    (
        "Treatments since the cancer spread",
        (
            "prior_endocrine",
            "prior_cdk46",
            "chemo_lines",
            "prior_her2",
            "prior_tdxd",
            "prior_other_adc",
            "prior_immunotherapy",
            "prior_parp",
        ),
    ),
    ("Where the cancer has spread", ("bone", "brain", "liver", "lung", "other_sites")),
)

# Words on the one-click buttons: short, so a row fits the side panel (the help and the
# sheet's "About me" use the longer profile.VALUE_WORDS).
_BUTTON = {
    **VALUE_WORDS,
    "low": "Low",
    "zero": "Zero",
    "pre": "Before",
    "post": "After",
    "stable": "Treated, stable",
    "active": "Active",
    "2+": "2 or more",
}

PHASE_LABELS = {
    "EARLY_PHASE1": "Early phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "Not applicable",
}

UNITS = ("mi", "km")


@dataclass
class FormInput:
    profile: Profile | None
    profile_error: str
    location: LocationFilter | None
    location_error: str
    place_label: str
    options: SearchOptions
    include_not_yet: bool
    refresh: bool


# ------------------------------------------------------------------ the search in the address


@dataclass(frozen=True)
class Param:
    """One query parameter: the widget key it fills, its default, how to read and write it."""

    key: str
    default: Any
    read: Callable[[list[str]], Any]  # raises ValueError for a value it does not know
    write: Callable[[Any], list[str]]


def _one_of(choices: tuple[Any, ...], parse: Callable[[str], Any] = str):
    def read(values: list[str]) -> Any:
        value = parse(values[-1].strip().lower())
        if value not in choices:
            raise ValueError(values[-1])
        return value

    return read


def _radius(text: str) -> float | None:
    return None if text in ("any", "") else float(text)


def _age(values: list[str]) -> int:
    age = int(values[-1])
    if not 0 <= age <= 120:
        raise ValueError(values[-1])
    return age


def _text(values: list[str]) -> str:
    return values[-1][:200]


def _flag(values: list[str]) -> bool:
    if values[-1].lower() not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(values[-1])
    return values[-1].lower() in ("1", "true", "yes")


def _many(choices: tuple[str, ...]):
    def read(values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in choices]
        if unknown:
            raise ValueError(unknown[0])
        return list(dict.fromkeys(values))

    return read


URL_PARAMS: dict[str, Param] = {
    **{
        name: Param(f"profile_{name}", UNKNOWN, _one_of(choices), lambda v: [v])
        for name, choices in CHOICES.items()
    },
    "age": Param("profile_age", 0, _age, lambda v: [str(v)]),
    "place": Param("place", "", _text, lambda v: [v]),
    "radius": Param(
        "radius",
        100,
        _one_of(RADIUS_CHOICES, _radius),
        lambda v: ["any" if v is None else f"{v:g}"],
    ),
    "unit": Param("unit", "mi", _one_of(UNITS), lambda v: [v]),
    "country": Param("country", "", _text, lambda v: [v]),
    "state": Param("state", "", _text, lambda v: [v]),
    "no_coords": Param("include_no_coords", False, _flag, lambda v: ["1"]),
    "nyr": Param("include_nyr", False, _flag, lambda v: ["1"]),
    "phase": Param("phases", [], _many(PHASE_CHOICES), list),
    "category": Param("categories", [], _many(CATEGORY_KEYS), list),
    "early": Param("show_early", False, _flag, lambda v: ["1"]),
}


def _seed_from_url() -> None:
    """Once per session: fill the widgets from the page address; then give every widget its
    default, so no widget is created with both a default and a session value."""
    state = st.session_state
    if not state.get("_seeded_from_url"):
        state["_seeded_from_url"] = True
        ignored = []
        for name, param in URL_PARAMS.items():
            values = st.query_params.get_all(name)
            if not values:
                continue
            try:
                state[param.key] = param.read(values)
            except ValueError:
                ignored.append(f"{name}={values[-1][:40]}")
        state["_url_ignored"] = ignored
    for param in URL_PARAMS.values():
        if param.key not in state:
            state[param.key] = param.default


def search_params() -> dict[str, list[str]]:
    """The answers that differ from their defaults, as query parameters (codes, not words);
    with a place, the distance always (a link should say "within 100" even though 100 is the
    default)."""
    out: dict[str, list[str]] = {}
    has_place = bool(str(st.session_state.get("place", "")).strip())
    for name, param in URL_PARAMS.items():
        value = st.session_state.get(param.key, param.default)
        if isinstance(value, str):
            value = value.strip()
        if value != param.default or (name == "radius" and has_place):
            out[name] = param.write(value)
    return out


def _write_url(params: dict[str, list[str]]) -> None:
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if current != params:
        st.query_params.from_dict(params)


def search_link(params: dict[str, list[str]]) -> str:
    """The address that opens this search again."""
    base = (st.context.url or "").split("?")[0]
    query = urlencode(params, doseq=True)
    return f"{base}?{query}" if query else (base or "?")


def _save_widgets(params: dict[str, list[str]]) -> None:
    st.sidebar.header("4. Save this search")
    st.sidebar.markdown(
        "The page address holds your answers. Bookmark this page, or copy this link, to open "
        "the same search again."
    )
    st.sidebar.code(search_link(params), language=None, wrap_lines=True)
    st.sidebar.caption(
        "The link holds what you entered about your health. Share it only with people you trust."
    )
    ignored = st.session_state.get("_url_ignored") or []
    if ignored:
        st.sidebar.warning(
            "Some parts of the link were not understood and were left out: " + ", ".join(ignored)
        )


# ------------------------------------------------------------------ widgets


def _profile_widgets() -> tuple[Profile | None, str]:
    values: dict[str, object] = {}
    st.sidebar.header("1. Your profile")
    st.sidebar.markdown(
        "Leave anything you are not sure about as 'Not sure'. 'Not sure' never hides a trial."
    )
    for title, names in SECTIONS:
        with st.sidebar.expander(title, expanded=title.startswith("Cancer")):
            for name in names:
                values[name] = st.segmented_control(
                    LABELS[name],
                    CHOICES[name],
                    required=True,
                    format_func=lambda v: _BUTTON.get(v, v),
                    key=f"profile_{name}",
                    help=HELP.get(name),
                    width="stretch",
                )
            if title == "About you":
                age = st.number_input(
                    "Age (leave 0 if you prefer not to say)",
                    min_value=0,
                    max_value=120,
                    step=1,
                    key="profile_age",
                )
                values["age"] = int(age) if age else None
    try:
        return Profile.from_dict(values), ""
    except ProfileError as exc:
        return None, str(exc)


def _location_widgets() -> tuple[LocationFilter | None, str, str]:
    st.sidebar.header("2. Where")
    place = st.sidebar.text_input(
        "ZIP code, city, or 'lat, lon'",
        key="place",
        placeholder="e.g. 02115, Portland, OR, or Paris, France",
    )
    radius = st.sidebar.segmented_control(
        "Within",
        RADIUS_CHOICES,
        required=True,
        key="radius",
        format_func=lambda r: "Any" if r is None else f"{r:g}",
        width="stretch",
    )
    unit = st.sidebar.radio(
        "Units",
        UNITS,
        horizontal=True,
        key="unit",
        format_func=lambda u: "miles" if u == "mi" else "kilometres",
    )
    country = st.sidebar.text_input(
        "Country (optional)", key="country", placeholder="e.g. United States"
    )
    state = st.sidebar.text_input(
        "State or region (optional)", key="state", placeholder="e.g. Massachusetts or MA"
    )
    no_coords = st.sidebar.checkbox(
        "Also show trials whose sites have no map location", key="include_no_coords"
    )
    try:
        flt = location_filter(place, radius, unit, country, state, no_coords)
    except LocationError as exc:
        message = str(exc)
        if exc.candidates:
            message += " Did you mean: " + "; ".join(exc.candidates) + "?"
        return None, message, ""
    if flt is not None and flt.origin is not None:
        # say which place was understood, so a wrong guess is seen at once
        within = "any distance" if flt.radius is None else f"{flt.radius:g} {flt.unit}"
        st.sidebar.markdown(
            f"Searching within {within} of **{md_escape(flt.origin.label, extra=':$')}**"
        )
    return flt, "", flt.origin.label if flt and flt.origin else ""


def _option_widgets() -> tuple[SearchOptions, bool]:
    st.sidebar.header("3. Options")
    include_nyr = st.sidebar.checkbox("Include trials not yet recruiting", key="include_nyr")
    phases = st.sidebar.multiselect(
        "Phases",
        PHASE_CHOICES,
        key="phases",
        format_func=lambda p: PHASE_LABELS.get(p, p),
        placeholder="All phases",
    )
    guidance = load_guidance()
    categories = st.sidebar.multiselect(
        "Kinds of treatment",
        list(guidance.categories),
        key="categories",
        format_func=lambda c: guidance.category(c).title,
        placeholder="All kinds",
    )
    early = st.sidebar.checkbox("Also show studies that read as early-stage only", key="show_early")
    statuses = ("RECRUITING", "NOT_YET_RECRUITING") if include_nyr else ("RECRUITING",)
    options = SearchOptions(
        phases=tuple(phases),
        categories=tuple(categories),
        metastatic_only=not early,
        statuses=statuses,
    )
    return options, include_nyr


def read_form() -> FormInput:
    _seed_from_url()
    st.markdown(
        "Enter your details in the side panel on the left. On a phone, open it with the "
        "**»** button at the top left."
    )
    profile, profile_error = _profile_widgets()
    location, location_error, place_label = _location_widgets()
    options, include_nyr = _option_widgets()
    params = search_params()
    _write_url(params)
    _save_widgets(params)
    refresh = st.sidebar.button(
        "Refresh from ClinicalTrials.gov",
        key="refresh",
        help="Fetch fresh data now instead of using the saved copy.",
    )
    return FormInput(
        profile, profile_error, location, location_error, place_label, options, include_nyr, refresh
    )
