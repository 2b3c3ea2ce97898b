"""The page flow: read the form, load data, select, then draw the tabs."""

from __future__ import annotations

import streamlit as st

from app import data, render
from app.form import read_form
from trials_helper.errors import TrialsHelperError
from trials_helper.geo import geo_filter_param
from trials_helper.search import select
from trials_helper.sheet import DISCLAIMER


def _geo(form) -> str | None:
    """filter.geo for the registry when a place and a distance are set (CLI and app alike)."""
    loc = form.location
    if loc is None or loc.origin is None or loc.radius is None:
        return None
    return geo_filter_param(loc.origin, loc.radius, loc.unit)


def run() -> None:
    st.set_page_config(
        page_title="Trials helper: metastatic breast cancer", page_icon="🎗️", layout="wide"
    )
    st.title("Clinical trials for metastatic breast cancer")
    st.caption(DISCLAIMER)
    form = read_form()

    if form.refresh:
        st.session_state["refresh_nonce"] = st.session_state.get("refresh_nonce", 0) + 1
    nonce = st.session_state.get("refresh_nonce", 0)
    try:
        with st.spinner("Fetching recruiting trials from ClinicalTrials.gov…"):
            loaded = data.load(form.options.statuses, _geo(form), nonce, _refresh=form.refresh)
    except TrialsHelperError as exc:
        st.error(str(exc), icon="🚫")
        render.about()
        return
    render.data_banner(loaded.result, data.notes(loaded))

    if form.profile_error:
        st.error(form.profile_error)
        return
    if form.location_error:
        st.error(form.location_error)
        return
    profile = form.profile
    assert profile is not None
    for note in profile.warnings():
        st.warning(note)

    try:
        outcome = select(loaded.analysed, profile, form.location, form.options)
    except TrialsHelperError as exc:
        st.error(str(exc))
        return
    unit = form.location.unit if form.location else "mi"
    origin = form.location.origin if form.location else None
    render.summary(loaded.result, outcome)
    render.subtype_notes(profile)
    rows = render.export_rows(outcome, loaded.result, unit)

    tabs = st.tabs(
        [
            "Trials by treatment type",
            "Map",
            "Table",
            "Before you talk to your oncologist",
            "About and limits",
        ]
    )
    with tabs[0]:
        render.groups_view(outcome.groups, unit)
    with tabs[1]:
        render.map_view(outcome, origin, unit)
    with tabs[2]:
        render.table_view(rows)
    with tabs[3]:
        render.discussion_panel(profile, outcome, loaded.result, rows, form.place_label, unit)
    with tabs[4]:
        render.about()
