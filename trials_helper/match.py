"""Match a profile to trials: a verdict with a plain reason and the trial's own words per rule.

Verdicts are "meets", "does not meet" or "unknown" (ask your oncologist). Unknown never rules a
trial out: a trial is "likely not eligible" only when a known fact contradicts a stated rule.
Like datasette's filters, each rule yields both the machine verdict and a human sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

from .eligibility import split_criteria
from .facets import Facet, TrialFacets, classify_trial
from .geo import SiteDistance
from .profile import UNKNOWN, Profile
from .questions import TrialQuestion, trial_questions
from .reading.document import is_breast_cohort
from .studies import Trial, age_years


class VerdictKind(StrEnum):
    """One rule held against the profile. The values are the words the CSV has always used, so
    comparing with a string and writing a cell keep working."""

    MEETS = "meets"
    NOT_MET = "does not meet"
    ASK = "unknown"


class Level(StrEnum):
    """A trial's overall level for a profile, best first (the CSV's match_level values)."""

    POSSIBLE = "possible match"
    CHECK = "check with your oncologist"
    UNLIKELY = "likely not eligible"


MEETS, NOT_MET, ASK = VerdictKind.MEETS, VerdictKind.NOT_MET, VerdictKind.ASK
POSSIBLE, CHECK, UNLIKELY = Level.POSSIBLE, Level.CHECK, Level.UNLIKELY
LEVELS: tuple[Level, ...] = tuple(Level)

VERDICT_LABELS: dict[VerdictKind, str] = {
    MEETS: "meets",
    NOT_MET: "does not meet",
    ASK: "unknown — ask your oncologist",
}


@dataclass(frozen=True)
class Verdict:
    """One rule of one trial held against the profile."""

    facet: str  # facet or field name, e.g. "her2", "age", "prior_tdxd"
    label: str  # what the rule is about, in plain words
    verdict: VerdictKind
    reason: str  # why, in plain language
    evidence: str = ""  # the trial's own words (criterion or field) behind the rule
    rule: str = ""  # what the trial asks for, e.g. "HER2-negative (HER2-low included)"

    @property
    def verdict_label(self) -> str:
        return VERDICT_LABELS[self.verdict]


@dataclass(frozen=True)
class TrialMatch:
    """A trial as the patient sees it: facets, verdicts, level and questions."""

    trial: Trial
    facets: TrialFacets
    verdicts: tuple[Verdict, ...]
    level: Level
    nearest: SiteDistance | None = None  # the nearest recruiting site, when known
    extra: Mapping[str, Any] = field(default_factory=dict)
    cohort: str = ""  # the cohort that fits best, named with its words ("Cohort B (TNBC)")
    unit: str = "mi"  # of the place questions
    location_known: bool = False  # a place was given (so "no site near you" can be asked)

    @cached_property
    def questions(self) -> tuple[TrialQuestion, ...]:
        """Plain-language questions this trial raises. Made when first asked for: a search
        of a thousand trials shows a few dozen cards, and the CSV has no questions."""
        criteria = split_criteria(self.trial.eligibility_criteria)
        return tuple(
            trial_questions(
                self.trial, self.facets, criteria, self.nearest, self.unit, self.location_known
            )
        )

    @property
    def cohort_note(self) -> str:
        """ "Cohort B (triple-negative, first line) may fit" for cards, sheets and the CSV."""
        if not self.cohort:
            return ""
        fit = {POSSIBLE: "may fit", CHECK: "may fit; check with your oncologist"}.get(
            self.level, "is the closest, but likely does not fit"
        )
        return f"{self.cohort} {fit}"

    @property
    def categories(self) -> tuple[str, ...]:
        value = self.facets.categories.value
        return tuple(value) if isinstance(value, tuple | list) else ((value,) if value else ())

    @property
    def main_category(self) -> str:
        return self.categories[0] if self.categories else "other"

    def counts(self) -> dict[VerdictKind, int]:
        out = {MEETS: 0, ASK: 0, NOT_MET: 0}
        for v in self.verdicts:
            out[v.verdict] += 1
        return out

    def summary(self) -> str:
        """One line for tables and CSV: e.g. "meets 4; unknown 1; does not meet 0"."""
        c = self.counts()
        return f"meets {c[MEETS]}; unknown {c[ASK]}; does not meet {c[NOT_MET]}"

    def reasons(self, verdict: VerdictKind) -> list[str]:
        return [f"{v.label}: {v.reason}" for v in self.verdicts if v.verdict == verdict]


# --------------------------------------------------------------------------------------------
# One function per facet. Each returns None when the trial has no rule on it.


def _v(facet: Facet, label: str, verdict: VerdictKind, reason: str, rule: str) -> Verdict:
    return Verdict(facet.name, label, verdict, reason, facet.evidence, rule)


def _hr(p: Profile, f: Facet) -> Verdict | None:
    want = f.value
    if want not in ("positive", "negative"):
        return None
    rule = f"hormone-receptor-{want} cancer"
    label = "Hormone receptors"
    if p.hr == UNKNOWN:
        return _v(
            f, label, ASK, f"The trial is for {rule}. You have not entered your HR status.", rule
        )
    if p.hr == want:
        return _v(f, label, MEETS, f"The trial is for {rule}, and yours is HR-{p.hr}.", rule)
    return _v(f, label, NOT_MET, f"The trial is for {rule}, but yours is HR-{p.hr}.", rule)


_HER2_WORDS = {"positive": "HER2-positive", "low": "HER2-low", "zero": "HER2-zero (IHC 0)"}


def _her2(p: Profile, f: Facet) -> Verdict | None:
    # the spec's "any" also covers "HER2-positive or HER2-low" (no IHC 0), kept in f.detail
    want = "positive_or_low" if f.value == "any" and f.detail == "positive_or_low" else f.value
    label = "HER2"
    rules = {
        "positive": "HER2-positive cancer",
        "negative": "HER2-negative cancer (HER2-low and HER2-zero included)",
        "low": "HER2-low cancer (IHC 1+, or 2+ with negative ISH)",
        "positive_or_low": "HER2-positive or HER2-low cancer (not HER2-zero)",
    }
    if want not in rules:
        return None
    rule = rules[want]
    if p.her2 == UNKNOWN:
        return _v(
            f, label, ASK, f"The trial is for {rule}. You have not entered your HER2 result.", rule
        )
    yours = _HER2_WORDS[p.her2]
    ok = {
        "positive": p.her2 == "positive",
        "negative": p.her2 in ("low", "zero"),
        "low": p.her2 == "low",
        "positive_or_low": p.her2 in ("positive", "low"),
    }[want]
    if ok:
        return _v(f, label, MEETS, f"The trial is for {rule}, and yours is {yours}.", rule)
    if want in ("low", "positive_or_low") and p.her2 == "zero":
        return _v(
            f,
            label,
            ASK,
            f"The trial is for {rule.split(' (')[0]} and yours is recorded as HER2-zero. Some "
            "trials also take 'HER2-ultralow' (faint staining); ask whether a re-read of "
            "your test would count.",
            rule,
        )
    return _v(f, label, NOT_MET, f"The trial is for {rule}, but yours is {yours}.", rule)


def _required_yes(name: str, label: str, rule: str, have: str, yes: str, no: str):
    def check(p: Profile, f: Facet) -> Verdict | None:
        if f.value != "required":
            return None
        value = getattr(p, name)
        if value == UNKNOWN:
            return _v(
                f, label, ASK, f"The trial needs {rule}. You have not entered your result.", rule
            )
        if value == yes:
            return _v(f, label, MEETS, f"The trial needs {rule}, and you {have}.", rule)
        if value == no:
            return _v(f, label, NOT_MET, f"The trial needs {rule}, which you do not have.", rule)
        return None

    return check


_brca = _required_yes(
    "brca", "BRCA1/2 mutation", "an inherited BRCA1 or BRCA2 mutation", "have one", "yes", "no"
)
_pdl1 = _required_yes(
    "pdl1", "PD-L1", "a PD-L1-positive tumour", "have one", "positive", "negative"
)

_BIOMARKER_NAMES = {
    "pik3ca": "PIK3CA",
    "esr1": "ESR1",
    "akt1": "AKT1",
    "pten": "PTEN",
    "trop2": "TROP2",
    "other": "another tumour marker",
}


def _biomarkers(p: Profile, f: Facet) -> Verdict | None:
    wanted = tuple(f.value) if isinstance(f.value, tuple | list) else ()
    if not wanted:
        return None
    names = " or ".join(_BIOMARKER_NAMES.get(b, b) for b in wanted)
    rule = f"a tumour with {names}"
    label = "Tumour markers"
    known = [b for b in wanted if b in ("pik3ca", "esr1", "akt1", "pten")]
    answers = {b: getattr(p, b) for b in known}
    if any(a == "yes" for a in answers.values()):
        hit = ", ".join(_BIOMARKER_NAMES[b] for b, a in answers.items() if a == "yes")
        return _v(f, label, MEETS, f"The trial looks for {rule}; yours has {hit}.", rule)
    if known and len(known) == len(wanted) and all(a == "no" for a in answers.values()):
        return _v(
            f, label, NOT_MET, f"The trial looks for {rule}; your tests found none of these.", rule
        )
    return _v(
        f,
        label,
        ASK,
        f"The trial looks for {rule}; ask whether your tumour has been tested for it.",
        rule,
    )


def _had_adc(p: Profile) -> str:
    """Any antibody-drug conjugate: T-DXd or another one."""
    answers = (p.prior_tdxd, p.prior_other_adc)
    if "yes" in answers:
        return "yes"
    return "no" if all(a == "no" for a in answers) else UNKNOWN


def _unsure(verdict: Verdict, f: Facet) -> Verdict:
    """A reading that must not rule a trial out by itself: the words carry a condition, or
    read two ways. Ask instead."""
    if verdict.verdict != NOT_MET or f.firm:
        return verdict
    return replace(
        verdict,
        verdict=ASK,
        reason=verdict.reason.rstrip(".")
        + ". The trial's words on this may name only one drug, apply only to some people, or "
        "read two ways: ask.",
    )


def _prior(name: str, label: str, what: str, answer=None):
    def check(p: Profile, f: Facet) -> Verdict | None:
        if f.value not in ("required", "excluded"):
            return None
        had = answer(p) if answer else getattr(p, name)
        rule = (
            f"earlier {what}"
            if f.value == "required"
            else f"no earlier {what} for advanced disease"
        )
        if had == UNKNOWN:
            return _v(
                f,
                label,
                ASK,
                f"The trial needs {rule}. You have not entered your treatment history for it.",
                rule,
            )
        ok = (had == "yes") == (f.value == "required")
        yours = "you have had it" if had == "yes" else "you have not had it"
        verdict = _v(
            f, label, MEETS if ok else NOT_MET, f"The trial needs {rule}, and {yours}.", rule
        )
        return _unsure(verdict, f)

    return check


_prior_cdk46 = _prior("prior_cdk46", "Earlier CDK4/6 inhibitor", "CDK4/6 inhibitor treatment")
_prior_endocrine = _prior("prior_endocrine", "Earlier hormone therapy", "hormone therapy")
_prior_her2 = _prior("prior_her2", "Earlier anti-HER2 therapy", "anti-HER2 therapy")
_prior_adc = _prior(
    "prior_adc", "Earlier antibody-drug conjugate", "antibody-drug conjugate", _had_adc
)
_prior_immunotherapy = _prior(
    "prior_immunotherapy", "Earlier immunotherapy", "immunotherapy (checkpoint inhibitor)"
)
_prior_parp = _prior("prior_parp", "Earlier PARP inhibitor", "PARP inhibitor")


def _prior_chemo(p: Profile, f: Facet) -> Verdict | None:
    if f.value not in ("required", "excluded"):
        return None
    label = "Earlier chemotherapy"
    lines = p.chemo_count()
    rule = (
        "at least one earlier chemotherapy for advanced disease"
        if f.value == "required"
        else "no earlier chemotherapy for advanced disease"
    )
    if lines is None:
        return _v(
            f,
            label,
            ASK,
            f"The trial needs {rule}. You have not entered your chemotherapy history.",
            rule,
        )
    if f.value == "required" and lines == 0 and f.detail == "any_setting":
        return _v(
            f,
            label,
            ASK,
            "The trial asks for earlier chemotherapy. Its words may also count chemo you had "
            "before or after surgery. You have had none since the cancer spread, so ask if what "
            "you had counts.",
            rule,
        )
    ok = (lines >= 1) == (f.value == "required")
    yours = "you have had none" if lines == 0 else f"you have had {p.chemo_lines} line(s)"
    verdict = _v(f, label, MEETS if ok else NOT_MET, f"The trial needs {rule}, and {yours}.", rule)
    return _unsure(verdict, f)


_BRAIN_RULES = {
    "excluded": "no brain metastases",
    "stable_allowed": "brain metastases only if treated and stable",
    "active_allowed": "brain metastases allowed, including untreated ones",
    "required": "brain metastases (the trial is for people with them)",
}


def _brain(p: Profile, f: Facet) -> Verdict | None:
    rule = _BRAIN_RULES.get(str(f.value))
    if rule is None:
        return None
    label = "Brain metastases"
    if p.brain == UNKNOWN:
        return _v(
            f,
            label,
            ASK,
            f"The trial asks for {rule}. You have not entered your brain status.",
            rule,
        )
    ok = {
        "excluded": p.brain == "none",
        "stable_allowed": p.brain in ("none", "stable"),
        "active_allowed": True,
        "required": p.brain in ("stable", "active"),
    }[str(f.value)]
    yours = {
        "none": "you have none",
        "stable": "yours are treated and stable",
        "active": "yours are active or untreated",
    }[p.brain]
    if f.value == "required" and p.brain == "stable":
        return _v(
            f,
            label,
            ASK,
            f"The trial is for people with brain metastases and {yours}; "
            "some such trials want growing or untreated ones. Ask.",
            rule,
        )
    return _v(f, label, MEETS if ok else NOT_MET, f"The trial asks for {rule}, and {yours}.", rule)


def _menopause(p: Profile, f: Facet) -> Verdict | None:
    if f.value not in ("pre", "post"):
        return None
    label = "Menopausal status"
    rule = f"{f.value}menopausal women"
    if p.sex == "male":
        return None  # the sex rule speaks to this
    if p.menopause == UNKNOWN:
        return _v(
            f, label, ASK, f"The trial is for {rule}. You have not entered your status.", rule
        )
    if p.menopause == f.value:
        return _v(f, label, MEETS, f"The trial is for {rule}, like you.", rule)
    return _v(f, label, NOT_MET, f"The trial is for {rule}; you are {p.menopause}menopausal.", rule)


def _metastatic(p: Profile, f: Facet) -> Verdict | None:
    if f.value != "no":
        return None
    return _v(
        f,
        "Stage of cancer",
        NOT_MET,
        "The trial does not appear to enrol people whose cancer has spread (it reads as "
        "a study for early-stage disease or another condition).",
        "early-stage or non-metastatic disease",
    )


FACET_RULES = (
    ("admits_metastatic", _metastatic),
    ("hr", _hr),
    ("her2", _her2),
    ("brca", _brca),
    ("pdl1", _pdl1),
    ("biomarkers", _biomarkers),
    ("prior_endocrine", _prior_endocrine),
    ("prior_cdk46", _prior_cdk46),
    ("prior_chemo", _prior_chemo),
    ("prior_her2", _prior_her2),
    ("prior_adc", _prior_adc),
    ("prior_immunotherapy", _prior_immunotherapy),
    ("prior_parp", _prior_parp),
    ("brain_mets", _brain),
    ("menopause", _menopause),
)


# --------------------------------------------------------------------------------------------
# Structured fields: sex and age come straight from the record.


def _sex(p: Profile, t: Trial) -> Verdict | None:
    if t.sex not in ("FEMALE", "MALE"):
        return None
    want = t.sex.lower()
    rule = f"{want} participants only"
    evidence = f"Sex: {t.sex.title()}"
    if p.sex == UNKNOWN:
        return Verdict(
            "sex",
            "Sex",
            ASK,
            f"The trial takes {rule}. You have not entered your sex.",
            evidence,
            rule,
        )
    ok = p.sex == want
    return Verdict(
        "sex",
        "Sex",
        MEETS if ok else NOT_MET,
        f"The trial takes {rule}" + (", like you." if ok else "."),
        evidence,
        rule,
    )


def _age(p: Profile, t: Trial) -> Verdict | None:
    low, high = age_years(t.minimum_age), age_years(t.maximum_age)
    if low is None and high is None:
        return None
    parts = []
    if low is not None:
        parts.append(f"at least {t.minimum_age.lower()}")
    if high is not None:
        parts.append(f"at most {t.maximum_age.lower()}")
    rule = "age " + " and ".join(parts)
    evidence = "; ".join(
        x
        for x in (
            f"Minimum age: {t.minimum_age}" if t.minimum_age else "",
            f"Maximum age: {t.maximum_age}" if t.maximum_age else "",
        )
        if x
    )
    if p.age is None:
        if high is None and (low or 0) <= 18:
            return None  # every adult meets a plain adult minimum
        return Verdict(
            "age",
            "Age",
            ASK,
            f"The trial needs {rule}. You have not entered your age.",
            evidence,
            rule,
        )
    ok = (low is None or p.age >= low) and (high is None or p.age <= high)
    return Verdict(
        "age",
        "Age",
        MEETS if ok else NOT_MET,
        f"The trial needs {rule}; you are {p.age}.",
        evidence,
        rule,
    )


# --------------------------------------------------------------------------------------------


def level_of(verdicts: Iterable[Verdict]) -> Level:
    """Any known contradiction -> likely not eligible; any unknown -> check; else possible."""
    seen = {v.verdict for v in verdicts}
    if NOT_MET in seen:
        return UNLIKELY
    if ASK in seen:
        return CHECK
    return POSSIBLE


def verdicts_for(profile: Profile, trial: Trial, facets: TrialFacets) -> tuple[Verdict, ...]:
    out: list[Verdict] = []
    for name, rule in FACET_RULES:
        verdict = rule(profile, getattr(facets, name))
        if verdict is not None:
            out.append(verdict)
    for rule in (_sex, _age):
        verdict = rule(profile, trial)
        if verdict is not None:
            out.append(verdict)
    order = {NOT_MET: 0, ASK: 1, MEETS: 2}
    return tuple(sorted(out, key=lambda v: order[v.verdict]))


def match_trial(
    profile: Profile,
    trial: Trial,
    facets: TrialFacets | None = None,
    nearest: SiteDistance | None = None,
    unit: str = "mi",
    location_known: bool = False,
) -> TrialMatch:
    facets = facets or classify_trial(trial)
    # a person may join when one cohort fits: match each cohort, keep the best
    candidates: list[tuple[str, TrialFacets]] = [
        (c.label, facets.for_cohort(c)) for c in facets.cohorts if is_breast_cohort(c.cohort)
    ] or [("", facets)]
    scored = []
    for label, own in candidates:
        verdicts = verdicts_for(profile, trial, own)
        level = level_of(verdicts)
        counts = sum(v.verdict == ASK for v in verdicts)
        scored.append((LEVELS.index(level), counts, label, own, verdicts, level))
    scored.sort(key=lambda s: (s[0], s[1]))
    _, _, cohort, _own, verdicts, level = scored[0]
    return TrialMatch(
        trial=trial,
        facets=facets,  # study-level values keep their spec meaning in tables and CSV
        verdicts=verdicts,
        level=level,
        cohort=cohort,
        nearest=nearest,
        unit=unit,
        location_known=location_known or nearest is not None,
    )


def _phase_rank(trial: Trial) -> float:
    ranks = {"EARLY_PHASE1": 0.5, "PHASE1": 1, "PHASE2": 2, "PHASE3": 3, "PHASE4": 4}
    return max((ranks.get(p, 0) for p in trial.phases), default=0)


def sort_key(m: TrialMatch) -> tuple:
    """Possible matches first; then nearest recruiting site; then later phase; then newest."""
    distance = getattr(m.nearest, "distance", None)
    return (
        LEVELS.index(m.level),
        distance if distance is not None else float("inf"),
        -_phase_rank(m.trial),
        "".join(chr(0x10FFFF - ord(c)) for c in m.trial.last_update),  # newest first
        m.trial.nct_id,
    )


def match_all(
    profile: Profile,
    trials: Iterable[Trial],
    facets: Mapping[str, TrialFacets] | None = None,
    nearest: Mapping[str, SiteDistance] | None = None,
    unit: str = "mi",
    location_known: bool = False,
) -> list[TrialMatch]:
    """Match every trial and sort them as a patient would expect.

    `nearest` maps NCT id -> nearest recruiting site (geo.SiteDistance); `location_known` says a
    place was given, so a trial with no nearby recruiting site can say so.
    """
    facets = facets or {}
    nearest = nearest or {}
    matches = [
        match_trial(profile, t, facets.get(t.nct_id), nearest.get(t.nct_id), unit, location_known)
        for t in trials
    ]
    return sorted(matches, key=sort_key)
