"""Matching realistic profiles to real recorded trials: verdicts, reasons, levels and questions."""

from __future__ import annotations

import pytest

from tests.conftest import load_study
from trials_helper.facets import classify_trial
from trials_helper.match import (
    ASK,
    CHECK,
    MEETS,
    NOT_MET,
    POSSIBLE,
    UNLIKELY,
    level_of,
    match_all,
    match_trial,
)
from trials_helper.profile import Profile
from trials_helper.studies import Trial, parse_study

HR_POS_AFTER_CDK = Profile(
    hr="positive",
    her2="zero",
    prior_endocrine="yes",
    prior_cdk46="yes",
    chemo_lines="0",
    brain="none",
    menopause="post",
    sex="female",
    age=58,
)
HER2_POS_STABLE_BRAIN = Profile(
    hr="negative", her2="positive", prior_her2="yes", brain="stable", sex="female", age=47
)
TNBC_PDL1_FIRST_LINE = Profile(
    hr="negative", her2="zero", pdl1="positive", chemo_lines="0", sex="female"
)
HER2_LOW_AFTER_CHEMO = Profile(
    hr="positive",
    her2="low",
    prior_endocrine="yes",
    prior_cdk46="yes",
    chemo_lines="1",
    brain="none",
)
ALL_UNKNOWN = Profile()


def trial(nct: str) -> Trial:
    return parse_study(load_study(nct))


def verdict(m, facet):
    found = [v for v in m.verdicts if v.facet == facet]
    assert found, f"no verdict on {facet}: {[v.facet for v in m.verdicts]}"
    return found[0]


def test_hr_positive_after_cdk46_fits_a_post_cdk46_trial():
    m = match_trial(HR_POS_AFTER_CDK, trial("NCT06016738"))  # palazestrant after CDK4/6i + ET
    assert m.level == POSSIBLE, m.verdicts
    assert verdict(m, "hr").verdict == MEETS
    assert verdict(m, "her2").verdict == MEETS
    cdk = verdict(m, "prior_cdk46")
    assert cdk.verdict == MEETS and "you have had it" in cdk.reason
    assert cdk.evidence  # the trial's own words
    assert verdict(m, "prior_chemo").verdict == MEETS


def test_hr_positive_after_cdk46_is_unlikely_for_a_first_line_trial():
    m = match_trial(HR_POS_AFTER_CDK, trial("NCT06760637"))  # untreated advanced disease only
    assert m.level == UNLIKELY
    assert verdict(m, "prior_cdk46").verdict == NOT_MET
    assert "Previously untreated" in verdict(m, "prior_cdk46").evidence


def test_her2_positive_with_stable_brain_metastases():
    m = match_trial(HER2_POS_STABLE_BRAIN, trial("NCT06439693"))  # HER2+, treated brain mets ok
    assert verdict(m, "her2").verdict == MEETS
    assert verdict(m, "brain_mets").verdict == MEETS
    other = match_trial(HER2_POS_STABLE_BRAIN, trial("NCT06016738"))  # ER+, HER2- only
    assert other.level == UNLIKELY
    assert verdict(other, "her2").verdict == NOT_MET
    assert "HER2-positive" in verdict(other, "her2").reason


def test_triple_negative_pdl1_positive_first_line():
    m = match_trial(TNBC_PDL1_FIRST_LINE, trial("NCT05544929"))  # PD-L1 CPS>=1 cohort
    assert verdict(m, "pdl1").verdict == MEETS
    assert verdict(m, "prior_chemo").verdict == NOT_MET  # that cohort needs earlier chemo
    assert m.level == UNLIKELY


def test_her2_positive_or_low_trial_asks_a_her2_zero_patient():
    # NCT04704661: "HER2-positive or HER2-expressing tumors" (IHC 1-3+); the spec's value is
    # "any", but IHC 0 is not admitted
    t = trial("NCT04704661")
    assert classify_trial(t).her2.value == "any"
    zero = verdict(match_trial(Profile(her2="zero"), t), "her2")
    assert zero.verdict == ASK and "HER2-positive or HER2-low" in zero.reason
    assert "HER2-expressing" in zero.evidence
    for status in ("positive", "low"):
        assert verdict(match_trial(Profile(her2=status), t), "her2").verdict == MEETS
    unknown = verdict(match_trial(Profile(), t), "her2")
    assert unknown.verdict == ASK  # unknown never rules out


@pytest.mark.parametrize(
    "source, sentence, asks",
    [
        (
            "NCT02576665",
            "Patient received chemotherapy within 2 weeks prior to initiation of treatment with "
            "Toca 511 (6 weeks for nitrosoureas).",
            True,
        ),
        (
            "NCT04461600",
            "Current or recent (within 2 months of IP administration) gastrointestinal (GI) "
            "disease or disorders that increase the risk of diarrhea",
            False,
        ),
        (
            "NCT02513394",
            "Serum or urine pregnancy test must be negative in premenopausal women within 14 "
            "days of randomization",
            False,
        ),
    ],
)
def test_waiting_period_question_only_for_treatment_washouts(source, sentence, asks):
    from trials_helper.eligibility import EXCLUSION, Criterion
    from trials_helper.questions import trial_questions

    t = trial(source)
    qs = trial_questions(t, classify_trial(t), [Criterion(EXCLUSION, sentence)])
    assert any("waiting periods" in q for q in qs) is asks


def test_gbrca_carrier_against_a_real_brca_criterion():
    # Sentence from NCT01286987 (corpus): a cohort requiring a deleterious BRCA mutation.
    t = Trial(
        nct_id="NCT01286987",
        conditions=("Metastatic Breast Cancer",),
        eligibility_criteria="Inclusion Criteria:\n* Breast and ovarian cancer patients with "
        "deleterious or pathogenic BRCA mutations who have received no more than 4 prior "
        "regimens for metastatic disease.",
    )
    facets = classify_trial(t)
    assert facets.brca.value == "required"
    assert verdict(match_trial(Profile(brca="yes"), t, facets), "brca").verdict == MEETS
    assert verdict(match_trial(Profile(brca="no"), t, facets), "brca").verdict == NOT_MET
    assert verdict(match_trial(Profile(), t, facets), "brca").verdict == ASK


def test_her2_low_after_chemotherapy():
    m = match_trial(HER2_LOW_AFTER_CHEMO, trial("NCT06263543"))  # HER2-low/ultralow, after chemo
    assert verdict(m, "her2").verdict == MEETS
    assert verdict(m, "prior_chemo").verdict == MEETS
    zero = match_trial(Profile(her2="zero"), trial("NCT06263543"))
    assert verdict(zero, "her2").verdict == ASK and "ultralow" in verdict(zero, "her2").reason


@pytest.mark.parametrize(
    "nct",
    [
        "NCT06016738",
        "NCT06760637",
        "NCT06439693",
        "NCT05544929",
        "NCT06263543",
        "NCT05696626",
        "NCT06176261",
    ],
)
def test_unknown_never_rules_a_trial_out(nct):
    m = match_trial(ALL_UNKNOWN, trial(nct))
    assert all(v.verdict != NOT_MET for v in m.verdicts if v.facet != "admits_metastatic"), (
        m.verdicts
    )
    assert m.level in (POSSIBLE, CHECK)
    assert any(v.verdict == ASK for v in m.verdicts)


def test_sex_and_age_come_from_the_record():
    t = trial("NCT06016738")
    m = match_trial(Profile(age=15 + 10), t)
    assert all(v.facet != "age" or v.verdict == MEETS for v in m.verdicts)


def test_levels_are_derived_transparently():
    class V:
        def __init__(self, verdict):
            self.verdict = verdict

    assert level_of([V(MEETS), V(MEETS)]) == POSSIBLE
    assert level_of([V(MEETS), V(ASK)]) == CHECK
    assert level_of([V(ASK), V(NOT_MET)]) == UNLIKELY
    assert level_of([]) == POSSIBLE


def test_sort_order_possible_first_then_phase_and_update():
    trials = [trial(n) for n in ("NCT06760637", "NCT06016738", "NCT05544929", "NCT06263543")]
    ordered = match_all(HR_POS_AFTER_CDK, trials)
    levels = [m.level for m in ordered]
    assert levels == sorted(levels, key=[POSSIBLE, CHECK, UNLIKELY].index)
    assert ordered[0].trial.nct_id == "NCT06016738"


def test_questions_come_from_the_trials_own_features():
    m = match_trial(HR_POS_AFTER_CDK, trial("NCT06016738"))  # needs earlier CDK4/6i
    assert "requires an earlier CDK4/6 inhibitor" in " ".join(m.questions)
    randomised = match_trial(ALL_UNKNOWN, trial("NCT00089661"))  # placebo-controlled phase 3
    text = " ".join(randomised.questions)
    assert "groups by chance" in text and "placebo" in text
    early = match_trial(ALL_UNKNOWN, trial("NCT06188520"))  # phase 1
    assert any("phase 1" in q for q in early.questions)
    assert any("brain" in q for q in early.questions)


def test_prior_adc_is_read_and_matched_from_the_profile():
    # NCT06263543 (title: "SEquencing Sacituzumab Govitecan AfteR T-DXd") requires earlier T-DXd.
    t = trial("NCT06263543")
    assert classify_trial(t).prior_adc.value == "required"
    no = verdict(match_trial(Profile(prior_tdxd="no", prior_other_adc="no"), t), "prior_adc")
    assert no.verdict == NOT_MET and "T-DXd" in no.evidence
    yes = verdict(match_trial(Profile(prior_tdxd="yes"), t), "prior_adc")
    assert yes.verdict == MEETS
    unknown = verdict(match_trial(Profile(), t), "prior_adc")
    assert unknown.verdict == ASK  # unknown never rules out


def test_a_trials_own_questions_are_made_once_per_loaded_trial(monkeypatch):
    """The app matches every trial again on each widget change; the trial's own questions do
    not depend on the profile or the place, so they are made once (the place part is not)."""
    from trials_helper import questions

    t = trial("NCT06016738")
    facets = classify_trial(t)
    made = []
    real = questions._own_questions
    monkeypatch.setattr(questions, "_own_questions", lambda *a: made.append(1) or real(*a))
    first = match_trial(Profile(hr="positive"), t, facets)
    again = match_trial(Profile(hr="negative", her2="low"), t, facets, location_known=True)
    assert made == []  # made when first asked for: a search shows a few dozen cards
    assert again.questions[: len(first.questions)] == first.questions
    assert len(made) == 1
    assert "No site near me" in again.questions[-1] and "No site near me" not in "".join(
        first.questions
    )


def _one_line_trial(nct: str, line: str) -> Trial:
    """A real criterion as the whole eligibility text of a metastatic breast cancer study."""
    return Trial(
        nct_id=nct,
        brief_title="Metastatic breast cancer",
        conditions=("Metastatic Breast Cancer",),
        eligibility_criteria=f"Inclusion Criteria:\n\n* {line}",
    )


@pytest.mark.parametrize(
    "nct, line, verdict_kind",
    [
        # chemotherapy in any setting: a course before or after surgery may count, and the
        # profile counts lines for advanced disease only -> ask, never "does not meet"
        (
            "NCT00741260",
            "Prior treatment with a taxane in the neoadjuvant, adjuvant, locally advanced, "
            "and/or metastatic disease treatment setting.",
            ASK,
        ),
        (
            "NCT02574455",
            "Prior exposure to a taxane in localized or advanced/metastatic setting.",
            ASK,
        ),
        ("NCT01234402", "Has received 3 prior chemotherapy regimens in any setting", ASK),
        # lines are counted for advanced disease: none had, the trial is not for this person
        (
            "NCT01048099",
            "To begin protocol treatment, patients must have progressed after at least 1 previous "
            "chemotherapy regimen for metastatic breast cancer.",
            NOT_MET,
        ),
        # "0-1 prior" allows none: no rule at all (the "0-1 read as at least one")
        (
            "NCT00696072",
            "0-1 prior chemotherapy regimen for metastatic disease.",
            None,
        ),
    ],
)
def test_earlier_chemotherapy_for_a_person_with_none_for_advanced_disease(nct, line, verdict_kind):
    none_yet = Profile(chemo_lines="0")
    found = [
        v
        for v in match_trial(none_yet, _one_line_trial(nct, line)).verdicts
        if v.facet == "prior_chemo"
    ]
    assert [v.verdict for v in found] == ([verdict_kind] if verdict_kind else []), nct


def test_people_outside_a_lone_named_group_are_matched_on_what_binds_everyone():
    """NCT02915744 names one group ("For triple-negative breast cancer, a minimum of 1 prior
    cytotoxic chemotherapy regimen must have been administered ...") in a study for every
    receptor status: an HR-positive person is not ruled out by that group's status (they would
    be in no named group), and the card names no group for them."""
    t = Trial(
        nct_id="NCT02915744",
        brief_title="Metastatic breast cancer",
        conditions=("Metastatic Breast Cancer",),
        eligibility_criteria=(
            "Inclusion Criteria:\n\n"
            "* Histologically-confirmed carcinoma of the breast (either the primary or metastatic "
            "lesions) for whom single-agent cytotoxic chemotherapy is indicated.\n"
            "* For triple-negative breast cancer, a minimum of 1 prior cytotoxic chemotherapy "
            "regimen must have been administered for the indication of metastatic disease."
        ),
    )
    hr_positive = match_trial(Profile(hr="positive"), t)
    assert not any(v.verdict == NOT_MET for v in hr_positive.verdicts)
    assert hr_positive.cohort == "" and hr_positive.cohort_note == ""
    assert match_trial(Profile(hr="negative"), t).level != UNLIKELY
