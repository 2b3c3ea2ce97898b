"""Streamlit shell over trials_helper: fetch recruiting MBC trials and show where they came from."""

from __future__ import annotations

import streamlit as st

from trials_helper.client import RegistryClient, SearchQuery
from trials_helper.config import load_settings
from trials_helper.errors import TrialsHelperError
from trials_helper.source import get_studies
from trials_helper.studies import parse_study, trials_frame

st.set_page_config(page_title="Trials helper: metastatic breast cancer", layout="wide")


@st.cache_resource
def client() -> RegistryClient:
    return RegistryClient(load_settings())


def main() -> None:
    st.title("Metastatic breast cancer trials")
    st.caption("Informs a conversation with your oncologist; it is not medical advice.")
    include_nyr = st.sidebar.checkbox("Include not-yet-recruiting trials", key="include_nyr")
    refresh = st.sidebar.button("Refresh from the registry", key="refresh")
    try:
        result = get_studies(
            client(), SearchQuery.recruiting(include_not_yet=include_nyr), refresh=refresh
        )
    except TrialsHelperError as exc:
        st.error(str(exc))
        return
    if result.stale:
        st.warning(result.source_line())
    else:
        st.info(result.source_line())
    trials = [parse_study(s) for s in result.studies]
    frame = trials_frame(trials)
    if frame.empty:
        st.write("No trials matched.")
        return
    st.dataframe(
        frame[["nct_id", "title", "phases", "overall_status", "sponsor", "last_update", "url"]],
        column_config={"url": st.column_config.LinkColumn("Registry page")},
        hide_index=True,
        key="table",
    )


main()
