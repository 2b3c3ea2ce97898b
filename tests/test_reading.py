"""Reader v2 (trials_helper/reading): cues, facet rules, cohorts, and matching per cohort.

Every cue row in data/cues.toml and every rule row in data/facet_rules.toml carries an example
(a line where it decides) and a counter-example (a line where it must not); they run here, so a
data edit that breaks its own example fails. Both must be real criteria lines (or a sentence or
clause of one) of the recorded data, which is checked here too.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pytest

from tests.conftest import CTGOV, all_study_paths, load_study
from trials_helper.eligibility import EXCLUSION, INCLUSION
from trials_helper.facets import classify_trial
from trials_helper.match import ASK, NOT_MET, match_trial
from trials_helper.profile import Profile
from trials_helper.reading.context import cue_book, find_cues, modifiers
from trials_helper.reading.document import cohorts_of, is_breast_cohort, read_clauses
from trials_helper.reading.lexicon import lexicon, prior_classes
from trials_helper.reading.model import Binding, PriorValue
from trials_helper.reading.prior import read_mentions, read_prior
from trials_helper.reading.rules import decide, facet_rules
from trials_helper.studies import parse_study


def _categories(line: str) -> set[str]:
    """Every cue category reaching any treatment mention of the line."""
    lower = line.lower()
    targets = lexicon().targets(line, lower)
    return set().union(*modifiers(lower, targets)) if targets else set()


def _mentions(line: str, column: str, side: str = "inclusion") -> list:
    """The mentions of one earlier-treatment column in a line under its side's heading."""
    heading = "Exclusion Criteria:\n\n* " if side == "exclusion" else "Inclusion Criteria:\n\n* "
    return [m for m in read_mentions(read_clauses(heading + line)) if m.column == column]


CUES = [(r.category, r.example, r.counter) for r in cue_book().rules]


@pytest.mark.parametrize("category,example,counter", CUES, ids=[c[0] for c in CUES])
def test_cue_example_and_counter_example(category, example, counter):
    if category in ("early", "advanced"):  # setting cues: the example names the setting
        assert category in _categories(example)
        assert category not in _categories(counter)
        return
    assert category in _categories(example), example
    assert category not in _categories(counter), counter


RULES = [
    (side, i, r) for side, rules in facet_rules().items() for i, r in enumerate(rules) if r.example
]


def _decided(side: str, line: str) -> list:
    lower = line.lower()
    targets = lexicon().targets(line, lower)
    return [decide(side, cats) for cats in modifiers(lower, targets)]


@pytest.mark.parametrize(
    "side,index,rule", RULES, ids=[f"{s}-{i}-{'+'.join(sorted(r.when))}" for s, i, r in RULES]
)
def test_rule_example_is_decided_by_the_rule(side, index, rule):
    """The rule is the first that holds for a treatment mention of its example."""
    assert rule in _decided(side, rule.example), rule.example


@pytest.mark.parametrize(
    "side,index,rule", RULES, ids=[f"{s}-{i}-{'+'.join(sorted(r.when))}" for s, i, r in RULES]
)
def test_rule_counter_example_is_decided_by_another_rule(side, index, rule):
    assert rule not in _decided(side, rule.counter), rule.counter


# The examples and counter-examples are real lines of the records in ../shared/ctgov (the corpus
# and the recorded studies), not lines made up to fit a rule; the data files name the NCT id of
# each. Rows marked "no real line found" there are listed here: they must keep failing until a
# real line replaces them (and then leave this list).
NOT_REAL_YET = {
    "No chemotherapy without a wash-out of five half-lives",
    "Must not have received up to 2 prior chemotherapy regimens without a break",
}

SAMPLES = [
    (f"cue-{i}-{r.category}-{field}", getattr(r, field))
    for i, r in enumerate(cue_book().rules)
    for field in ("example", "counter")
] + [
    (f"{side}-{i}-{field}", getattr(r, field))
    for side, rules in facet_rules().items()
    for i, r in enumerate(rules)
    for field in ("example", "counter")
]


def _plain_line(text: str) -> str:
    """Whitespace, markdown backslash escapes, case and a closing full stop do not count."""
    return " ".join(text.replace("\\", "").split()).lower().rstrip(". ")


@lru_cache(maxsize=1)
def _real_criteria() -> str:
    """Every eligibility text of the corpus and of the recorded studies, one after another."""
    corpus = json.loads(
        (CTGOV / "corpus" / "nli4ct-breast-criteria.json").read_text(encoding="utf-8")
    )
    records = [s["protocolSection"] for s in corpus] + [
        json.loads(p.read_text(encoding="utf-8"))["protocolSection"] for p in all_study_paths()
    ]
    texts = (r.get("eligibilityModule", {}).get("eligibilityCriteria", "") for r in records)
    return "\0".join(_plain_line(t) for t in texts)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(
            line,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason="no real line found")]
            if line in NOT_REAL_YET
            else [],
        )
        for name, line in SAMPLES
    ],
)
def test_examples_are_real_lines(line):
    assert line and _plain_line(line) in _real_criteria(), line


def test_not_real_yet_lists_only_lines_of_the_data():
    assert NOT_REAL_YET.issubset(line for _, line in SAMPLES)


def test_first_rule_that_holds_wins():
    # negation with a wash-out is a wait, not a bar; plain negation is a bar
    assert decide(INCLUSION, {"negated", "window"}).value is PriorValue.ANY
    assert decide(INCLUSION, {"negated"}).value is PriorValue.EXCLUDED
    assert decide(EXCLUSION, set()).value is PriorValue.EXCLUDED
    assert decide(INCLUSION, set()) is None


@pytest.mark.parametrize(
    "line,column,value",
    [
        # the issue's real misses (sentences-dev.csv)
        ("Prior treatment with pertuzumab or capecitabine", "prior_chemo", "excluded"),
        ("Prior anthracycline therapy or taxoids", "prior_chemo", "excluded"),
        ("up to 2 (0 to 2) prior chemotherapy regimens", "prior_chemo", "any"),
        ("At least two weeks since prior radiotherapy, last chemotherapy", "prior_chemo", "any"),
        ("No prior chemotherapy within 6 months of study entry", "prior_chemo", "any"),
        (
            "Patients may have had up to 4 prior lines of chemotherapy and at least 1 prior "
            "line of chemotherapy in the metastatic setting",
            "prior_chemo",
            "required",
        ),
        ("0-1 prior therapies for metastatic disease", "prior_chemo", "any"),
    ],
)
def test_issue_lines(line, column, value):
    side = "exclusion" if line.startswith("Prior") else "inclusion"
    heading = "Exclusion Criteria:\n\n" if side == "exclusion" else "Inclusion Criteria:\n\n"
    assert read_prior(read_clauses(heading + "* " + line))[column].value.value == value


def test_a_long_window_is_a_bar_a_short_one_a_wait():
    long_cues = {c.category for c in find_cues("prior immunotherapy in the past 12 months")}
    short_cues = {
        c.category for c in find_cues("chemotherapy within 3 weeks before the first dose")
    }
    assert "long_window" in long_cues and "window" in short_cues


def test_lexicon_names_each_class_once_and_knows_overlaps():
    targets = lexicon().targets(
        "Prior trastuzumab deruxtecan or fulvestrant", "prior trastuzumab deruxtecan or fulvestrant"
    )
    assert [sorted(t.columns) for t in targets] == [
        ["prior_adc", "prior_her2"],
        ["prior_endocrine"],
    ]
    assert all(prior_classes()[c].examples for c in prior_classes())


CRITERIA = """Inclusion Criteria:

* Metastatic breast cancer
* Cohort A (HR-positive, HER2-negative):
  * Progression on a CDK4/6 inhibitor
* Cohort B (triple-negative, first line):
  * No prior chemotherapy for metastatic disease

Exclusion Criteria:

* Known hypersensitivity to trastuzumab
"""


def test_document_keeps_each_clause_cohort():
    clauses = read_clauses(CRITERIA)
    cohorts = cohorts_of(clauses)
    assert [c.label() for c in cohorts] == [
        "Cohort A (HR-positive, HER2-negative)",
        "Cohort B (triple-negative, first line)",
    ]
    by_text = {c.text: c.cohort for c in clauses}
    assert by_text["Metastatic breast cancer"] is None
    assert next(c for t, c in by_text.items() if "CDK4/6" in t).key == "cohort a"
    assert next(c for t, c in by_text.items() if "No prior chemo" in t).key == "cohort b"
    mentions = read_mentions(clauses)
    assert {m.binding for m in mentions if m.column == "prior_chemo"} == {Binding.COHORT}


@pytest.mark.parametrize(
    "line,name",
    [
        ("Cohort A: patients with HR+ disease", "Cohort A"),
        ("(Cohort 3) Prior taxane in the metastatic setting", "Cohort 3"),
        ("Phase Ib only: prior fulvestrant is allowed", "Phase Ib"),
        ("Part 2: at least one prior line of endocrine therapy", "Part 2"),
        # a part named after the rule (NCT00951665)
        ("Prior trastuzumab in any line of therapy (Phase Ib patients only)", "Phase Ib"),
        ("For HR-positive patients: progression on endocrine therapy", "HR-positive"),
        ("PROC participants must have received platinum", "PROC group"),
        (
            "Ovarian cancer, high-grade serous histology, must have received one prior line",
            "Ovarian cancer",
        ),
    ],
)
def test_inline_cohort_prefixes(line, name):
    (clause,) = read_clauses("Inclusion Criteria:\n\n* " + line)
    assert clause.cohort is not None and clause.cohort.name == name


@pytest.mark.parametrize(
    "line",
    [
        "For women of childbearing potential: a negative pregnancy test",
        "Metastatic breast cancer, measurable disease per RECIST",
        "Stage IV breast cancer",
    ],
)
def test_not_cohorts(line):
    (clause,) = read_clauses("Inclusion Criteria:\n\n* " + line)
    assert clause.cohort is None


def _study(criteria: str, title: str = "A study in metastatic breast cancer") -> dict:
    return {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000001", "briefTitle": title},
            "conditionsModule": {"conditions": ["Metastatic Breast Cancer"]},
            "eligibilityModule": {"eligibilityCriteria": criteria},
        }
    }


def test_cohorts_have_their_own_facets_and_matching_names_the_one_that_fits():
    trial = parse_study(_study(CRITERIA))
    facets = classify_trial(trial)
    # study level keeps the spec meaning: one cohort's rule counts
    assert facets.prior_cdk46.value == "required"
    own = {c.cohort.key: c.facets for c in facets.cohorts}
    assert own["cohort a"]["prior_cdk46"].value == "required"
    assert own["cohort b"]["prior_cdk46"].value == "any"
    assert own["cohort b"]["prior_chemo"].value == "excluded"
    # a person who never had a CDK4/6 inhibitor nor chemotherapy fits cohort B
    m = match_trial(Profile(prior_cdk46="no", chemo_lines="0"), trial, facets)
    assert m.cohort.startswith("Cohort B") and NOT_MET not in {v.verdict for v in m.verdicts}
    assert m.cohort_note.startswith("Cohort B (triple-negative, first line) may fit")


def test_conditional_rule_never_rules_out():
    criteria = (
        "Inclusion Criteria:\n\n* Metastatic breast cancer\n"
        "* If HR-positive, must have received prior endocrine therapy\n"
    )
    trial = parse_study(_study(criteria))
    facets = classify_trial(trial)
    mentions = read_mentions(read_clauses(criteria))
    assert {m.binding for m in mentions if m.column == "prior_endocrine"} == {Binding.CONDITIONAL}
    m = match_trial(Profile(prior_endocrine="no"), trial, facets)
    assert all(v.verdict != NOT_MET for v in m.verdicts)


def test_doubtful_reading_asks_instead_of_ruling_out():
    # "No prior X" under the exclusion heading reads two ways: it never rules anyone out
    criteria = "Exclusion Criteria:\n\n* No prior chemotherapy\n"
    facets = classify_trial(parse_study(_study(criteria)))
    assert facets.prior_chemo.value == "any"


def test_basket_trial_other_tumour_cohorts_are_not_candidates():
    study = load_study("NCT05544929")
    trial = parse_study(study)
    facets = classify_trial(trial)
    names = {c.cohort.name: is_breast_cohort(c.cohort) for c in facets.cohorts}
    assert names["Ovarian cancer"] is False
    assert names["Triple negative breast cancer"] is True
    assert facets.prior_chemo.value == "required"  # the TNBC cohort's rule
    m = match_trial(Profile(hr="negative", her2="zero", chemo_lines="0"), trial, facets)
    assert m.cohort.startswith("Triple negative breast cancer")
    assert ASK in {v.verdict for v in m.verdicts} or NOT_MET in {v.verdict for v in m.verdicts}


# Waiting periods (#14 point 6): real lines from ../shared/ctgov/corpus (NCT id beside each).
@pytest.mark.parametrize(
    "nct, line, treatments",
    [
        (
            "NCT01250379",
            "At least 28 days since prior radiation therapy or surgery and recovery from treatment",
            {"radiation therapy", "surgery"},
        ),
        (
            "NCT00093808",
            "More than 4 weeks since prior investigational drugs",
            {"investigational drugs"},
        ),
        (
            "NCT02807844",
            "Patients who received systemic anticancer therapy, major surgery, or "
            "radiotherapy within 2 weeks of study treatment, or live vaccines within 4 weeks of "
            "study treatment.",
            {"systemic anticancer therapy", "major surgery", "radiotherapy"},
        ),
        (
            "NCT03584009",
            "Any anti-cancer therapy received within 21 days of the first dose of "
            "study drug, including chemotherapy, radiotherapy, hormonal therapy, immunotherapy, "
            "antineoplastic vaccines, or other investigational therapy.",
            {"anti-cancer therapy"},
        ),
    ],
)
def test_wash_out_lines_set_waiting_periods(nct, line, treatments):
    from trials_helper.reading.model import Clause
    from trials_helper.reading.waits import waiting_periods

    found = {w.treatment.lower() for w in waiting_periods([Clause(EXCLUSION, line)])}
    assert treatments <= found, nct
    assert all(len(w.quote()) <= 110 for w in waiting_periods([Clause(EXCLUSION, line)]))


@pytest.mark.parametrize(
    "nct, line",
    [
        (
            "NCT01106898",
            "Women of child-bearing potential must have a negative pregnancy test "
            "within 7 days of initiating study",
        ),
        (
            "NCT01118624",
            "Patients who are human immunodeficiency virus (HIV)-positive and have a "
            "CD4 count of less than 100 mm3 or detectable viral load within past 3 months and is "
            "receiving anti-retroviral therapy",
        ),
        (
            "NCT02622074",
            "Has received a live vaccine within 30 days of the first dose of study drug.",
        ),
        (
            "NCT00698035",
            "Normal thyroid function tested within the past 6 months (Patients with a "
            "diagnosis of hypothyroidism and on thyroid supplementation must have had thyroid "
            "function tests in the normal range within the past 3 months)",
        ),
        ("NCT00798135", "Patients must be able to swallow oral medications."),
        # the study's own drugs after "first dose of" are the moment counted from, not a wait
        (
            "NCT02019277",
            "Positive serum pregnancy test in women of childbearing potential, "
            "premenopausal or less than 12 months of amenorrhea post-menopause, within 7 days "
            "before the first dose of pertuzumab and trastuzumab",
        ),
        ("NCT01033032", "Diagnosis of second malignancy within the last 3 years"),
    ],
)
def test_lines_that_are_not_waiting_periods(nct, line):
    from trials_helper.reading.model import Clause
    from trials_helper.reading.waits import waiting_periods

    assert waiting_periods([Clause(EXCLUSION, line)]) == [], nct


# The reader's speed-ups must not change what it finds (#14 throughput).
@pytest.mark.parametrize(
    "patterns",
    [
        ["trastuzumab deruxtecan", "trastuzumab", "tamoxifen", "t-dxd", "(?:neo)?adjuvant"],
        ["(?:at least|more than|>=?)\\s*(?:\\d+|one)\\s*weeks?", "(?:a )?single", "at least"],
        ["pa(?:clitaxel|lbociclib)", "palbo", "p\\w+mab", "a|b", "(?:x|y)?z"],
    ],
)
def test_factored_alternation_matches_as_the_plain_one(patterns):
    import re

    from trials_helper.reading.text import expand_leading, factor

    plain = re.compile("|".join(f"(?:{p})" for p in patterns))
    tree = re.compile(factor([e for p in patterns for e in expand_leading(p)]))
    text = (
        "at least 2 weeks; more than one weeks; a single palbo dose; paclitaxel and palbociclib; "
        "trastuzumab deruxtecan or trastuzumab, tamoxifen, t-dxd, neoadjuvant adjuvant; "
        "pembrolizumab; xz yz z; b a"
    )
    assert [m.span() for m in tree.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_one_pass_cue_scan_finds_what_a_pass_per_rule_finds():
    # every cue rule run on its own (as the engine did before the one-pass scanner) gives the
    # same cues on real corpus lines, including the patterns that may start at any word
    # ("chemotherapy-induced"), which the scanner runs apart
    import json

    from tests.conftest import CTGOV
    from trials_helper.eligibility import split_criteria
    from trials_helper.reading.context import Cue, _window_days, resolve
    from trials_helper.reading.text import norm, sentences

    book = cue_book()
    corpus = json.loads((CTGOV / "corpus" / "nli4ct-breast-criteria.json").read_text())
    lines = [
        s.lower()
        for study in corpus[:400]
        for c in split_criteria(
            study["protocolSection"]["eligibilityModule"].get("eligibilityCriteria", "")
        )
        for s in sentences(norm(c.text))
    ]
    for lower in lines:
        found = []
        for rule in book.rules:
            for pattern in rule.patterns:
                for m in pattern.finditer(lower):
                    days = _window_days(m) if rule.category == "window" else None
                    category = (
                        "long_window"
                        if days is not None and days > book.max_washout_days
                        else rule.category
                    )
                    found.append(Cue(category, rule.direction, rule.scope, m.start(), m.end()))
        found += [Cue("pseudo", "both", 0, m.start(), m.end()) for m in book.pseudo.finditer(lower)]
        assert find_cues(lower, book) == resolve(found), lower
    apart = [pattern for (_slot, _rule, pattern), _needs in book.scanner.apart]
    assert apart and any(p.search(line) for p in apart for line in lines)


# Entry routes joined by "OR" (#14 point 4: never rule out on a rule only some routes set).
def _route_verdicts(nct: str, profile: Profile, label: str):
    """The verdicts of the study's named cohorts (the people outside a lone named cohort are
    matched too, on what binds everyone, and may fit better)."""
    from trials_helper.facets import OUTSIDE_COHORTS
    from trials_helper.match import verdicts_for

    trial = parse_study(load_study(nct))
    facets = classify_trial(trial)
    named = [c for c in facets.cohorts if c.cohort != OUTSIDE_COHORTS] or [None]
    return [
        v
        for c in named
        for v in verdicts_for(profile, trial, facets.for_cohort(c) if c else facets)
        if label in v.label
    ]


def test_a_rule_in_one_of_several_entry_routes_asks():
    # NCT05950945 (real record), cohort 3: "recurrence < 2 years from adjuvant ET OR progression
    # on a CDK4/6 inhibitor ... OR progression within 12 months of CDK4/6 in first line"
    (v,) = _route_verdicts(
        "NCT05950945", Profile(hr="positive", her2="low", prior_cdk46="no"), "CDK4/6"
    )
    assert v.verdict == ASK
    assert "Has disease progression on CDK4/6 inhibitor-based regimen" in v.evidence
    study = load_study("NCT05950945")
    clauses = read_clauses(study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"])
    rules = [
        m
        for m in read_mentions(clauses)
        if m.column == "prior_cdk46" and m.value is not PriorValue.ANY
    ]
    assert rules and not any(m.firm for m in rules)


def test_a_route_for_another_tumour_is_not_an_alternative():
    # NCT01105650 (corpus): "ovarian cancer ... after at least 2 prior salvage chemotherapy
    # regimens" OR "metastatic breast cancer ... failed at least one salvage chemotherapy
    # regimen": a person with breast cancer has one route only, so its rule binds
    text = (
        "Inclusion Criteria:\n  Diagnosis of recurrent ovarian cancer, fallopian tube, or primary"
        " peritoneal cancer that has failed or progressed after at least 2 prior salvage"
        " chemotherapy regimens (directed at recurrent/metastatic disease).\n  OR\n  Diagnosis"
        " of metastatic breast cancer (female or male) that has progressed on or failed at least"
        " one salvage chemotherapy regimen for metastatic disease"
    )
    breast = [m for m in read_mentions(read_clauses(text)) if "breast" in m.clause]
    assert breast and all(m.firm and m.binding is Binding.ALL for m in breast)


def test_a_rule_every_route_sets_still_binds():
    # NCT05870579 (real record): each of the three "OR" routes asks for endocrine therapy
    (v,) = _route_verdicts(
        "NCT05870579", Profile(hr="positive", her2="zero", prior_endocrine="no"), "hormone therapy"
    )
    assert v.verdict == NOT_MET


_BIOLOGIC_LINE = (  # NCT00703326
    "Participant has not received prior biologic therapy for metastatic or locally recurrent and "
    "inoperable breast cancer"
)
_ERBB_LINE = (  # NCT01138046
    "Received prior chemotherapy, immunotherapy, biologic therapy or anti-ErbB1/ErbB2 therapy for "
    "metastatic disease."
)


@pytest.mark.parametrize(
    "nct, side, line, column, value",
    [
        # "hormone-refractory": the class word, with "refractory" as the cue that reaches it
        (
            "NCT00912340",
            "inclusion",
            "Hormone-refractory metastatic breast cancer defined as disease progression within 6 "
            "months from starting most recent hormonal therapy",
            "prior_endocrine",
            "required",
        ),
        # ... but a receptor-negative tumour called hormone-refractory says nothing of treatment
        (
            "NCT01031446",
            "inclusion",
            "Basal-like disease (triple-negative, hormone-refractory, HER2-negative)",
            "prior_endocrine",
            "any",
        ),
        # a rule for those with a marker binds only them (NCT06099769, a recorded study)
        (
            "NCT06099769",
            "inclusion",
            "Patients with PD-L1 positive breast cancer (CPS >= 10) should have received prior "
            "treatment with pembrolizumab in combination with chemotherapy in the first line "
            "setting unless there is a contraindication to checkpoint inhibitor therapy.",
            "prior_chemo",
            "any",
        ),
        # found by reading the corpus (#14): each a class of wording, not one study's words
        (
            "NCT00829166",
            "exclusion",
            "History of intolerance (such as Grade 3-4 infusion reaction) to trastuzumab",
            "prior_her2",
            "any",
        ),
        (
            "NCT00146172",
            "exclusion",
            "Prior treatment with anthracyclines with a cumulative dose of doxorubicin or "
            "equivalent of greater than 300 mg/m^2",
            "prior_chemo",
            "any",
        ),
        ("NCT02536339", "exclusion", "Current anthracycline use", "prior_chemo", "any"),
        (
            "NCT00394082",
            "exclusion",
            "No prior chemotherapy for metastatic or locally recurrent disease is allowed.",
            "prior_chemo",
            "excluded",
        ),
        (
            "NCT00721630",
            "inclusion",
            "No restriction for prior hormonal therapy. No concurrent use of endocrine therapy is "
            "permitted.",
            "prior_endocrine",
            "any",
        ),
        (
            "NCT00645333",
            "inclusion",
            "Men or women with metastatic (Stage IV) breast cancer, or with locally advanced "
            "breast "
            "cancer (Stages IIIA > 10 cm, or Stages IIIB and IIIC) that did not respond to "
            "first-line anthracycline-based chemotherapy, for whom docetaxel is a recommended "
            "therapy",
            "prior_chemo",
            "required",
        ),
        # a plan counted in cycles is not an earlier course
        (
            "NCT03403712",
            "inclusion",
            "Scheduled to receive at least 4 consecutive cycles of an AC combination regimen",
            "prior_chemo",
            "any",
        ),
        # a window in hours is a wait too ("prior to chemotherapy" is the moment counted from)
        (
            "NCT03511378",
            "exclusion",
            "Patients with history of systemic antibiotic use within 72 hours prior to "
            "chemotherapy",
            "prior_chemo",
            "any",
        ),
        # a counting rule said the other way round bars nothing
        (
            "NCT00924352",
            "exclusion",
            "Patient has had more than 2 prior lines of chemotherapy for locally recurrent or "
            "metastatic breast cancer. Hormonal therapy will not be considered a line of therapy.",
            "prior_endocrine",
            "any",
        ),
        (
            "NCT00054132",
            "inclusion",
            "Any number of prior regimens of chemotherapy and/or hormonal therapy are allowed in "
            "the adjuvant setting, and do not count towards prior therapy when determining "
            "eligibility for this trial",
            "prior_endocrine",
            "any",
        ),
        (
            "NCT02187783",
            "exclusion",
            "Patient had received chemotherapy or anticancer therapy 4 weeks prior to starting "
            "study drug",
            "prior_chemo",
            "any",
        ),
        (
            "NCT02796755",
            "exclusion",
            "Individuals receiving antidepressants, mood stabilizers, antipsychotic medications or "
            "benzodiazepines or drugs known to affect the immune system (e.g. glucocorticoids, "
            "methotrexate), or at the discretion of the study doctor",
            "prior_chemo",
            "any",
        ),
        # the study's own course, and what may not be given with it, is no earlier treatment
        (
            "NCT00562718",
            "inclusion",
            "No concurrent hormonal therapy during course of chemotherapy or radiation therapy",
            "prior_chemo",
            "any",
        ),
        (
            "NCT02019277",
            "inclusion",
            "Hormonal therapy cannot be administered in combination with taxane therapy",
            "prior_chemo",
            "any",
        ),
        # ... while "Prior courses of chemotherapy" are earlier treatment (counter-example)
        (
            "NCT00080301",
            "inclusion",
            "Patients must have received either 2 or 3 prior chemotherapy regimens",
            "prior_chemo",
            "required",
        ),
        # "received ... as anti-tumor therapy": the words say what for, not which treatment
        (
            "NCT01720602",
            "exclusion",
            "Patient had prior treatment with an histone deacetylase (HDAC) inhibitor (e.g., "
            "romidepsin [Depsipeptide], NSC-630176, MS 275, LAQ-824, belinostat (PXD-101), "
            "LBH589, MGCD0103, CRA024781, etc); patients who have received compounds with HDAC "
            "inhibitor-like activity, such as valproic acid, as anti-tumor therapy should not "
            "enroll in this study",
            "prior_chemo",
            "any",
        ),
        # "undergoing" a treatment is being on it now: a rule about current treatment, not a bar
        # on having had it (a patient who finished chemotherapy may join)
        (
            "NCT01827163",
            "exclusion",
            "Patients with stage IV breast cancer or undergoing chemotherapy, radiation therapy, "
            "immunotherapy, or biotherapy for current breast cancer.",
            "prior_chemo",
            "any",
        ),
        (
            "NCT01582971",
            "inclusion",
            "Undergoing chemotherapy and/or hormonal therapy for breast cancer",
            "prior_endocrine",
            "any",
        ),
        # "no limit on" prior lines: any number, none barred ("no" does not negate here)
        (
            "NCT01827787",
            "inclusion",
            "No limit on prior lines of endocrine therapy, but must be discontinued at least 7 "
            "days prior to initiation of protocol therapy",
            "prior_endocrine",
            "any",
        ),
        # a rule for those who had a drug (a label "Note for prior X:", "subjects who received X
        # must ..."): a wait for them, not a requirement for everyone ...
        (
            "NCT01466972",
            "inclusion",
            "Note for prior trastuzumab: Subjects who received Q3 weekly, Q2 weekly or Q1 weekly "
            "must have completed therapy with trastuzumab at least 3 weeks, 2 weeks or 1 week, "
            "respectively, prior to the first dose of study drug.",
            "prior_her2",
            "any",
        ),
        # ... while "patients who have received X will not be included" is a bar
        (
            "NCT00908791",
            "exclusion",
            "Patients who have received prior chemotherapy or receiving chemotherapy or hormonal "
            "therapy for their breast cancer will not be included.",
            "prior_chemo",
            "excluded",
        ),
        # HER2 is also spelled ErbB2: "anti-ErbB1/ErbB2 therapy" is anti-HER2 therapy, and its
        # "therapy" is not "any therapy" (which would bar CDK4/6 inhibitors too)
        (
            "NCT01138046",
            "exclusion",
            _ERBB_LINE,
            "prior_her2",
            "excluded",
        ),
        (
            "NCT01138046",
            "exclusion",
            _ERBB_LINE,
            "prior_cdk46",
            "any",
        ),
        # a disease hormone therapy does not suit is not one that has had it ("rapidly
        # progressing" is the disease's pace, not progression on the therapy)
        (
            "NCT01138046",
            "inclusion",
            "Rapidly progressing or life threatening disease that are considered to be "
            "inapplicable to hormonal therapy, as determined by the investigator.",
            "prior_endocrine",
            "any",
        ),
        # an illness that limits "the ability of the patient to receive" treatment is about
        # treatment to come, not a bar on earlier treatment
        (
            "NCT00645333",
            "exclusion",
            "Serious comorbid illness which will limit the ability of the patient to safely "
            "receive anticancer treatment",
            "prior_endocrine",
            "any",
        ),
        # "biologic therapy for metastatic disease" is not "any therapy for metastatic disease":
        # it does not bar hormone therapy ...
        (
            "NCT00703326",
            "inclusion",
            _BIOLOGIC_LINE,
            "prior_endocrine",
            "any",
        ),
        # ... and it speaks of antibodies (anti-HER2 among them), though never firmly (below)
        (
            "NCT00703326",
            "inclusion",
            _BIOLOGIC_LINE,
            "prior_her2",
            "excluded",
        ),
        # "if" reaches past a long definition in parentheses (24 words)
        (
            "NCT00054132",
            "inclusion",
            "If human epidermal growth factor receptor 2 (Her2)/neu-positive (defined as 3+ by "
            "immunohistochemistry [IHC] or positive by fluorescence in situ hybridization [FISH]), "
            "prior therapy with trastuzumab required",
            "prior_her2",
            "any",
        ),
        # "for patients where ...": a rule for some
        (
            "NCT04704661",
            "inclusion",
            "For patients where DS8201a is approved as standard of care, prior treatment with "
            "DS8201a is not allowed",
            "prior_adc",
            "any",
        ),
        # a bar on the study drug in the age rule's reason is not a bar on earlier treatment
        (
            "NCT00721630",
            "inclusion",
            "Age or = to 18. Because no dosing or adverse event data are currently available on "
            "the use of lapatinib in patients <18 years of age, children are excluded from this "
            "study.",
            "prior_her2",
            "any",
        ),
        # a wait: "has been completed prior to initiation of study treatment" (the number of
        # weeks follows in the list after "according to the following:")
        (
            "NCT02312622",
            "inclusion",
            "Prior chemotherapy, including other investigational therapy, has been completed prior "
            "to initiation of study treatment, according to the following:",
            "prior_chemo",
            "any",
        ),
        # "the following" is a list to come, not "following" a treatment
        (
            "NCT02961790",
            "exclusion",
            "Any of the following current (=< 4 weeks prior) or planned therapies: "
            "Antineoplastic chemotherapy (anti-HER2 agents allowed)",
            "prior_chemo",
            "any",
        ),
        # "non-hormonal" takes hormone therapy out: every other class is barred
        (
            "NCT01572038",
            "exclusion",
            "Previous systemic non-hormonal anti-cancer therapy for metastatic or locally "
            "recurrent disease",
            "prior_endocrine",
            "any",
        ),
        (
            "NCT01572038",
            "exclusion",
            "Previous systemic non-hormonal anti-cancer therapy for metastatic or locally "
            "recurrent disease",
            "prior_cdk46",
            "excluded",
        ),
        (
            "NCT00593346",
            "exclusion",
            "Prior non-hormonal therapy for the present breast cancer, including radiation therapy "
            "or chemotherapy.",
            "prior_endocrine",
            "any",
        ),
        # untreated with one class is untreated with that class only
        (
            "NCT00370552",
            "inclusion",
            "Locally recurrent or metastatic breast cancer, previously untreated with chemotherapy "
            "for advanced disease.",
            "prior_endocrine",
            "any",
        ),
        # now, not before: a criterion that opens with "Receiving", "while participating in
        # this study"
        ("NCT00403130", "exclusion", "Receiving hormonal therapy", "prior_endocrine", "any"),
        (
            "NCT02018458",
            "exclusion",
            "Any other investigational or anti-cancer treatments while participating in this "
            "study.",
            "prior_endocrine",
            "any",
        ),
        # kinds of their own: an investigational therapy, a therapy that names its target
        (
            "NCT01269346",
            "exclusion",
            "Prior chemotherapy, biologic therapy, or investigational therapy for locally "
            "recurrent or metastatic HER2 breast cancer.",
            "prior_endocrine",
            "any",
        ),
        (
            "NCT00281697",
            "exclusion",
            "Prior therapy with bevacizumab or other vascular endothelial growth factor (VEGF) "
            "pathway-targeted therapy.",
            "prior_cdk46",
            "any",
        ),
        (
            "NCT00558103",
            "exclusion",
            "Prior therapy with an anti-VEGF antibody or other VEGF/VEGF-R targeted therapy.",
            "prior_cdk46",
            "any",
        ),
        # an organ named for something else is no other tumour ("preserve ovarian function"
        # made this bar on all earlier systemic therapy a rule about ovarian cancer)
        (
            "NCT02018458",
            "exclusion",
            "Patients who are currently receiving or who have received previous systemic therapy "
            "for breast cancer (eg, chemotherapy, antibody therapy, targeted agents).The use of an "
            "LHRH agonist during chemotherapy in premenopausal women who wish to preserve ovarian "
            "function is allowed, but is not required.",
            "prior_cdk46",
            "excluded",
        ),
        # either way: "regardless of whether they did or did not receive tamoxifen"
        (
            "NCT00390455",
            "inclusion",
            "A patient who received an aromatase inhibitor in the adjuvant setting is eligible, "
            "regardless of whether they did or did not receive tamoxifen",
            "prior_endocrine",
            "any",
        ),
        # not on it during the study's own treatment: a rule about now, not before
        (
            "NCT02581839",
            "exclusion",
            "Patients may not be on any cytotoxic chemotherapy or hormonal treatment for breast "
            "cancer during protocol treatment.",
            "prior_endocrine",
            "any",
        ),
        # a condition a treatment caused is no bar on the treatment
        (
            "NCT01912612",
            "exclusion",
            "Thumbnail abnormalities on either hand (such as due to chemotherapy or trauma, or "
            "artificial nails) that are likely to alter pain perception during testing",
            "prior_chemo",
            "any",
        ),
        # "previously untreated brain metastases" are lesions, not a person untreated
        (
            "NCT02291913",
            "exclusion",
            "Previously untreated brain metastases.",
            "prior_endocrine",
            "any",
        ),
        # "only 1 previous regimen": at most one, none is allowed
        (
            "NCT02291913",
            "inclusion",
            "Only 1 previous chemotherapy regimen for MBC.",
            "prior_chemo",
            "any",
        ),
        # from a triple-negative patient's "does not meet": a side effect of immunotherapy,
        # treatment being given now, and targeted therapy (not immunotherapy) named "systemic"
        (
            "NCT04461600",
            "exclusion",
            "Developed immune-mediated colitis with immunotherapy unless resolved to G1 or lower "
            "and without requirement of steroid treatment for at least 14 days prior to first "
            "dose of IP.",
            "prior_immunotherapy",
            "any",
        ),
        (
            "NCT00089973",
            "exclusion",
            "Actively receiving anti-cancer therapy agent(s).",
            "prior_immunotherapy",
            "any",
        ),
        (
            "NCT02425891",
            "inclusion",
            "No prior chemotherapy or targeted systemic therapy for inoperable locally advanced or "
            "metastatic TNBC",
            "prior_immunotherapy",
            "any",
        ),
        # "> 2 endocrine therapies" under exclusion is a limit (one or two are fine) ...
        (
            "NCT02756364",
            "exclusion",
            "Experienced PD on >2 endocrine therapies for metastatic breast cancer or for "
            "locoregional recurrence that was not amenable to resection",
            "prior_endocrine",
            "any",
        ),
        # ... while "> 4 weeks of tamoxifen therapy" is a duration, and barred
        (
            "NCT03587740",
            "exclusion",
            "->4 weeks of tamoxifen therapy, or other hormonal therapy, for adjuvant therapy for "
            "this malignancy",
            "prior_endocrine",
            "excluded",
        ),
        # sensitive to a drug: it was given
        (
            "NCT01381874",
            "inclusion",
            "Disease must have been sensitive to anastrozole or letrozole therapy prior to disease "
            "progression",
            "prior_endocrine",
            "required",
        ),
    ],
)
def test_corpus_lines(nct, side, line, column, value):
    heading = "Exclusion Criteria:\n\n" if side == "exclusion" else "Inclusion Criteria:\n\n"
    assert read_prior(read_clauses(heading + "* " + line))[column].value.value == value, nct


def test_cdk_spelled_with_a_hyphen_is_a_cdk46_inhibitor():
    line = "after a CDK-4/6 inhibitor"
    (target,) = lexicon().targets(line, line.lower())
    assert target.words == "CDK-4/6 inhibitor" and target.columns == {"prior_cdk46"}


@pytest.mark.parametrize(
    "nct, line, expected",
    [
        # a bar reaches every item of the list it opens ("including ...")
        (
            "NCT00265759",
            "No prior treatment for invasive breast cancer, including radiotherapy, endocrine "
            "therapy, chemotherapy, or investigational agents",
            {"prior_endocrine": "excluded", "prior_chemo": "excluded"},
        ),
        # "X and Y" asks for both, even with an "or" elsewhere in the sentence
        (
            "NCT02038010",
            "Patients must have had progression on a trastuzumab and taxane-based chemotherapy "
            "regimen during or after treatment for locally advanced or metastatic disease",
            {"prior_her2": "required", "prior_chemo": "required"},
        ),
        # "X or Y" asks for neither on its own
        (
            "NCT00431067",
            "Patients must have progressed following receipt of prior standard trastuzumab "
            "treatment or standard chemotherapy in conjunction with trastuzumab.",
            {"prior_chemo": "any"},
        ),
        # "with or without" is a combination, not a choice
        (
            "NCT06176261",
            "Cohort A: prior progression to treatment with at least one line of endocrine "
            "treatment (with or without CDK4/6 inhibition) in the metastatic setting is mandatory.",
            {"prior_endocrine": "required"},
        ),
    ],
)
def test_lists_of_treatments(nct, line, expected):
    readings = read_prior(read_clauses("Inclusion Criteria:\n\n* " + line))
    assert {c: readings[c].value.value for c in expected} == expected, nct


def test_every_item_of_an_including_list_is_read_in_its_setting():
    # NCT06393374 (a recorded study): the adjuvant setting reaches each listed class, even
    # behind "including but not limited to" and a parenthesised name
    line = (
        "Received anticancer therapy in the adjuvant phase including but not limited to "
        "chemotherapy, small molecule anticancer drugs, poly (adenosine diphosphate ribose) "
        "polymerase (PARP) inhibitors, ADCs, and/or immunotherapy"
    )
    mentions = read_mentions(read_clauses("Exclusion Criteria:\n\n* " + line))
    assert {m.words for m in mentions} >= {"chemotherapy", "PARP", "ADCs", "immunotherapy"}
    assert all(m.setting.value == "early" for m in mentions)


@pytest.mark.parametrize(
    "nct, line",
    [
        ("NCT00193063", "Inclusion Criteria:\n\n* No previous chemotherapy with gemcitabine"),
        (
            "NCT00432562",
            "Exclusion Criteria:\n\n* Previous treatment with vinorelbine or mitomycin.",
        ),
    ],
)
def test_a_bar_on_one_drug_asks_instead_of_ruling_out(nct, line):
    # the profile knows a person's classes of treatment, not each drug they had
    from trials_helper.match import match_trial

    t = parse_study(load_study("NCT06016738"))  # a real record; its criteria replaced below
    t = type(t)(**{**t.__dict__, "eligibility_criteria": line})
    m = match_trial(Profile(chemo_lines="1"), t)
    (v,) = [v for v in m.verdicts if v.label == "Earlier chemotherapy"]
    assert v.verdict == ASK, nct
    assert "one drug" in v.reason


def test_a_rule_for_one_part_is_not_what_the_part_is():
    # NCT06562192 (a recorded study): "(Dose escalation part only) Locally advanced or
    # metastatic unresectable CRC ..." names a rule of the dose-escalation part; a person with
    # breast cancer may still join that part, so the card must not describe it as colorectal
    clauses = read_clauses(
        load_study("NCT06562192")["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    )
    (cohort,) = cohorts_of(clauses)
    assert cohort.name == "Dose escalation part" and cohort.definition == ""
    # a label line still says what its cohort is
    (labelled,) = cohorts_of(read_clauses("Inclusion Criteria:\n* Cohort B (TNBC, first line):"))
    assert labelled.definition == "TNBC, first line"


def test_a_second_clause_with_its_own_verb_is_read_on_its_own():
    # NCT00317603 (corpus): the "not ... concurrently" of the second clause is about using
    # trastuzumab with the vaccine now, not a bar on having had it
    line = (
        "Patients with HER2 positive tumors must have received at least one prior "
        "trastuzumab-based therapy in the metastatic setting, and may not receive trastuzumab "
        "therapy and vaccine treatment concurrently"
    )
    mentions = _mentions(line, "prior_her2", "inclusion")
    assert [m.value.value for m in mentions] == ["required", "any"]


def test_a_rule_for_marker_positive_patients_binds_only_them():
    # NCT00559507 (corpus): "(HER2)-positive patients, defined as ..., must have received
    # trastuzumab" asks it of HER2-positive patients only; the cue starts inside "(HER2)" but
    # runs on past it, so it is not a cue of the parentheses alone
    line = (
        "Human epidermal growth factor receptor 2 (HER2)-positive patients, defined as "
        "immunohistochemistry (IHC) 3+ or fluorescence in situ hybridization (FISH) amplification "
        "> 2.1, must have received trastuzumab (Herceptin®) in either the adjuvant or metastatic "
        "setting and have had recurrence or progression of disease, respectively"
    )
    mentions = read_mentions(read_clauses("Inclusion Criteria:\n\n* " + line))
    her2 = [m for m in mentions if m.column == "prior_her2"]
    assert her2 and all(m.binding is Binding.CONDITIONAL and not m.firm for m in her2)
    assert (
        read_prior(read_clauses("Inclusion Criteria:\n\n* " + line))["prior_her2"].value.value
        == "any"
    )


def test_what_an_unless_clause_allows_is_not_barred():
    # NCT00580333 (corpus): hormonal therapy stands inside the "unless" clause, 18 words on
    line = (
        "Any prior cytotoxic chemotherapy or radiation for the current breast cancer HER2-negative "
        "ipsilateral breast recurrence, unless prior treatment consisted of excision alone for "
        "ductal carcinoma in situ (DCIS)or breast-conserving treatment and hormonal therapy"
    )
    readings = read_prior(read_clauses("Exclusion Criteria:\n\n* " + line))
    assert readings["prior_endocrine"].value.value == "any"
    assert readings["prior_chemo"].value.value == "excluded"


def test_a_breast_item_of_a_basket_list_is_read_as_breast_cancer():
    # NCT01920061 (corpus): the breast item's earlier treatment is not "another tumour's"
    line = (
        "Arm C: Her2+ breast cancer refractory to prior herceptin or lapatinib, her2+ "
        "esophagal-gastric cancer, head and neck squamous cell cancer, or non small cell lunch "
        "cancer that are candidates for treatment with a dacomitinib-based combination."
    )
    mentions = read_mentions(read_clauses("Inclusion Criteria:\n\n* " + line))
    assert {m.value.value for m in mentions if m.column == "prior_her2"} == {"required"}
    # ... while a treatment after the comma belongs to the next tumour (NCT06257264)
    other = (
        "Participants with advanced or metastatic solid tumors including HR+/HER2- breast "
        "cancer, platinum refractory or resistant serous ovarian cancer (PROC), endometrial "
        "cancer, and others."
    )
    chemo = _mentions(other, "prior_chemo", "inclusion")
    assert chemo and all(m.value.value == "any" for m in chemo)


def test_a_bar_on_biologic_therapy_is_never_firm_and_a_bare_therapy_after_a_kind_is_that_kind():
    """The spec: "biologic therapy" on its own can be read two ways, so its bar never rules a
    trial out; and "radiation therapy for metastatic disease" bars radiation, not every systemic
    therapy (the words before a bare "therapy" make it a kind of its own; no corpus line has
    that wording, so the three lines are made from the class, around a real bare "treatment")."""
    biologic = read_prior(
        read_clauses(
            "Inclusion Criteria:\n\n* No prior biologic therapy for treatment of breast cancer"
        )
    )  # NCT00775645
    assert biologic["prior_her2"].value is PriorValue.EXCLUDED and not biologic["prior_her2"].firm
    assert biologic["prior_endocrine"].value is PriorValue.ANY
    for kind in ("radiation", "local", "gene"):
        line = (
            f"Exclusion Criteria:\n\n* Prior chemotherapy or {kind} therapy for metastatic disease"
        )
        read = read_prior(read_clauses(line))
        assert read["prior_chemo"].value is PriorValue.EXCLUDED, kind
        assert read["prior_endocrine"].value is PriorValue.ANY, kind
    systemic = read_prior(  # NCT00274469
        read_clauses(
            "Exclusion Criteria:\n\n* Previous treatment for advanced breast cancer (previous "
            "treatment for early breast cancer is allowed)."
        )
    )
    assert systemic["prior_endocrine"].value is PriorValue.EXCLUDED  # bare "treatment": all
