"""Sidebar inputs: profile, location and options, read into the package's plain objects.

Every widget has a `key` (the AppTest suite finds widgets by key) and "unknown" is the default
everywhere, so a person can search before answering anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from trials_helper.errors import LocationError, ProfileError
from trials_helper.geo import RADIUS_CHOICES, LocationFilter, location_filter
from trials_helper.guidance import load_guidance
from trials_helper.profile import CHOICES, HELP, LABELS, Profile
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

_NICE = {
    "unknown": "Unknown / not sure",
    "yes": "Yes",
    "no": "No",
    "positive": "Positive",
    "negative": "Negative",
    "low": "Low (HER2-low)",
    "zero": "Zero (IHC 0)",
    "pre": "Premenopausal",
    "post": "Postmenopausal",
    "female": "Female",
    "male": "Male",
    "none": "None",
    "stable": "Treated and stable",
    "active": "Active or untreated",
    "0": "None",
    "1": "One",
    "2+": "Two or more",
}

PHASE_LABELS = {
    "EARLY_PHASE1": "Early phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "Not applicable",
}


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


def _profile_widgets() -> tuple[Profile | None, str]:
    values: dict[str, object] = {}
    st.sidebar.header("1. Your profile")
    st.sidebar.caption(
        "Leave anything you are not sure about as 'Unknown'. Unknown never hides a trial."
    )
    for title, names in SECTIONS:
        with st.sidebar.expander(title, expanded=title.startswith("Cancer")):
            for name in names:
                values[name] = st.selectbox(
                    LABELS[name],
                    CHOICES[name],
                    index=CHOICES[name].index("unknown"),
                    format_func=lambda v: _NICE.get(v, v),
                    key=f"profile_{name}",
                    help=HELP.get(name),
                )
            if title == "About you":
                age = st.number_input(
                    "Age (leave 0 if you prefer not to say)",
                    min_value=0,
                    max_value=120,
                    value=0,
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
    radius = st.sidebar.selectbox(
        "Within",
        RADIUS_CHOICES,
        index=RADIUS_CHOICES.index(100),
        key="radius",
        format_func=lambda r: "Any distance" if r is None else f"{r:g}",
    )
    unit = st.sidebar.radio(
        "Units",
        ("mi", "km"),
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
    profile, profile_error = _profile_widgets()
    location, location_error, place_label = _location_widgets()
    options, include_nyr = _option_widgets()
    refresh = st.sidebar.button(
        "Refresh from ClinicalTrials.gov",
        key="refresh",
        help="Fetch fresh data now instead of using the saved copy.",
    )
    return FormInput(
        profile, profile_error, location, location_error, place_label, options, include_nyr, refresh
    )
