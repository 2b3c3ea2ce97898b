"""The Streamlit app through AppTest, the registry mocked with real recorded studies."""

from __future__ import annotations

import copy
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, load_study, summary_counts
from tests.registry_fakes import STUDIES_URL, paged, real_studies, serve_pages

APP = str(ROOT / "streamlit_app.py")
RECRUITING = real_studies("RECRUITING")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    import streamlit as st

    monkeypatch.setenv("TRIALS_HELPER_RETRIES", "0")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def registry():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_pages(rsps, paged(RECRUITING, 1000))
        yield rsps


def rerun(at: AppTest) -> AppTest:
    """Run the page again (as a click does) and check it raised nothing."""
    at.run()
    assert not at.exception
    return at


def open_groups(at: AppTest) -> AppTest:
    """Open every kind of treatment (only the first group's cards are drawn at first)."""
    from app.render import group_key
    from trials_helper.guidance import load_guidance

    for category in load_guidance().categories:
        at.session_state[group_key(category)] = True
    return at


def start(*, every_group: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if every_group:
        open_groups(at)
    return rerun(at)


def set_profile(at: AppTest, **fields) -> AppTest:
    for name, value in fields.items():
        at.segmented_control(key=f"profile_{name}").set_value(value)
    return rerun(at)


def expand(at: AppTest) -> AppTest:
    """Open every drawn card's reasons and questions (drawn only when opened)."""
    for box in at.checkbox:
        if box.key and box.key.startswith("mark_"):
            nct = box.key.removeprefix("mark_")
            at.session_state[f"why_{nct}"] = True
    return rerun(at)


def unfold(at: AppTest) -> AppTest:
    """Open every group's trials that are likely not eligible (folded away by default)."""
    for toggle in at.toggle:
        if toggle.key and toggle.key.startswith("unlikely_"):
            toggle.set_value(True)
    return rerun(at)


def metrics(at: AppTest) -> list[int]:
    return summary_counts(at)


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_first_screen_shows_data_date_groups_and_disclaimer(registry):
    at = start()
    assert f"The registry reports {len(RECRUITING)} studies" in at.info[0].value
    assert "live from the registry" in at.info[0].value
    found, kept, possible, check = metrics(at)
    assert found == len(RECRUITING) and 0 < kept <= found
    assert any("not medical advice" in c.value for c in at.caption)
    titles = [s.value for s in at.subheader]
    assert "CDK4/6 inhibitors" in titles and "Hormone (endocrine) therapy" in titles
    assert any(
        "Left out:" in c.value and "not for metastatic disease" in c.value for c in at.caption
    )


def test_hr_positive_after_cdk46_profile(registry):
    at = set_profile(
        start(),
        hr="positive",
        her2="zero",
        prior_endocrine="yes",
        prior_cdk46="yes",
        chemo_lines="0",
        brain="none",
    )
    found, kept, possible, check = metrics(at)
    assert possible >= 1
    body = texts(at)
    assert ":green-badge[possible match]" in body
    # trials likely not eligible are folded away behind their count until asked for
    assert ":red-badge[likely not eligible]" not in body
    assert any(t.label.endswith("likely not eligible") for t in at.toggle)
    body = texts(expand(unfold(at)))
    assert ":red-badge[likely not eligible]" in body
    # the verdicts carry reasons and the trial's own words
    assert "The trial needs earlier CDK4/6 inhibitor treatment, and you have had it." in body
    assert any(c.value.startswith("Trial's words:") for c in at.caption)


def test_her2_positive_with_stable_brain_metastases(registry):
    at = set_profile(start(), hr="negative", her2="positive", brain="stable")
    # a card's reasons are drawn when it is opened
    assert "and yours is HER2-positive." not in texts(at)
    assert "**Questions to ask about this trial**" not in texts(at)
    body = texts(expand(at))
    assert "The trial is for HER2-positive cancer, and yours is HER2-positive." in body
    # the same box holds the questions the trial raises, below its reasons
    assert body.count("**Questions to ask about this trial**") == len(cards(at))
    assert (
        "The trial asks for brain metastases only if treated and stable, and yours are "
        "treated and stable." in body
    )


def test_triple_negative_pdl1_positive_first_line(registry):
    at = set_profile(start(), hr="negative", her2="zero", pdl1="positive", chemo_lines="0")
    body = texts(expand(unfold(at)))
    # (no recruiting recorded trial requires PD-L1: NCT06099769 asks PD-L1-positive patients for
    # earlier pembrolizumab, which is not an entry requirement; test_match covers the PD-L1 rule)
    assert "The trial is for hormone-receptor-negative cancer, and yours is HR-negative." in body
    assert (
        "The trial needs at least one earlier chemotherapy for advanced disease, and you "
        "have had none." in body
    )


def test_all_unknown_never_shows_a_contradiction(registry):
    at = start()
    assert not [t for t in at.toggle if t.key and t.key.startswith("unlikely_")]
    body = texts(expand(at))
    assert "**Does not meet:**" not in body  # no verdict says "does not meet"
    assert ":red-badge[likely not eligible]" not in body
    assert "**Unknown — ask your oncologist:**" in body  # rules are there, to ask about


def test_impossible_profile_is_an_error_not_a_traceback(registry):
    at = start()
    at.segmented_control(key="profile_sex").set_value("male")
    at.segmented_control(key="profile_menopause").set_value("post")
    at.run()
    assert not at.exception
    assert "Menopausal status applies to women" in at.error[0].value


def test_filters_change_the_list(registry):
    at = start()
    before = metrics(at)[1]
    at.multiselect(key="categories").set_value(["cdk46"])
    at.run()
    assert not at.exception
    assert 0 < metrics(at)[1] < before
    assert "CDK4/6 inhibitors" in [s.value for s in at.subheader]
    at.multiselect(key="categories").set_value([])
    at.multiselect(key="phases").set_value(["PHASE3"])
    at.run()
    assert metrics(at)[1] < before
    at.multiselect(key="phases").set_value([])
    at.checkbox(key="show_early").check()
    at.run()
    assert metrics(at)[1] > before  # early-stage studies are listed too


def test_not_yet_recruiting_changes_the_registry_query(registry):
    at = start()
    at.checkbox(key="include_nyr").check()
    at.run()
    assert not at.exception
    statuses = [
        parse_qs(urlparse(c.request.url).query)["filter.overallStatus"][0] for c in registry.calls
    ]
    assert statuses[0] == "RECRUITING" and statuses[-1] == "RECRUITING,NOT_YET_RECRUITING"


def test_empty_result_message(registry):
    at = start()
    at.multiselect(key="categories").set_value(["parp"])
    at.run()
    assert not at.exception
    assert any("No trials match these filters" in i.value for i in at.info)


def _site_with_coordinates() -> dict:
    # NCT06331169 is recruiting with a site that has coordinates (in China); the other recorded
    # recruiting records carry none, so they are kept only with the option ticked.
    return next(
        s
        for s in load_study("NCT06331169")["protocolSection"]["contactsLocationsModule"][
            "locations"
        ]
        if s.get("geoPoint")
    )


def test_place_and_distance_are_applied_here_without_a_registry_request(registry):
    at = start()
    asked = len(registry.calls)
    site = _site_with_coordinates()
    at.text_input(key="place").set_value(f"{site['geoPoint']['lat']}, {site['geoPoint']['lon']}")
    at.segmented_control(key="radius").set_value(50)
    at.run()
    assert not at.exception
    body = texts(at)
    assert "Nearest recruiting site:" in body and "0 mi" in body
    assert metrics(at)[1] == 1
    # another place, another distance, the other unit: the studies already loaded are filtered
    at.text_input(key="place").set_value("Boston, MA")
    at.run()
    assert metrics(at)[1] == 0
    at.segmented_control(key="radius").set_value(None)
    at.radio(key="unit").set_value("km")
    at.run()
    assert not at.exception
    assert len(registry.calls) == asked  # no request for any of it
    assert all("filter.geo" not in c.request.url for c in registry.calls)


def test_no_coordinates_option_keeps_those_trials_at_a_set_distance(registry):
    """The registry's filter.geo dropped studies whose sites have no coordinates before the
    app saw them, so the option kept none of them; it now works at any distance."""
    from trials_helper.geo import LocationFilter, Place
    from trials_helper.profile import Profile
    from trials_helper.search import analyse, select

    at = start()
    site = _site_with_coordinates()
    lat, lon = site["geoPoint"]["lat"], site["geoPoint"]["lon"]
    at.text_input(key="place").set_value(f"{lat}, {lon}")
    at.segmented_control(key="radius").set_value(25)
    at.run()
    assert metrics(at)[1] == 1
    at.checkbox(key="include_no_coords").check()
    at.run()
    assert not at.exception
    expected = select(
        analyse(RECRUITING),
        Profile(),
        LocationFilter(Place(lat, lon, "", "latlon"), 25, include_without_coordinates=True),
    )
    assert metrics(at)[1] == len(expected.matches) > 10


def test_unknown_and_ambiguous_places_are_explained(registry):
    at = start()
    at.text_input(key="place").set_value("Portland")
    at.run()
    assert not at.exception
    assert "Did you mean: Portland, Oregon, United States" in at.error[0].value
    at.text_input(key="place").set_value("99999")
    at.run()
    assert "not found in the US ZIP list" in at.error[0].value


def test_registry_down_without_cache_is_an_error():
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, STUDIES_URL, body=requests.ConnectionError("offline"))
        at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "could not be reached" in at.error[0].value
    assert "internet connection" in at.error[0].value


def test_registry_down_with_cache_shows_saved_results_with_date(monkeypatch):
    import streamlit as st

    monkeypatch.setenv("TRIALS_HELPER_CACHE_EXPIRE_HOURS", "0.00001")  # answers go stale at once
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged(RECRUITING, 1000))
        first = start()
        kept = metrics(first)[1]
    st.cache_resource.clear()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, STUDIES_URL, body=requests.ConnectionError("offline"))
        at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    banner = at.warning[0].value
    assert "saved results" in banner and "results as of" in banner
    assert metrics(at)[1] == kept


def open_tab(at: AppTest, label: str) -> AppTest:
    """Only the open tab is drawn; switching reruns the page, as a click on the tab does."""
    at.session_state["view"] = label
    return rerun(at)


def test_marked_trial_goes_to_the_discussion_panel_and_sheet(registry):
    at = set_profile(start(), hr="positive", her2="zero", prior_cdk46="yes")
    at.checkbox(key="mark_NCT06016738").check()
    at.run()
    assert not at.exception
    assert "(NCT06016738) — check with your oncologist" not in texts(at)  # another tab
    body = texts(open_tab(at, "Before you talk to your oncologist"))
    assert "(NCT06016738) — check with your oncologist" in body
    labels = {b.proto.label: b for b in at.get("download_button")}
    assert {
        "Discussion sheet (printable HTML)",
        "Discussion sheet (Markdown)",
        "Discussion sheet (PDF)",
        "Trials list (CSV)",
    } <= set(labels)
    # the mark outlived its card, which was not drawn while the other tab was open
    open_tab(at, "Trials by treatment type")
    assert at.checkbox(key="mark_NCT06016738").value is True


def cards(at: AppTest) -> list[str]:
    return [c.key for c in at.checkbox if c.key and c.key.startswith("mark_")]


def test_only_the_first_kind_of_treatment_is_drawn_until_another_is_opened(registry):
    """A profile change redraws every card drawn; the first group holds the best matches, the
    others show their heading, count and a "Show" box that draws them when opened."""
    at = start(every_group=False)
    heads = [h.value for h in at.subheader]
    assert len(heads) > 2
    first = cards(at)
    assert 0 < len(first) <= 5
    boxes = [e for e in at.expander if e.label.startswith("Show the")]
    assert len(boxes) == len(heads) - 1
    assert all(e.label.endswith("and what the documents say") for e in boxes)
    everything = cards(open_groups(at).run())
    assert set(first) < set(everything)


def test_each_group_draws_its_best_cards_and_shows_more_on_request(registry, monkeypatch):
    monkeypatch.setenv("TRIALS_HELPER_CARDS_PER_GROUP", "2")
    at = start()
    sizes = {}  # group title -> trials in it, from "N trials — ..." under each heading
    heads = [c for c in at.caption if " trial" in c.value[:12]]
    for head, cap in zip(at.subheader, heads, strict=True):
        sizes[head.value] = int(cap.value.split()[0])
    assert max(sizes.values()) > 2
    shown = len(cards(at))
    assert shown == sum(min(2, n) for n in sizes.values())  # nobody is unlikely: all unknown
    more = [b for b in at.button if b.key and b.key.startswith("more_shown_")]
    assert len(more) == sum(1 for n in sizes.values() if n > 2)
    label = more[0].label
    assert label.startswith("Show ") and "not shown" in label
    more[0].click()
    at.run()
    assert not at.exception
    assert len(cards(at)) == shown + min(2, int(label.split("(")[1].split()[0]))
    # the table still lists every trial
    open_tab(at, "Table")
    assert len(at.dataframe[0].value) == metrics(at)[1]


def test_only_the_open_tab_is_drawn(registry):
    at = start()
    assert at.get("download_button") == [] and not at.get("deck_gl_json_chart")
    assert at.subheader  # the cards
    open_tab(at, "Map")
    assert not at.subheader and not at.get("download_button")
    open_tab(at, "Table")
    assert len(at.dataframe) == 1 and not at.subheader


def test_download_contents_match_what_is_shown(registry):
    """The buttons hold the package's outputs; check those outputs for this session's data."""
    from trials_helper.client import RegistryClient
    from trials_helper.config import load_settings
    from trials_helper.export import COLUMN_NAMES
    from trials_helper.pipeline import SearchRequest, run_search
    from trials_helper.profile import Profile
    from trials_helper.sheet import SheetData, html_page, markdown

    client = RegistryClient(load_settings({}, api_url=STUDIES_URL.rsplit("/", 1)[0]))
    result = run_search(SearchRequest(profile=Profile(hr="positive")), client=client)
    csv_text = result.csv.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == ",".join(COLUMN_NAMES)
    assert len(csv_text.strip().splitlines()) == len(result.matches) + 1
    sheet = SheetData(Profile(hr="positive"), result.matches[:1], result.fetched.source_line())
    md = markdown(sheet)
    assert result.matches[0].trial.nct_id in md and "Questions to ask" in md
    page = html_page(sheet)
    assert page.startswith("<!doctype html>") and "@media print" in page


def test_registry_text_is_shown_as_text_not_markup():
    # A copy of the real record NCT06016738 whose brief title is changed to carry markup.
    study = copy.deepcopy(load_study("NCT06016738"))
    study["protocolSection"]["identificationModule"]["briefTitle"] = (
        "<script>alert(1)</script> **bold** [link](http://x)"
    )
    with responses.RequestsMock() as rsps:
        serve_pages(rsps, paged([study], 1000))
        at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    shown = [m for m in at.markdown if "alert" in m.value]
    assert shown
    for m in shown:
        assert "<script>" not in m.value  # escaped as &lt;script&gt;
        assert "&lt;script&gt;" in m.value
        assert "\\*\\*bold\\*\\*" in m.value and "\\[link\\]" in m.value


def test_the_documents_on_aims_situation_and_support_are_shown(registry):
    at = set_profile(start(), hr="negative", her2="zero", bone="yes")
    notes = [e for e in at.expander if e.label.startswith("What the documents say about your")]
    assert notes and notes[0].label.endswith("(triple-negative)")
    body = texts(at) + texts(open_tab(at, "Before you talk to your oncologist"))
    for words in (
        "These cancers have no hormone receptors and no extra HER2.",  # subtype
        "Extra drugs can make bones stronger.",  # where it has spread
        "usually cannot be cured",  # goals of treatment
        "Palliative care does not treat the cancer itself.",  # support
    ):
        assert words in body, words
    headings = [h.value for h in at.subheader]
    assert {"What treatment aims for", "About your situation", "Support and comfort"} <= set(
        headings
    )
    assert "Treatment of Metastatic Breast Cancer" in body and ".txt" not in body


def _params(at: AppTest) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}


def test_the_search_lives_in_the_page_address_and_a_link_reopens_it(registry):
    """A navigator's round trip: answers go into the address as codes; a new session opened
    with that address shows the same answers and the same results."""
    at = set_profile(start(), hr="positive", her2="low", prior_cdk46="yes", brain="none")
    at.text_input(key="place").set_value("Boston, MA")
    at.segmented_control(key="radius").set_value(None)  # any distance
    at.checkbox(key="include_no_coords").check()
    at.multiselect(key="phases").set_value(["PHASE2", "PHASE3"])
    at.run()
    assert not at.exception
    params = _params(at)
    assert params == {
        "hr": ["positive"],
        "her2": ["low"],
        "prior_cdk46": ["yes"],
        "brain": ["none"],
        "place": ["Boston, MA"],
        "radius": ["any"],
        "no_coords": ["1"],
        "phase": ["PHASE2", "PHASE3"],
    }
    shown = metrics(at)
    (link,) = [c.value for c in at.get("code")]
    assert link.startswith("?") and "hr=positive" in link and "phase=PHASE2&phase=PHASE3" in link

    again = AppTest.from_file(APP, default_timeout=120)
    for name, values in params.items():
        again.query_params[name] = values if len(values) > 1 else values[0]
    again.run()
    assert not again.exception
    assert again.segmented_control(key="profile_her2").value == "low"
    assert again.segmented_control(key="profile_prior_cdk46").value == "yes"
    assert again.segmented_control(key="radius").value is None
    assert again.multiselect(key="phases").value == ["PHASE2", "PHASE3"]
    assert metrics(again) == shown
    assert _params(again) == params
    # the place that was understood is said
    assert any("Boston, Massachusetts" in m.value for m in again.sidebar.markdown)


def test_a_link_with_values_it_does_not_know_says_so_and_keeps_the_rest(registry):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"hr": "positive", "brain": "maybe", "radius": "7", "age": "x"})
    at.run()
    assert not at.exception
    assert at.segmented_control(key="profile_hr").value == "positive"
    assert at.segmented_control(key="profile_brain").value == "unknown"
    warning = at.sidebar.warning[0].value
    assert "brain=maybe" in warning and "radius=7" in warning and "age=x" in warning
    assert _params(at) == {"hr": ["positive"]}  # the address keeps only what was understood


def test_one_click_answers_and_a_hint_for_the_side_panel(registry):
    at = start()
    assert len(at.segmented_control) >= 24  # every profile answer, and the distance
    assert at.segmented_control(key="profile_her2").options == [
        "Positive",
        "Low",
        "Zero",
        "Not sure",
    ]
    assert any("side panel on the left" in m.value and "»" in m.value for m in at.markdown)


def test_every_verdict_carries_its_word_not_only_an_icon(registry):
    at = set_profile(start(), hr="positive", her2="zero", prior_cdk46="yes", chemo_lines="0")
    at = expand(unfold(at))  # reasons are drawn when a card's "Why" is opened
    lines = [m.value for m in at.markdown if ":material/" in m.value and " — " in m.value]
    assert lines
    words = ("**Meets:**", "**Does not meet:**", "**Unknown — ask your oncologist:**")
    for line in lines:
        assert any(w in line for w in words), line
    body = texts(at)
    assert all(w in body for w in words)
    assert not any(e in body for e in ("✅", "❓", "❌"))  # no emoji-only meaning


def test_every_card_says_who_to_call_or_that_no_contact_is_listed(registry, monkeypatch):
    monkeypatch.setenv("TRIALS_HELPER_CARDS_PER_GROUP", "100")  # every card drawn
    at = start()
    blocks = [m.value for m in at.markdown if m.value.startswith("#### [")]
    cards = [
        line for b in blocks for line in b.split("\n\n") if line.startswith(":material/call: ")
    ]
    assert len(blocks) == len(cards) == metrics(at)[1]  # one line per trial shown
    forms = (
        "**Contact at this site:** ",
        "No contact listed for this site. **The trial's central contact:** ",
        "**Trial contact:** ",
        "No contact listed for this trial.",
    )
    assert all(c.removeprefix(":material/call: ").startswith(forms) for c in cards)
    # most recorded records list no contact at all: the card says so instead of nothing
    assert any("No contact listed for this trial." in c for c in cards)


def test_contact_line_wording():
    from app.render import contact_line
    from trials_helper.studies import Contact

    central = [Contact(name="Study Desk", phone="555-0100", email="")]
    assert contact_line(None, []).startswith("No contact listed for this trial.")
    assert contact_line(None, central).startswith("**Trial contact:** Study Desk")

    class Site:
        contacts: tuple = ()

    assert contact_line(Site(), central).startswith(
        "No contact listed for this site. **The trial's central contact:** Study Desk"
    )


def test_the_table_uses_the_cards_words_with_site_distance_and_contact_first(registry):
    at = open_tab(set_profile(start(), hr="positive"), "Table")
    table = at.dataframe[0].value
    assert list(table.columns)[:5] == [
        "Trial",
        "Match",
        "Nearest recruiting site",
        "Distance",
        "Contact",
    ]
    kinds = set(table["Kind of treatment"])
    assert "CDK4/6 inhibitors" in kinds and not kinds & {"cdk46", "her2_directed", "adc"}
    assert not any("PHASE" in p or ";" in p for p in table["Phase"])
    assert any(p == "Phase 1/2" for p in table["Phase"]) or any(
        p.startswith("Phase ") for p in table["Phase"]
    )
    assert set(table["Match"]) <= {
        "possible match",
        "check with your oncologist",
        "likely not eligible",
    }


def test_a_progress_bar_shows_while_the_set_loads_and_not_after(registry, monkeypatch):
    from app import data
    from trials_helper.pipeline import Stage

    bars = []

    class Recording(data._ProgressBar):
        def __init__(self) -> None:
            super().__init__()
            self.reports: list = []
            bars.append(self)

        def __call__(self, stage, done, total):
            self.reports.append((stage, done, total))
            super().__call__(stage, done, total)

    monkeypatch.setattr(data, "_ProgressBar", Recording)
    at = start()
    (bar,) = bars
    assert bar.reports[0][0] == Stage.FETCH and bar.reports[-1][0] == Stage.READ
    assert bar.reports[-1][1:] == (len(RECRUITING), len(RECRUITING))
    assert not at.get("progress")  # gone once the results are there
    set_profile(at, hr="positive")
    AppTest.from_file(APP, default_timeout=120).run()  # another visitor: the set is kept
    assert len(bars) == 1 and len(registry.calls) == 1


def test_background_work_waits_while_a_page_is_drawn(monkeypatch):
    """The place index is built on a thread of the app's process; it waits at its pauses
    while any page is drawn and for a moment after, so a profile change is not slowed."""
    import threading
    import time

    from app.data import Quiet

    monkeypatch.setattr(Quiet, "SETTLE", 0.2)
    quiet = Quiet()
    passed = threading.Event()
    waiter = threading.Thread(target=lambda: (quiet.wait(), passed.set()), daemon=True)
    with quiet.drawing():
        waiter.start()
        assert not passed.wait(0.3)  # a page is being drawn: the work waits
        ended = time.monotonic()
    assert passed.wait(5)
    assert time.monotonic() - ended >= 0.15  # and a moment after it is drawn
    quiet.wait()  # nothing drawn since: returns at once after the settle time


def test_after_a_load_the_heap_is_tidied_and_the_place_index_built_in_the_background(registry):
    """Once the first results are drawn, one background thread builds the place indexes and
    freezes what the load built out of the collector's way (a full collection over a thousand
    studies' objects ended every page drawn and held back most of a profile change). The load
    itself runs with the collector off and leaves it on."""
    import gc

    from app import data

    keeper = data.housekeeper()
    before = keeper.tidied
    try:
        at = start()
        assert gc.isenabled()
        deadline = time.monotonic() + 60
        while keeper.tidied == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keeper.tidied == before + 1 and gc.get_freeze_count() > 0
        assert keeper.places_done.is_set()  # built before the tidy, so frozen with the rest
        set_profile(at, hr="positive")  # pages drawn after it are as before
        assert not at.exception and summary_counts(at)[0] == len(RECRUITING)
    finally:
        gc.unfreeze()
