"""The discussion sheet: the same content as Markdown and printable HTML, registry text inert."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime

from tests.conftest import load_study
from trials_helper.match import match_trial
from trials_helper.profile import Profile
from trials_helper.sheet import DISCLAIMER, SheetData, html_page, markdown, pdf_bytes
from trials_helper.studies import parse_study

PROFILE = Profile(hr="positive", her2="zero", prior_cdk46="yes", bone="yes")


def sheet_for(study: dict) -> SheetData:
    m = match_trial(PROFILE, parse_study(study))
    return SheetData(PROFILE, [m], "Data line.", generated=datetime(2026, 11, 25, tzinfo=UTC))


def test_both_formats_carry_profile_trial_verdicts_questions_and_sources():
    data = sheet_for(load_study("NCT06016738"))
    md, page = markdown(data), html_page(data)
    for text in (md, page):
        assert "Prepared 2026-11-25" in text
        assert "NCT06016738" in text and "https://clinicaltrials.gov/study/NCT06016738" in text
        assert "Hormone receptors" in text and "ER/PR" in text and "): Positive" in text
        assert "HER2 status: Zero (IHC 0)" in text.replace("\\", "")  # words, not codes
        assert "The trial requires an earlier CDK4/6 inhibitor" in text
        assert "Hormone (endocrine) therapy" in text  # its main category's guidance
        # trial pros and cons are sourced, each document by its title and kind
        assert "How is metastatic breast cancer treated?" in text and "patient guide" in text
        assert "questions" in text.lower()
    assert DISCLAIMER in md
    assert page.startswith("<!doctype html>") and "@media print" in page
    assert "- [ ] " in md  # a checklist to take along


def test_registry_markup_is_escaped_in_both_formats():
    # copy of the real record NCT06016738 with a title carrying markup
    study = copy.deepcopy(load_study("NCT06016738"))
    study["protocolSection"]["identificationModule"]["briefTitle"] = (
        "<script>alert(1)</script> *x* | y"
    )
    data = sheet_for(study)
    page = html_page(data)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    md = markdown(data)
    assert "<script>" not in md and "\\*x\\*" in md and "\\|" in md


def test_empty_sheet_says_so():
    data = SheetData(Profile(), [], "Data line.")
    assert "No trials marked yet." in markdown(data)
    assert "every trial rule is marked &#x27;ask your oncologist&#x27;" in html_page(data)


def _pdf_text(data: SheetData) -> str:
    """The text drawn on the pages (uncompressed PDF content streams, spaces as written)."""
    raw = pdf_bytes(data, compress=False).decode("latin-1")
    shown = re.findall(r"\(((?:[^()\\]|\\.)*)\)\s*Tj", raw)
    return " ".join(re.sub(r"\\(.)", r"\1", s) for s in shown)  # PDF string escapes


def test_pdf_carries_the_same_content():
    data = sheet_for(load_study("NCT06016738"))
    raw = pdf_bytes(data)
    assert raw.startswith(b"%PDF-") and raw.rstrip().endswith(b"%%EOF")
    text = _pdf_text(data)
    for words in (
        "Clinical trials to discuss with my oncologist",
        "Prepared 2026-11-25",
        "NCT06016738",
        "https://clinicaltrials.gov/study/NCT06016738",
        "Hormone receptors (ER/PR): Positive",
        "HER2 status: Zero (IHC 0)",
        "The trial requires an earlier CDK4/6 inhibitor",
        "Questions to ask",
        "How is metastatic breast cancer treated?",
        "It is not medical advice",
    ):
        assert words in text, words


def test_pdf_copes_with_characters_its_font_lacks():
    # copy of the real record NCT06016738 with a title in characters outside Latin-1
    study = copy.deepcopy(load_study("NCT06016738"))
    study["protocolSection"]["identificationModule"]["briefTitle"] = (
        "ER≥ 1% – “HER2‐low” μg 乳腺癌 ✅ (x) \\ end"
    )
    text = _pdf_text(sheet_for(study))
    assert 'ER>= 1% - "HER2-low" \xb5g ??? ? (x) \\ end' in text


def test_pdf_for_an_empty_sheet():
    text = _pdf_text(SheetData(Profile(), [], "Data line."))
    assert "No trials marked yet." in text and "ask your oncologist" in text


def test_every_format_names_the_cohort_that_may_fit():
    # NCT05544929 (real record) takes several groups; the TNBC one is the one that may fit
    profile = Profile(hr="negative", her2="zero")
    m = match_trial(profile, parse_study(load_study("NCT05544929")))
    assert m.cohort_note.startswith("Triple negative breast cancer")
    data = SheetData(profile, [m], "Data line.", generated=datetime(2026, 11, 25, tzinfo=UTC))
    for text in (markdown(data), html_page(data), _pdf_text(data)):
        assert "Group in this trial: Triple negative breast cancer" in text
        assert "may fit; check with your oncologist" in text


def test_sources_are_named_by_title_and_kind_in_every_format():
    data = sheet_for(load_study("NCT06016738"))
    for text in (markdown(data), html_page(data), _pdf_text(data)):
        assert ".txt" not in text  # file names stay in the data
        assert "source: " not in text.lower()  # no "Sources: source: ..."
        assert "Treatment of Metastatic Breast Cancer" in text and "NCI summary" in text
        assert "from " in text


def test_every_format_shows_aims_situation_and_support():
    """The documents' goals, the parts about this person's subtype and spread, and support
    and palliative care are in the sheet, not only the trial sections."""
    data = sheet_for(load_study("NCT06016738"))  # HR-positive, HER2-zero, CDK4/6, bone
    for text in (markdown(data), html_page(data), _pdf_text(data)):
        assert "What treatment aims for" in text
        assert "About your situation: Hormone-receptor-positive" in text
        assert "About your situation: Spread to the bones" in text
        assert "About your situation: Earlier treatment" in text
        assert "Support and comfort" in text and "Palliative care" in text
        assert "Triple-negative" not in text


def test_relevant_subtypes_follow_the_profile():
    from trials_helper.guidance import load_guidance
    from trials_helper.sheet import relevant_subtypes

    g = load_guidance()

    def keys(**fields):
        return [s.key for s in relevant_subtypes(Profile(**fields), g)]

    assert keys() == []
    assert keys(hr="negative", her2="zero") == ["triple_negative", "pdl1"]
    assert keys(hr="positive", her2="positive", brca="yes", brain="stable") == [
        "hr_positive",
        "her2_positive",
        "brca",
        "brain",
    ]
    assert keys(menopause="pre", lung="yes", chemo_lines="1") == [
        "menopause",
        "lung",
        "treatment_history",
    ]


def test_about_me_uses_words_not_codes():
    profile = Profile(her2="low", chemo_lines="2+", brain="stable", menopause="post", age=61)
    data = SheetData(profile, [], "Data line.")
    for text in (markdown(data).replace("\\", ""), html_page(data), _pdf_text(data)):
        for words in (
            "HER2 status: Low (HER2-low)",
            "Lines of chemotherapy for advanced disease: Two or more",
            "Spread to the brain: Treated and stable",
            "Menopausal status: After menopause",
            "Age: 61",
        ):
            assert words in text, words
        assert "HER2 status: low" not in text and ": 2+" not in text
