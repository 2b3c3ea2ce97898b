"""The page flow: read the form, run the search (trials_helper.pipeline), then draw the tabs."""

from __future__ import annotations

import streamlit as st

from app import data, render
from app.form import read_form
from trials_helper.config import load_settings
from trials_helper.errors import TrialsHelperError
from trials_helper.pipeline import DataRequest, SearchRequest
from trials_helper.sheet import DISCLAIMER

VIEW = "view"  # session-state key of the open tab
TABS = (
    "Trials by treatment type",
    "Map",
    "Table",
    "Before you talk to your oncologist",
    "About and limits",
)


def run() -> None:
    st.set_page_config(
        page_title="Trials helper: metastatic breast cancer", page_icon="🎗️", layout="wide"
    )
    st.title("Clinical trials for metastatic breast cancer")
    st.caption(DISCLAIMER)
    data.warm_up()
    form = read_form()

    if form.profile_error:
        st.error(form.profile_error)
        return
    if form.location_error:
        st.error(form.location_error)
        return
    profile = form.profile
    assert profile is not None
    request = SearchRequest(
        profile=profile,
        location=form.location,
        options=form.options,
        data=DataRequest(statuses=form.options.statuses),
        refresh=form.refresh,
    )
    try:
        settings = load_settings()
        result = data.search(request)
    except TrialsHelperError as exc:
        st.error(str(exc), icon="🚫")
        render.about()
        return
    render.data_banner(result.fetched, data.notes(result))
    for note in profile.warnings():
        st.warning(note)
    render.summary(result.fetched, result.outcome)
    render.subtype_notes(profile)

    # Only the open tab is drawn (each switch reruns the page, which costs little now): a
    # widget change redraws the cards, not the map, the table and the sheet as well.
    tabs = st.tabs(TABS, key=VIEW, on_change="rerun")
    parts = (
        lambda: render.groups_view(result.groups, result.unit, settings.cards_per_group),
        lambda: render.map_view(result.site_frame, result.origin, result.unit),
        lambda: render.table_view(result.rows),
        lambda: render.discussion_panel(result, form.place_label),
        render.about,
    )
    for tab, draw in zip(tabs, parts, strict=True):
        if tab.open is not False:
            with tab:
                draw()
    data.warm_places()
