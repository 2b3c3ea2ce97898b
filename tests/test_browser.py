"""End to end in real headless Chromium: `streamlit run` against the local registry stand-in.

The judge of issue #17: it walks the three people's paths, and checks every view with axe-core
(shipped inside the `axe-playwright-python` package, nothing fetched):
- a patient with a new profile: one-click answers, verdicts in words, what the documents say about
  her subtype, a marked trial and the discussion sheet, and the page on a phone;
- a navigator: a saved link reopens "trials within 100 miles for this profile, with contacts" in
  at most five interactions (and a new profile takes few more), the place understood is said;
- a researcher: the CSV and the record of the profile and filters that made it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from devtools.ports import streamlit_app
from tests.conftest import ROOT
from tests.standin import RegistryStandIn

CHROMIUM = "/usr/bin/chromium"
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT = 60_000  # ms

# A returning navigator's saved search: a HER2-low, HR-positive profile after a CDK4/6
# inhibitor, within 100 miles of Shanghai (the recorded recruiting trial with a located site and
# a site contact is there: NCT06331169).
NAVIGATOR_QUERY = "hr=positive&her2=low&prior_cdk46=yes&place=Shanghai&radius=100"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """One app and one registry stand-in for every path in this file."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (CI installs it with apt: chromium)")
    pytest.importorskip("playwright.sync_api")
    if shutil.which("streamlit") is None and not (Path(sys.prefix) / "bin" / "streamlit").exists():
        pytest.skip("streamlit command not found")
    with RegistryStandIn() as server:
        env = {
            **os.environ,
            "TRIALS_HELPER_API_URL": server.api_url,
            "TRIALS_HELPER_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
            "TRIALS_HELPER_RETRIES": "0",
        }
        with streamlit_app(ROOT, env) as url:
            yield url


@pytest.fixture(scope="module")
def browser(app_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        yield b
        b.close()


def new_page(browser, width: int = 1400, height: int = 1000):
    return browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)


def settle(page) -> None:
    """Wait until the script has finished its run (stale elements are drawn faded meanwhile,
    which would be checked for contrast as they are)."""
    page.wait_for_timeout(400)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] button')"
        " && !document.querySelector('[data-stale=\"true\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=WAIT,
    )
    page.wait_for_timeout(300)


def open_app(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("radiogroup", name="View").get_by_role("radio", name="Map").wait_for(
        timeout=WAIT
    )
    settle(page)


def tab(page, name: str) -> None:
    """One of the views (a one-click choice above the results)."""
    page.get_by_role("radiogroup", name="View").get_by_role("radio", name=name).click()
    settle(page)


def answer(page, label: str, choice: str) -> None:
    """One click: the choice in the one-click answer (a radio group) named `label`."""
    page.get_by_role("radiogroup", name=label).get_by_role("radio", name=choice).click()
    settle(page)


def axe_check(page, view: str) -> list[tuple[str, str, int]]:
    """No serious or critical axe-core violation, and headings in order, on this view."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    bad += [v for v in violations if v["id"] == "heading-order"]
    assert not bad, f"{view}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}" for v in bad
    )
    return [(v["id"], v["impact"], len(v["nodes"])) for v in violations]


def download(page, button: str, target: Path) -> bytes:
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name=button).click()
    info.value.save_as(target)
    return target.read_bytes()


def test_patient_new_profile_reads_words_marks_a_trial_and_takes_the_sheet(
    app_url, browser, tmp_path
):
    page = new_page(browser)
    open_app(page, app_url)
    page.get_by_role("heading", name="CDK4/6 inhibitors").wait_for(timeout=WAIT)
    axe_check(page, "first screen")

    answer(page, "Hormone receptors (ER/PR)", "Positive")
    answer(page, "HER2 status", "Low")
    page.get_by_text("likely not eligible").first.wait_for(timeout=WAIT)

    # what the documents say about her subtype, beside the results
    page.get_by_text("What the documents say about your subtype (HR-positive, HER2-low)").click()
    page.get_by_text("Estrogen or progesterone help these cancers grow.").first.wait_for(
        timeout=WAIT
    )
    # a card's verdicts, each with its word
    card = page.get_by_test_id("stExpander").filter(has_text="Why: meets").first
    card.locator("summary").click()
    verdict = re.compile(r"^(Meets|Does not meet|Unknown — ask your oncologist):$")
    card.get_by_text(verdict).first.wait_for(timeout=WAIT)
    settle(page)
    axe_check(page, "trials, subtype notes and a card's verdicts open")

    page.get_by_text("Add to my discussion sheet").first.click()
    settle(page)
    tab(page, "Before you talk to your oncologist")
    for words in ("What treatment aims for", "About your situation", "Support and comfort"):
        page.get_by_role("heading", name=words).wait_for(timeout=WAIT)
    body = page.get_by_test_id("stMain").inner_text()
    assert "Treatment of Metastatic Breast Cancer" in body and "NCI summary" in body
    assert ".txt" not in body and "source:" not in body.lower()
    axe_check(page, "discussion tab")
    sheet = download(page, "Discussion sheet (PDF)", tmp_path / "sheet.pdf")
    assert sheet.startswith(b"%PDF-")
    md = download(page, "Discussion sheet (Markdown)", tmp_path / "sheet.md").decode("utf-8")
    assert "HER2 status: Low \\(HER2-low\\)" in md and "## Trials I marked" in md

    for name in ("Map", "Table", "About and limits"):
        tab(page, name)
        axe_check(page, f"{name} tab")

    # the same search on a phone: the form is behind », and the page says so
    phone = new_page(browser, 390, 844)
    open_app(phone, page.url)
    phone.get_by_text("On a phone, open it with the » button at the top left.").wait_for(
        timeout=WAIT
    )
    axe_check(phone, "phone")
    phone.screenshot(path=str(tmp_path / "phone.png"))
    page.screenshot(path=str(tmp_path / "patient.png"), full_page=True)
    phone.close()
    page.close()


def _navigator_result(page) -> None:
    """What the navigator came for: the trial near Shanghai, its distance and its contact."""
    page.get_by_text("Searching within 100 mi of").wait_for(timeout=WAIT)
    assert "Shanghai, China" in page.get_by_test_id("stSidebar").inner_text()
    page.get_by_text("Contact at this site:").first.wait_for(timeout=WAIT)
    main = page.get_by_test_id("stMain").inner_text()
    assert "Jian Zhang" in main and "Nearest recruiting site:" in main


def test_navigator_reopens_a_saved_search_in_five_interactions(app_url, browser):
    page = new_page(browser)
    clicks = 0
    open_app(page, f"{app_url}?{NAVIGATOR_QUERY}")  # the saved link
    clicks += 1
    _navigator_result(page)
    axe_check(page, "navigator: results from a link")
    tab(page, "Table")  # the list with site, distance and contact first
    clicks += 1
    page.get_by_test_id("stDataFrame").wait_for(timeout=WAIT)
    axe_check(page, "navigator: table")
    assert clicks <= 5
    # the page offers the same link to save again
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text().strip()
    assert parse_qs(urlparse(link).query) == parse_qs(NAVIGATOR_QUERY)
    page.close()


def test_navigator_new_profile_takes_few_interactions_and_gives_the_same_link(app_url, browser):
    page = new_page(browser)
    clicks = 0
    open_app(page, app_url)
    clicks += 1
    answer(page, "Hormone receptors (ER/PR)", "Positive")
    answer(page, "HER2 status", "Low")
    page.get_by_text("Treatments since the cancer spread").click()
    answer(page, "CDK4/6 inhibitor (palbociclib, ribociclib, abemaciclib)", "Yes")
    clicks += 4
    place = page.get_by_label("ZIP code, city, or 'lat, lon'")
    place.fill("Shanghai")
    place.press("Enter")
    clicks += 1  # typing the place counts as one
    settle(page)
    _navigator_result(page)
    assert clicks <= 7  # issue #17: 20 clicks and a typed field before
    # the address now holds this search: it is the link a returning navigator opens
    assert parse_qs(urlparse(page.url).query) == parse_qs(NAVIGATOR_QUERY)
    page.close()


def test_researcher_takes_the_csv_and_the_record_of_what_made_it(app_url, browser, tmp_path):
    page = new_page(browser)
    open_app(page, f"{app_url}?her2=low&place=Shanghai&radius=any&no_coords=1&phase=PHASE2")
    tab(page, "Before you talk to your oncologist")
    text = download(page, "Trials list (CSV)", tmp_path / "trials.csv").decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("nct_id,url,brief_title") and len(lines) > 1
    record = json.loads(download(page, "How this list was made (JSON)", tmp_path / "q.json"))
    assert record["profile"] == {"her2": "low"}
    assert record["location"]["near"] == "Shanghai" and record["location"]["radius"] is None
    assert record["location"]["include_without_coordinates"] is True
    assert record["filters"]["phases"] == ["PHASE2"]
    assert record["rows"] == len(lines) - 1
    assert record["query_url"].startswith("http") and record["trials_helper_version"]
    assert record["app_link_params"]["place"] == ["Shanghai"]
    page.close()
