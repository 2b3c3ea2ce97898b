"""The app's first screen through AppTest, with the registry mocked by real recorded studies."""

from __future__ import annotations

import pytest
import requests
import responses
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.registry_fakes import STUDIES_URL, paged, real_studies, serve_pages

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches(monkeypatch):
    import streamlit as st

    monkeypatch.setenv("TRIALS_HELPER_RETRIES", "0")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_lists_recruiting_trials_with_source_line():
    studies = real_studies("RECRUITING")
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(studies, 1000))
        at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert f"The registry reports {len(studies)} studies" in at.info[0].value
    assert at.metric[0].value == str(len(studies))  # every recruiting study was read
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == int(at.metric[1].value)


def test_registry_down_without_cache_shows_an_error_not_a_traceback():
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, STUDIES_URL, body=requests.ConnectionError("offline"))
        at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "could not be reached" in at.error[0].value
