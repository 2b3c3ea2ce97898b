"""The page flow: read the form, run the search (trials_helper.pipeline), then draw the tabs."""

from __future__ import annotations

import streamlit as st

from app import data, render
from app.form import read_form
from trials_helper.config import load_settings
from trials_helper.errors import TrialsHelperError
from trials_helper.pipeline import DataRequest, SearchRequest
from trials_helper.sheet import DISCLAIMER

VIEW = "view"  # session-state key of the view shown
TABS = (
    "Trials by treatment type",
    "Map",
    "Table",
    "Before you talk to your oncologist",
    "About and limits",
)


def run() -> None:
    with data.quiet().drawing():  # background work waits meanwhile
        _page()


def _page() -> None:
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

    # Only the chosen view is drawn: a widget change redraws the cards, not the map, the table
    # and the sheet as well. A one-click choice rather than st.tabs: the tab bar cost the
    # browser about 0.1 s at every rerun (a profile change went from 0.57 s to 0.46 s).
    if VIEW not in st.session_state:
        st.session_state[VIEW] = TABS[0]
    view = st.segmented_control("View", TABS, required=True, key=VIEW)
    parts = {
        TABS[0]: lambda: render.groups_view(result.groups, result.unit, settings.cards_per_group),
        TABS[1]: lambda: render.map_view(result.site_frame, result.origin, result.unit),
        TABS[2]: lambda: render.table_view(result.rows),
        TABS[3]: lambda: render.discussion_panel(result, form.place_label),
        TABS[4]: render.about,
    }
    parts[view or TABS[0]]()
    data.housekeeper().warm_places()
