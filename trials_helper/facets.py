"""Read one trial into the facets of ../shared/spec/trial-facets.md, each with its evidence.

Each rule looks at criteria with their side (inclusion / exclusion): "HER2-positive" under
exclusion means HER2-negative is required; "no prior CDK4/6 inhibitor" excludes; a washout
("not within 3 weeks") excludes nothing; cohorts that disagree give "any". Every value carries the
criterion (or intervention) that decided it, or "" when the text says nothing, so the UI and the
CSV can show why. Patterns are compiled once; classifying 1,000 studies takes well under a second.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, TextIO, cast

from .eligibility import EXCLUSION, INCLUSION, split_sides
from .reading.document import cohorts_of, read_clauses
from .reading.lexicon import prior_classes
from .reading.model import PRIOR_COLUMNS, Clause, Cohort, Mention, PriorValue, Setting
from .reading.prior import PriorReading, cohort_reading, read_mentions, study_reading
from .reading.text import (  # noqa: F401  # re-exported: tests and benches use them
    _DASHES,
    _NEG_BEFORE,
    Gate,
    LowerPattern,
    _lower,
    _plain,
    _rx,
    first_chars,
    norm,
    required_literals,
    rx,
    sentences,
)
from .studies import Intervention, Trial, parse_study

SPEC_COLUMNS: tuple[str, ...] = (
    "nct_id",
    "admits_metastatic",
    "hr",
    "her2",
    "brca",
    "pdl1",
    "biomarkers",
    "prior_cdk46",
    "prior_endocrine",
    "prior_chemo",
    "brain_mets",
    "menopause",
    "categories",
    # added with the second reader (spec: "More earlier-treatment columns")
    "prior_her2",
    "prior_adc",
    "prior_immunotherapy",
    "prior_parp",
)
FACET_NAMES = SPEC_COLUMNS[1:]
PRIOR_FACETS = PRIOR_COLUMNS  # the reader's list, named once
# facets a cohort can have its own value for (the rest describe the whole study)
COHORT_FACETS = (
    "hr",
    "her2",
    "brca",
    "pdl1",
    "biomarkers",
    *PRIOR_FACETS,
    "brain_mets",
    "menopause",
)
CATEGORY_ORDER = (
    "adc",
    "pi3k_akt_mtor",
    "parp",
    "other_targeted",
    "immunotherapy",
    "her2_directed",
    "cdk46",
    "endocrine",
    "chemotherapy",
    "radiation",
    "bone_modifying",
    "surgery",
    "supportive",
    "other",
)


@dataclass(frozen=True, init=False)
class Facet:
    """One facet value with the plain reason and the trial text that decided it."""

    name: str
    value: str | tuple[str, ...]
    reason: str
    evidence: str = ""
    side: str = ""  # inclusion | exclusion | intervention | title | ""
    # finer than the spec's value, for matching only: her2 "any" that is "positive_or_low"
    detail: str = ""
    # False when the deciding words carry a condition or read two ways: never rule out on it
    firm: bool = True

    def __init__(
        self,
        name: str,
        value: str | tuple[str, ...],
        reason: str,
        evidence: str = "",
        side: str = "",
        detail: str = "",
        firm: bool = True,
    ) -> None:
        # the frozen dataclass's own __init__ sets each field through object.__setattr__; one
        # update is twice as fast, and a reading of 1,000 studies makes about 20,000 facets
        self.__dict__.update(
            name=name,
            value=value,
            reason=reason,
            evidence=evidence,
            side=side,
            detail=detail,
            firm=firm,
        )

    @property
    def text(self) -> str:
        """The value as the spec's CSV writes it (lists joined by ';')."""
        return ";".join(self.value) if isinstance(self.value, tuple) else self.value


@dataclass(frozen=True)
class CohortFacets:
    """One cohort's own facets: the clauses that bind everyone plus the cohort's own."""

    cohort: Cohort
    facets: Mapping[str, Facet]

    @property
    def label(self) -> str:
        return self.cohort.label()


@dataclass(frozen=True)
class TrialFacets:
    nct_id: str
    admits_metastatic: Facet
    hr: Facet
    her2: Facet
    brca: Facet
    pdl1: Facet
    biomarkers: Facet
    prior_cdk46: Facet
    prior_endocrine: Facet
    prior_chemo: Facet
    brain_mets: Facet
    menopause: Facet
    categories: Facet
    prior_her2: Facet
    prior_adc: Facet
    prior_immunotherapy: Facet
    prior_parp: Facet
    intervention_categories: tuple[tuple[str, str, str], ...] = field(default=())
    cohorts: tuple[CohortFacets, ...] = ()

    def for_cohort(self, cohort: CohortFacets | None) -> TrialFacets:
        """These facets as they stand for people in one cohort."""
        if cohort is None:
            return self
        return replace(self, **cast(dict[str, Any], dict(cohort.facets)))

    def facets(self) -> list[Facet]:
        return [getattr(self, name) for name in FACET_NAMES]

    def row(self) -> dict[str, str]:
        """Spec columns in spec order, then `<column>_evidence` columns."""
        row = {"nct_id": self.nct_id}
        row.update({f.name: f.text for f in self.facets()})
        row.update({f"{f.name}_evidence": " ".join(f.evidence.split()) for f in self.facets()})
        return row


_PRE_META = Gate(
    ("metasta", "advanced", "unresectable", "inoperable", "stage", "mbc", "recurren", "relapse")
    + ("curative", "solid tumo"),
    ("m1", "abc"),
)
_PRE_HR = Gate(
    ("hormone", "estrogen", "oestrogen", "triple", "luminal", "endocrine"),
    ("hr", "er", "pr", "pgr", "tn", "tnbc"),
)
_PRE_MARKER = Gate(
    ("pik3ca", "esr1", "akt1", "pten", "trop", "androgen", "hla", "ny-eso", "notch", "uptake")
    + ("grpr", "fgfr", "ntrk", "fusion", "idh1", "her3", "ccne1", "defect", "mutation")
    + ("alteration", "cldn", "folr1", "nectin", "b7-h"),
    ("ar",),
)
_PRE_BRAIN = Gate(("brain", "cns", "central nervous", "intracranial", "cerebral"))


def negated(text: str, start: int) -> bool:
    """Is the match at `start` negated by a nearby word before it in the same clause?"""
    return bool(_NEG_BEFORE.search(text[max(0, start - 60) : start]))


@dataclass(frozen=True)
class _Text:
    trial: Trial
    inclusion: tuple[str, ...]
    exclusion: tuple[str, ...]
    title: str  # titles + conditions + keywords
    memo: dict[str, bool] = field(default_factory=dict, compare=False)  # answers read once

    def first(self, texts: Sequence[str], pattern: re.Pattern[str] | LowerPattern) -> str | None:
        for t in texts:
            if pattern.search(t):
                return t
        return None


@lru_cache(maxsize=256)  # asked twice per study: for the facets and for the reader's clauses
def _norm_lines(text: str) -> str:
    """norm() for a whole criteria text, keeping its lines (the splitter needs them); the
    splitter then leaves single spaces, so criteria need no norm() of their own."""
    text = _plain(text)
    return text.replace("\\", "") if "\\" in text else text


def _prepare(trial: Trial) -> _Text:
    criteria = split_sides(_norm_lines(trial.eligibility_criteria or ""))
    inc = tuple(text for side, text, _ in criteria if side != EXCLUSION)
    exc = tuple(text for side, text, _ in criteria if side == EXCLUSION)
    title = norm(
        " | ".join(
            x
            for x in (trial.brief_title, trial.official_title, *trial.conditions, *trial.keywords)
            if x
        )
    )
    return _Text(trial, inc, exc, title)


def _f(name: str, value: Any, reason: str, evidence: str = "", side: str = "") -> Facet:
    return Facet(name, value, reason, evidence, side)


# ------------------------------------------------------------------------------------------
# admits_metastatic

_BREAST = rx(
    r"breast[\s-]*(cancer|carcinoma|neoplasm|tumou?r|malignan|adenocarcinoma|lesion)|"
    r"(cancer|carcinoma|adenocarcinoma|neoplasm|tumou?r)s? of the (female |male )?breast|"
    r"mammary|\bMBC\b|\bTNBC\b|\bHR\+|\bER\+|\bBC\b"
)
_META = rx(
    r"metastatic|metastases|advanced (breast|cancer|disease|solid|carcinoma|or)|"
    r"locally advanced|unresectable|inoperable|stage\s*(iv|4)\b|\bM1\b|\bMBC\b|"
    r"\baBC\b|recurrent (breast|disease|or)|relapsed|not amenable to curative|any stage|"
    r"solid tumou?rs?"
)
_META_EXC = rx(
    r"^[^.;]{0,45}?(distant\s+(metasta|disease|relapse|recurrence)|metastatic "
    r"(disease|breast)|stage\s*(iv|4)\b|\bM1\b|evidence of (distant )?metasta|"
    r"recurrent or metastatic|metastatic or recurrent)"
)
_META_QUALIFIER = rx(
    r"brain|cns|central nervous|leptomening|spinal|visceral|symptomatic|"
    r"uncontrolled|lymphangit|crisis|liver|hepatic|bone|active|untreated|"
    r"meningeal|intracranial|skin|limited to|confined to|\bonly\b|skeletal|other than|except"
)
_EARLY = rx(
    r"\bearly[\s-]*(stage|breast)|\boperable\b|\bstage\s*(i|ii|iii|1|2|3)[abc]?\b|"
    r"adjuvant|neoadjuvant|post-?neoadjuvant|curative[\s-]*intent|no (clinical )?evidence of "
    r"disease|complete remission|survivors?|primary (breast )?(cancer )?surgery|ductal "
    r"carcinoma in situ|\bDCIS\b|resectable"
)


_NO_META = rx(
    r"\b(no|without|not have)\s+(clinical |radiologic\w* |known |any )?(evidence of )?"
    r"(?:(?:residual|local\w*|regional|recurrent|progressive|persistent),?\s+(?:or\s+)?){0,3}"
    r"(distant )?(metasta|stage\s*iv)(?![^.;]{0,20}(liver|brain|bone|if))"
)
_META_WORD = rx(r"metasta|stage\s*(iv|4)")
_META_TREATED = rx(
    r"therap|treatment|chemo|line|regimen|proof|biops|setting|prior|previous|received|"
    r"\bused?\b|use of|\bfor (the )?metasta|other than|except"
)
_EXC_META_HINT = Gate(("metasta", "stage", "distant", "recurren"), ("m1",))


# every _BREAST match holds one of these (the gates' shared scan has read most criteria already)
_BREAST_WORDS = Gate(("breast", "mammary", "hr+", "er+"), ("mbc", "tnbc", "bc"))


def _breast_in(parts: Sequence[str]) -> bool:
    """Does _BREAST match the parts joined by spaces? The parts that hold a breast word first,
    each on its own (a match inside one part is one in the joined text: the pattern looks no
    further than word boundaries), then the joined text if it holds one, for words that run
    across two parts."""
    if any(_BREAST.search(p) for p in _BREAST_WORDS.select(parts)):
        return True
    joined = " ".join(parts)
    return _BREAST_WORDS(joined) and _BREAST.search(joined) is not None


def _mentions_breast(t: _Text, *, exclusion: bool = True) -> bool:
    """Is this a breast cancer study at all? Title and conditions first, then the inclusion
    criteria and summary, then (if asked) the exclusion criteria; each part read once."""
    memo = t.memo
    if "breast" not in memo:
        memo["breast"] = bool(
            _BREAST.search(t.title) or _breast_in((*t.inclusion, t.trial.brief_summary))
        )
    if memo["breast"] or not exclusion:
        return memo["breast"]
    if "breast_exc" not in memo:
        memo["breast_exc"] = _breast_in(t.exclusion)
    return memo["breast_exc"]


def _admits_metastatic(t: _Text) -> Facet:
    name = "admits_metastatic"
    if not _mentions_breast(t):
        return _f(
            name,
            "no",
            "Neither the title, conditions nor criteria mention breast cancer.",
            t.title,
            "title",
        )
    for text in _EXC_META_HINT.select(t.exclusion):
        m = _META_EXC.search(text)
        # the words up to the end of the clause: "metastatic disease limited to bone" excludes
        # only some metastatic disease; "prior X for metastatic disease" is about treatment
        clause = text[: m.end() + 70].split(".")[0].split(";")[0] if m else ""
        if m and not _META_QUALIFIER.search(clause) and not _META_TREATED.search(m.group(0)):
            return _f(
                name, "no", "The exclusion criteria rule out metastatic disease.", text, EXCLUSION
            )
    positive = None
    meta_texts = _PRE_META.select(t.inclusion)  # all that can name metastases
    for text in (t.title, *meta_texts) if _PRE_META(t.title) else meta_texts:
        for m in _META.finditer(text):
            if not negated(text, m.start()):
                positive = text
                break
        if positive:
            break
    if positive:
        early_only = t.first((t.title,), _EARLY) and not _META.search(t.title)
        neg_meta = t.first(meta_texts, _NO_META)
        if neg_meta or (early_only and not t.first(meta_texts, _META_WORD)):
            return _f(
                name,
                "no",
                "The criteria describe early-stage disease only.",
                neg_meta or t.title,
                INCLUSION if neg_meta else "title",
            )
        return _f(
            name,
            "yes",
            "The criteria or title admit metastatic or advanced disease.",
            positive,
            "title" if positive == t.title else INCLUSION,
        )
    early = t.first((t.title, *t.inclusion, t.trial.brief_summary), _EARLY)
    if early:
        return _f(
            name,
            "no",
            "The study is for early-stage or treated disease, not metastatic cancer.",
            early,
            INCLUSION if early != t.title else "title",
        )
    trial = t.trial
    if len(trial.conditions) > 1 and not _breast_in(
        (trial.brief_title, trial.official_title, trial.brief_summary, *t.inclusion)
    ):
        # "Breast Cancer" is one condition among several (hypertension, osteoporosis, ...) and
        # neither the titles, the summary nor the criteria ask for it
        return _f(
            name,
            "no",
            "Breast cancer is only one of several conditions listed; the criteria do not ask "
            "for it.",
            " | ".join(trial.conditions),
            "title",
        )
    return _f(
        name,
        "yes",
        "Breast cancer of any stage; nothing limits it to early disease.",
        t.title,
        "title",
    )


# ------------------------------------------------------------------------------------------
# hr / her2

_TN = rx(
    r"triple[\s-]*negative|\bTNBC\b|\bTN\s*breast|ER[\s-]*(?:/\s*PR|and PR)?[\s-]*negative and "
    r"HER2[\s-]*negative|ER-?,?\s*PR-?,?\s*(?:and\s*)?HER2-(?![a-z])"
)
_HR_POS = rx(
    r"\bHR\s*\+|\bHR[\s-]*positive|hormone[\s-]*receptor[\s-]*\(?HR\)?[\s-]*positive|"
    r"hormone[\s-]*receptor[\s-]*positive|hormone positive|hormone[\s-]*sensitive|"
    r"\bER\s*\+|\bER[\s-]*positive|\bER\s*(?:and|or|and/or|/)\s*(?:PR|PgR)[\s-]*positive|"
    r"estrogen[\s-]*receptor[\s-]*(?:\(ER\)[\s-]*)?positive|ER\s*>\s*=?\s*10\s*%|"
    r"ER expression (?:is )?>\s*=?\s*\d|\bluminal\b|endocrine[\s-]*(?:sensitive|responsive)|"
    r"(?:ER|PR|PgR)\+\s*(?:and/or|or|/)\s*(?:ER|PR|PgR)\+"
)
_HR_NEG = rx(
    r"\bHR[\s-]*negative|hormone[\s-]*receptor[\s-]*negative|\bER[\s-]*negative|"
    r"ER\s*(?:and|/)\s*(?:PR|PgR)[\s-]*negative|estrogen[\s-]*receptor[\s-]*negative|"
    r"\bER-(?![a-z]|\s*(?:and/or|and|or|/)\s*(?:PR|PgR)[\s-]*(?:positive|\+))"
)
_ER_LOW = rx(
    r"weakly (ER|PR|positive|hormone)|between 1\s*-\s*\d+\s*%|ER[\s-]*low|"
    r"hormone[\s-]*receptor[\s-]*low|\bHR[\s-]*low|ER\s*(and PgR\s*)?1\s*-\s*10\s*%"
)


# Spellings of the receptors become "er" / "pr" before the patterns above run ("estrogen and/or
# progesterone receptor positive", "estrogen receptor (ER)-negative", "oestrogen"); lower-cased
# (the patterns ignore case), the evidence keeps the trial's words.
_HR_SPELLINGS = (
    (
        r"\bo?estrogen\s+(and/or|and|or|&|/)\s+progesterone[\s-]+receptors?"
        r"(?:\s*\(\s*er\s*(?:/|and|,)\s*(?:pr|pgr)\s*\))?",
        r"er \1 pr",
    ),
    (r"\bo?estrogen(?:[\s-]+receptors?(?:[\s-]*alpha)?)?\s*\(\s*er\s*\)", "er"),
    (r"\bo?estrogen[\s-]+receptors?(?:[\s-]*alpha)?", "er"),
    (r"\bprogesterone(?:[\s-]+receptors?)?\s*\(\s*(?:pr|pgr)\s*\)", "pr"),
    (r"\bprogesterone[\s-]+receptors?", "pr"),
)
# each with the word every match holds (a text without it skips that pass)
_HR_SPELLING = tuple(
    (re.compile(p), r, "estrogen" if "estrogen" in p else "progesterone") for p, r in _HR_SPELLINGS
)
_HR_MORE_POS = rx(
    r"\bhormonally[\s-]*(?:responsive|sensitive)"
    r"|\b(?:must|should|that|which|to)\s+express(?:es)?\s+er\b|\bexpressing\s+er\b"
    r"|\bexpression\s+of\s+(?:the\s+)?er\b|\ber-?\s*(?:and/or|or|/)\s*pr[\s-]*(?:positive|\+)"
)
_HR_MORE_TN = rx(r"\ber\s*,\s*pr\s*,?\s*(?:and\s+)?her-?2\s+negative")


@lru_cache(maxsize=8192)
def hr_spelling(text: str) -> str:
    """`text` with the receptors' long names written "er" / "pr", lower-cased."""
    lower = _lower(text)
    if "estrogen" not in lower and "progesterone" not in lower:
        return text
    for pattern, short, word in _HR_SPELLING:
        if word in lower:
            lower = pattern.sub(short, lower)
    return lower


def _hr(t: _Text) -> Facet:
    name = "hr"
    texts = _PRE_HR.select((t.title, *t.inclusion))
    pos = neg = cond_pos = cond_neg = None
    for text in texts:
        x = hr_spelling(text)  # read; `text` is kept as the evidence
        for m in (*_HR_POS.finditer(x), *_HR_MORE_POS.finditer(x)):
            # "weakly ER or PR positive": the qualifier may stand just before the match
            window = x[max(0, m.start() - 12) : m.end() + 5]
            if _status_conditional(x, m):
                cond_pos = cond_pos or text  # a condition: admitted, but not asked for
                continue
            if not negated(x, m.start()) and not _ER_LOW.search(window):
                pos = pos or text
        negatives = (
            *_TN.finditer(x),
            *_HR_MORE_TN.finditer(x),
            *(m for m in _HR_NEG.finditer(x) if not negated(x, m.start())),
        )
        if any(not _status_conditional(x, m) for m in negatives):
            neg = neg or text
        elif negatives:
            cond_neg = cond_neg or text
    # a status named only as a condition is admitted: with the other one asked for, both are
    pos, neg = pos or (cond_pos if neg else None), neg or (cond_neg if pos else None)
    if pos and neg:
        # "HR-positive or HR-negative", cohorts of both kinds, or TNBC with ER-low
        if _ER_LOW.search(neg) and not _rx(r"HR\+|HR[\s-]*positive|ER\s*>\s*=?\s*10|ER\+").search(
            pos
        ):
            return _f(name, "negative", "Triple-negative or ER-low disease only.", neg, INCLUSION)
        return _f(
            name,
            "any",
            "Both hormone-receptor-positive and -negative disease are admitted.",
            f"{pos} / {neg}" if pos != neg else pos,
            INCLUSION,
        )
    if pos:
        return _f(
            name,
            "positive",
            "The trial is for hormone-receptor-positive disease.",
            pos,
            "title" if pos == t.title else INCLUSION,
        )
    if neg:
        return _f(
            name,
            "negative",
            "The trial is for hormone-receptor-negative (triple-negative) disease.",
            neg,
            "title" if neg == t.title else INCLUSION,
        )
    exc = next((x for x in _PRE_HR.select(t.exclusion) if _HR_POS.search(hr_spelling(x))), None)
    if exc:
        return _f(
            name, "negative", "Hormone-receptor-positive disease is excluded.", exc, EXCLUSION
        )
    return _f(name, "any", "No hormone-receptor requirement is stated.")


_HER2_HINT = Gate(
    ("her2", "her-2", "her 2", "her -2", "her- 2", "erbb2", "erbb-2", "tnbc", "triple", "ihc")
    + ("growth factor receptor 2", "growth factor receptor-2"),
    ("her",),
)


# The many spellings of HER2 become "HER2" before the patterns below run: "human epidermal
# growth factor receptor 2 (HER2) negative", "HER2/neu", "Her2neu", "HER 2", "c-erbB-2",
# "ErbB2(HER2)overexpressing". Evidence keeps the trial's own words.
_HER2_SPELLINGS = (
    (
        r"human\s+epidermal\s+growth\s+factor\s+receptor[\s-]*2\b"
        r"(?:\s*\(\s*(?:her-?2(?:\s*/\s*neu)?|(?:c-?)?erbb-?2)\s*\))?"
    ),
    r"\b(?:c-?)?erbb-?2-?\s*\(\s*her-?2(?:\s*/\s*neu)?-?\s*\)",
    r"\bher-?2(?:\s*/\s*neu)?\s*\(\s*(?:c-?)?erbb-?2\s*\)",
    r"\bher[\s-]?2[\s-]*/?\s*neu\b",
    r"\b(?:c-?)?erbb-?2\b",
    r"\bher\s2\b(?!\s*(?:prior|previous|lines?|regimens?|cycles?|doses?|years?|months?))",
)
# run on lower-cased text (the HER2 patterns ignore case), which is several times faster
_HER2_SPELLING = re.compile("(?=[ceh])(?:" + "|".join(f"(?:{p})" for p in _HER2_SPELLINGS) + ")")
_HER2_RESPELT = ("neu", "her 2", "erbb", "factor receptor")  # one of these is in each spelling


@lru_cache(maxsize=8192)
def her2_spelling(text: str) -> str:
    """`text` with every spelling of HER2 written "her2", lower-cased (the HER2 patterns read
    this and ignore case; evidence keeps the trial's words)."""
    lower = _lower(text)
    if not any(map(lower.__contains__, _HER2_RESPELT)):
        return text  # most criteria, and "HER2" / "HER-2" as the patterns read them
    return _HER2_SPELLING.sub("her2", lower)


_HER2_POS = rx(
    r"HER-?2(?:/neu)?[\s-]*(?:\(?\s*\+\s*\)?(?![\s/]*-)|positive|overexpress\w*|amplif\w*|"
    r"enriched)|HER-?2\+|IHC\s*3\s*\+|ERBB2[\s-]*(?:positive|amplif\w*)|"
    r"HER-?2 overexpression|HER2[\s-]*(?:score\s*(?:of\s*)?)?3\s*\+|"
    r"HER2\s+gene\s+amplif\w*|(?:amplification|overexpression)\s+of\s+(?:the\s+)?HER2\b"
)
_HER2_NEG = rx(
    r"HER-?2(?:/neu|neu)?[\s-]*(?:negative|non[\s-]*amplified|neg\b|"
    r"-(?![a-z0-9]|\s*\(?(?:HER2|amplif|overexpress|positiv|enrich|express|target|direct)))|"
    r"HER-?2\s*-?\s*(?:0|zero)\b|HER-?2[\s-]*non[\s-]*overexpress\w*|"
    r"HER-?2[\s-]*(?:IHC\s*)?0\s*(?:,|or|to)\s*1\+|"
    r"\bnegative\s+(?:for\s+)?HER2\b(?![\s-]*(?:positive|\+|pos\b|overexpress|amplif))|"
    r"HER2\s*(?:expression\s*)?(?:score\s*)?(?:less than|lower than|<|below)\s*3\s*\+|"
    r"HER2\s*(?:IHC\s*)?0\s*(?:-|to)\s*2\s*\+"
)
# "further testing of HER2 overexpression by FISH is required": how HER2 is tested, not who
_HER2_TESTING = rx(r"(?:test(?:ing|ed|s)?|assess\w*|evaluat\w*|determin\w*)\s+(?:of|for)\s+$")
_HER2_NOT_ELIGIBLE = re.compile(
    r"[^.;]{0,60}?\b(?:are|is)\s+(?:not\s+eligible|ineligible|excluded)\b", re.I
)
# "HER2 overexpressed status will be defined as ...": a definition, not who may join
_HER2_DEFINITION = re.compile(r"\s*(?:status\s+)?(?:will\s+be\s+|is\s+|are\s+)?defined\b", re.I)
# A rule for those who have it, not an entry requirement: "If HER2-positive, prior trastuzumab
# required", "Patients with HER2-positive tumours must have received trastuzumab", "HER2-positive
# patients, defined as IHC 3+, must have received trastuzumab"
_STATUS_IF = rx(
    r"(?:\bif\b|\bwhen\b|in (?:the )?case of)[^.;]{0,25}$|(?:patients|participants|subjects|those"
    r"|women|people)\s+(?:who\s+(?:are|have)\s+(?:an?\s+)?|with\s+(?:an?\s+)?)[^.;,]{0,12}$"
)
_STATUS_SUBJECT_AFTER = re.compile(
    r"[\s-]*(?:\w+[\s-]+){0,2}?(?:patients|participants|subjects|women|tumou?rs?)\b", re.I
)
_STATUS_THEN_TREATED = re.compile(
    r"(?:[^.;]|\.(?=\d)){0,140}?\b(?:should|must|will|need\s+to|may)\s+(?:\w+\s+){0,2}?"
    r"(?:have\s+)?(?:received|been\s+treated|had|progressed|failed|be\s+treated|continue)\b",
    re.I,
)


_STATUS_IF_WORD = rx(r"\bif\b|\bwhen\b|in (?:the )?case of")


def _status_conditional(x: str, m: re.Match[str]) -> bool:
    """Is the receptor status at `m` the condition of another rule rather than an entry rule
    ("If HER2-positive, ...", "Patients with ER+ disease must have received ...")?"""
    before = x[max(0, m.start() - 60) : m.start()]
    if _STATUS_IF.search(before):
        return bool(_STATUS_IF_WORD.search(before) or _STATUS_THEN_TREATED.match(x, m.end()))
    subject = _STATUS_SUBJECT_AFTER.match(x, m.end())
    return bool(subject and _STATUS_THEN_TREATED.match(x, subject.end()))


_HER2_LOW = rx(
    r"HER-?2[\s-]*(?:-|\s)?\s*(?:low|ultra[\s-]*low)|ultra[\s-]*low|"
    r"IHC\s*1\s*\+\s*(?:or|and|&|,|/)\s*(?:IHC\s*)?2\s*\+|0\s*<\s*IHC\s*<\s*1\+|"
    r"HER-?2[\s-]*expressing|HER-?2 expression \(?(?:IHC\s*)?1\s*\+?\s*(?:-|to)\s*3\s*\+"
)
_HER2_ZERO_OK = rx(
    r"IHC\s*(?:score\s*(?:of\s*)?)?0(?![.\d])\s*(?:,|or|to|-|and)|IHC\s*(?:status of\s*)?0\s*,|"
    r"HER-?2[\s-]*(?:0|zero)\b|IHC 0\b|status of 0"
)


# wording of a waiting period after earlier treatment (a HER2 word inside one is no rule)
_WASHOUT = rx(
    r">\s*\d+\s*(days?|weeks?|months?|years?)\s*(prior|before|ago|since)|within\s+(the\s+)?(last\s+|past\s+)?\d+|within\s+\w+\s+(days?|weeks?|months?)|"
    r"\d+\s*(days?|weeks?)\s*(prior|before)|half-?lives|wash-?out|(last|final) dose|"
    r"\b(at least|more than|minimum of|>=?)\s*\d+\s*(days?|weeks?|months?|years?)\s*"
    r"(\([^)]{0,20}\)\s*)?(before|prior|since|from)|since (the )?(completion|end|last)|"
    r"completed (at least|more than|>)|\bdiscontinued\b|\bmust (stop|be stopped)|"
    r"in the (previous|past|last) \d+"
)


_POSITIVE_OR_LOW = "positive_or_low"
_HER2_EITHER = rx(r"HER-?2\s*(?:-\s*/\s*\+|\+\s*/\s*-|\(\s*\+\s*/\s*-\s*\))")  # "HER2-/+"
_DEFINED = re.compile(r"defin|i\.e\.|according to|as per|confirmed by", re.I)


def _either_in_one(x: str, a: re.Match[str], b: re.Match[str]) -> bool:
    """One criterion that admits both: "HER2-negative or HER2-positive", "HER2 negative (IHC 0)
    or HER2 3+" ("or" between the two, and no definition)."""
    first, second = sorted((a, b), key=lambda m: m.start())
    between = x[first.end() : second.start()]
    return (
        len(between) < 80 and bool(re.search(r"\bor\b", between)) and not _DEFINED.search(between)
    )


def _her2(t: _Text) -> Facet:
    name = "her2"
    pos = neg = low = either = cond_pos = cond_neg = None
    for text in _HER2_HINT.select((t.title, *t.inclusion)):
        x = her2_spelling(text)  # read; `text` is kept as the evidence
        if _HER2_EITHER.search(x):
            either = either or text
        if _HER2_LOW.search(x):
            low = low or text
        neg_m = _HER2_NEG.search(x)
        pos_m = None
        shut_out = False
        positives = list(_HER2_POS.finditer(x))  # read twice below
        for m in positives:
            window = x[m.start() : m.end() + 25]
            if neg_m and neg_m.end() <= m.start() and _DEFINED.search(x, neg_m.end(), m.start()):
                continue  # "HER2-negative, defined as ... IHC 3+ with FISH negative"
            if _HER2_TESTING.search(x[max(0, m.start() - 25) : m.start()]):
                continue  # "further testing of HER2 overexpression by FISH is required"
            if _HER2_NOT_ELIGIBLE.match(x, m.end()):
                shut_out = True  # "Patients with HER2+ breast cancer are not eligible"
                continue
            if _status_conditional(x, m):
                cond_pos = cond_pos or text  # admitted, but not asked for
                break  # "if HER2-positive (IHC 3+ ...), prior trastuzumab required"
            if _HER2_DEFINITION.match(x, m.end()):
                continue  # "HER2 overexpressed status will be defined as ..."
            if not negated(x, m.start()) and not _rx(r"IHC\s*[0-2]").search(window):
                pos, pos_m = pos or text, m
                break
        if neg_m and _status_conditional(x, neg_m):
            cond_neg, neg_m = cond_neg or text, None
        if neg_m and _HER2_DEFINITION.match(x, neg_m.end()):
            neg_m = None
        if neg_m and pos_m and _either_in_one(x, neg_m, pos_m):
            either = either or text  # "HER2-negative (IHC 0) or HER2 3+"
        if neg_m or shut_out or _TN.search(x) or any(negated(x, m.start()) for m in positives):
            neg = neg or text
    # a status named only as a condition is admitted: with the other one asked for, both are
    pos, neg = pos or (cond_pos if neg else None), neg or (cond_neg if pos else None)
    if either:
        return _f(
            name,
            "any",
            "HER2-negative and HER2-positive disease are both admitted.",
            either,
            "title" if either == t.title else INCLUSION,
        )
    # does a HER2 criterion admit IHC 0 too? (only asked when HER2-low is named)
    zero_ok = low is not None and any(
        _HER2_ZERO_OK.search(her2_spelling(x)) for x in _HER2_HINT.select((t.title, *t.inclusion))
    )
    if pos and pos == low and pos != neg:
        # one criterion admits both: "HER2-positive or HER2-expressing (IHC 1-3+)"
        return replace(
            _f(
                name,
                "any",
                "HER2-positive and HER2-low disease are both admitted.",
                pos,
                "title" if pos == t.title else INCLUSION,
            ),
            detail="" if zero_ok else _POSITIVE_OR_LOW,
        )
    if (
        low
        # IHC 0 admitted too means HER2-negative; only criteria about HER2 count ("ECOG
        # performance status of 0 or 1" is not an IHC score)
        and not zero_ok
        and not (pos and pos != low)
    ):
        return _f(
            name,
            "low",
            "The trial is for HER2-low (or ultralow) disease.",
            low,
            "title" if low == t.title else INCLUSION,
        )
    if pos and (neg or low) and pos not in (neg, low):
        only_low = not neg and not zero_ok  # HER2-positive or HER2-low cohorts, no IHC 0
        return replace(
            _f(
                name,
                "any",
                "HER2-positive and HER2-low disease are admitted."
                if only_low
                else "Both HER2-positive and HER2-negative disease are admitted.",
                f"{pos} / {neg or low}",
                INCLUSION,
            ),
            detail=_POSITIVE_OR_LOW if only_low else "",
        )
    if pos and not neg:
        return _f(
            name,
            "positive",
            "The trial is for HER2-positive disease.",
            pos,
            "title" if pos == t.title else INCLUSION,
        )
    if neg or low:
        ev = neg or low or ""
        return _f(
            name,
            "negative",
            "The trial is for HER2-negative disease (HER2-low included).",
            ev,
            "title" if ev == t.title else INCLUSION,
        )
    exc = next(
        (
            x
            for x in t.exclusion
            if "her" in _lower(x)
            and _HER2_POS.search(her2_spelling(x))
            and not _rx(r"unknown|status|except|allowed|permitted").search(x)
            and not _WASHOUT.search(x)
        ),
        None,
    )
    if exc:
        return _f(
            name,
            "negative",
            "HER2-positive disease is excluded, so HER2-negative is required.",
            exc,
            EXCLUSION,
        )
    return _f(name, "any", "No HER2 requirement is stated.")


# ------------------------------------------------------------------------------------------
# brca / pdl1 / biomarkers

_BRCA = rx(
    r"\b(g|germline\s*)?BRCA\s*(1|2|1/2|1 or 2|1 and/or 2)?\b[^.;]{0,60}(mutat|variant|"
    r"carrier|alteration|pathogenic)|(mutat|variant|carrier|pathogenic)[^.;]{0,40}\bBRCA"
)
_PDL1 = rx(
    r"PD-?L1[^.;]{0,60}(positive|\bCPS\s*(>=|>|of at least)\s*\d|>=\s*1\s*%|expression "
    r"(>=|of at least)|high)|PD-?L1\+"
)
_NOT_REQUIRED = rx(
    r"regardless|irrespective|any (PD-?L1|BRCA) status|known (PD-?L1|BRCA) status|"
    r"unknown|not required|status (is )?(known|available)|or negative|tested|"
    r"optional"
)
_BIOMARKERS = {
    "pik3ca": rx(
        r"PIK3CA[^.;]{0,40}(mutat|alter|activat)|(mutat|alter)\w*[^.;]{0,20}PIK3CA|"
        r"PIK3CA[\s-]*mutant|PIK3CA-?mutated"
    ),
    "esr1": rx(
        r"ESR1[^.;]{0,30}(mutat|variant|alter)|ESR1[\s-]*m(?:ut)?\b|mutat\w*[^.;]{0,15}ESR1"
    ),
    "akt1": rx(r"AKT1[^.;]{0,30}(mutat|alter)|AKT1"),
    "pten": rx(r"PTEN[^.;]{0,30}(loss|mutat|alter|defici)|PTEN"),
    "trop2": rx(r"TROP-?2[^.;]{0,30}(positive|overexpress|expression\s*(>=|>|of at least|high))"),
    "other": rx(
        r"androgen[\s-]*receptor[^.;]{0,30}(positive|>=|express)|\bAR\s*(\+|positive|"
        r"expression|>=)|\bAR-?positive|HLA-?A\*?\s*0?2|NY-?ESO|notch|uptake|\bGRPR\b|"
        r"\bFGFR\d?[^.;]{0,20}(amplif|alter|mutat)|\bNTRK|\bfusions?\b|IDH1|HER3[^.;]{0,20}express|"
        r"CCNE1[^.;]{0,20}amplif|defects? in [^.;]{0,40}genes?|(mutation|alteration)s? in "
        r"(one|any) of|CLDN\d|FOLR1|nectin|B7-?H\d"
    ),
}


_MARKER_CONDITION = rx(r"(in (the )?case of|\bif\b|\bwhen\b)[^.;]{0,25}$")
_MARKER_SUBJECT = rx(r"^\W*(patients|participants|subjects|those|women|people) with\b[^.;]*$")
_MARKER_CONDITION_AFTER = re.compile(
    r"[^.;]{0,60}\b(should|must) have (received|been treated|had)", re.I
)
_MARKER_NAMES = {"brca": Gate(("brca",)), "pdl1": Gate(("pd-l1", "pdl1", "pd l1"))}


def _required_marker(t: _Text, name: str, pattern: LowerPattern, reason: str) -> Facet:
    for text in _MARKER_NAMES[name].select(t.inclusion):
        m = pattern.search(text)
        if (
            m
            and not negated(text, m.start())
            and not _NOT_REQUIRED.search(text)
            # a rule for those who have it, not an entry requirement: "in the case of a BRCA
            # mutation a PARP inhibitor", "Patients with PD-L1 positive ... should have received"
            and not _MARKER_CONDITION.search(text[max(0, m.start() - 30) : m.start()])
            and not (
                _MARKER_SUBJECT.search(text[: m.start()])
                and _MARKER_CONDITION_AFTER.match(text, m.end())
            )
        ):
            return _f(name, "required", reason, text, INCLUSION)
    return _f(name, "any", "Not required by the criteria.")


def _brca(t: _Text, metastatic: bool) -> Facet:
    if not metastatic:
        return _f("brca", "any", "Only counted for studies that enrol metastatic disease.")
    return _required_marker(t, "brca", _BRCA, "An inherited BRCA1/2 mutation is required.")


def _pdl1(t: _Text, metastatic: bool) -> Facet:
    if not metastatic:
        return _f("pdl1", "any", "Only counted for studies that enrol metastatic disease.")
    return _required_marker(t, "pdl1", _PDL1, "A PD-L1-positive tumour is required.")


_MARKER_NOT_REQUIRED = rx(
    r"oncotype|mammaprint|recurrence score|regardless|irrespective|wild[\s-]*type|not required|"
    r"unknown"
)
_MARKER_WORD = {"pik3ca": "pik3ca", "esr1": "esr1", "akt1": "akt1", "pten": "pten", "trop2": "trop"}


def _biomarkers(t: _Text, metastatic: bool) -> Facet:
    name = "biomarkers"
    if not metastatic:
        return _f(name, (), "Only counted for studies that enrol metastatic disease.")
    found: list[str] = []
    evidence = ""
    for text in _PRE_MARKER.select((t.title, *t.inclusion)):
        if _MARKER_NOT_REQUIRED.search(text):
            continue
        lower = _lower(text)
        for key, pattern in _BIOMARKERS.items():
            if key != "other" and _MARKER_WORD[key] not in lower:
                continue
            m = pattern.search(text)
            if m and not negated(text, m.start()) and key not in found:
                if key in ("akt1", "pten") and not _rx(r"mutat|loss|alter|defici").search(text):
                    continue
                found.append(key)
                evidence = evidence or text
    if not found:
        return _f(name, (), "No other tumour alteration is required.")
    names = ", ".join(found)
    return _f(
        name,
        tuple(found),
        f"The criteria require a tumour alteration: {names}.",
        evidence,
        INCLUSION,
    )


# ------------------------------------------------------------------------------------------
# prior therapy


def _prior_facet(name: str, reading: PriorReading, breast: bool, title: str) -> Facet:
    what = prior_classes()[name].label
    if not breast:
        return Facet(name, "any", "Not a breast cancer study.")
    value = reading.value.value
    if reading.value is PriorValue.REQUIRED:
        reason = f"Earlier {what} is required ({reading.reason})."
    elif reading.value is PriorValue.EXCLUDED:
        reason = f"Earlier {what} rules a person out ({reading.reason})."
    elif reading.deciding:
        reason = f"No single rule on earlier {what}: {reading.reason}."
    else:
        return Facet(name, "any", f"No rule on earlier {what}.")
    evidence = reading.evidence
    side = "title" if evidence == title else reading.side
    detail = ""
    if (
        name == "prior_chemo"
        and reading.value is PriorValue.REQUIRED
        and not any(m.setting is Setting.ADVANCED for m in reading.deciding)
    ):
        # "3 prior chemotherapy regimens in any setting": chemotherapy before or after surgery
        # for early cancer may count, which a count of lines for advanced disease cannot tell
        detail = "any_setting"
    return Facet(name, value, reason, evidence, side, detail=detail, firm=reading.firm)


# ------------------------------------------------------------------------------------------
# brain metastases

_BRAIN = rx(r"brain|\bCNS\b|central nervous system|intracranial|cerebral metasta")
_BRAIN_MET = rx(r"metasta|lesion|disease|involvement|tumou?r|deposit|spread|cancer to the")
_STABLE = rx(
    r"treated|stable|definitive(ly)?|no (evidence of )?progression|radiologically|"
    r"controlled|off steroids|not requiring|do not require|previously irradiated"
)
_ALLOWANCE = rx(
    r"\b(except|unless|provided|eligible|allowed|permitted|may (be )?(enrolled|"
    r"participate|join)|can (be )?(enrolled|participate)|are allowed|is allowed)\b"
)
_ACTIVE_Q = rx(
    r"\bactive\b|untreated|unstable|progressi\w+|not (been )?(adequately )?treated|"
    r"\bnew(ly)?\b|growing|uncontrolled|not stable|requiring (whole brain|radiation)"
)
_SYMPTOM_Q = rx(
    r"symptomatic|clinically significant|need(ing)? (immediate|urgent)|require[sd]? "
    r"(immediate|urgent|local)|requiring (immediate|urgent|local)|impending|"
    r"neurologically unstable|increasing doses of (cortico)?steroids"
)
_CONDITIONAL = rx(r"\b(if|provided|unless)\b")
_BRAIN_REQUIRED = rx(
    r"(presence of|must have|with|newly diagnosed|measurable|confirmed)[^.;]{0,40}(brain|cns)"
    r"[^.;]{0,20}(metasta|lesion)"
)
# "No brain metastases", "No history or evidence by CT scan or MRI, of brain metastases",
# "Patients must not have a history of central nervous system metastasis" (a "no" further off,
# as in "(no leptomeningeal carcinomatosis as the only site of CNS metastases)", says less)
_NO_BRAIN = rx(
    r"\b(?:no|without)\b[^.;]{0,30}(?:brain|cns)"
    r"|\bno (?:known |prior )?(?:history|evidence)\b[^.;()]{0,45}(?:brain|cns|central nervous)"
    r"|\b(?:must|may|should) not have\b[^.;()]{0,40}(?:brain|cns|central nervous)"
)
# a criterion that opens by asking for brain metastases: "Diagnosis of cerebral metastases ...",
# "Radiologically confirmed metastatic brain lesion by MRI", "Patients must have CNS involvement"
_BRAIN_REQUIRED_LEAD = rx(
    r"^\W*(?:patients\s+)?(?:diagnosis of|diagnosed with|radiologically confirmed|histologically"
    r" confirmed|documented|presence of|(?:patients\s+)?requiring|must have)[^.;]{0,40}"
    r"(?:brain|cns|cerebral)[^.;]{0,20}(?:metasta|lesion|involvement)"
)
# a sentence about brain metastases as such: "Brain metastases from breast cancer ..."
_BRAIN_SUBJECT = rx(r"^\W*(brain|cns|intracranial)[\s-]*(metasta|lesion)")
_ACTIVE_OK = rx(
    r"(untreated|new or progressive|progressing|active)[^.;]{0,60}(brain|cns)"
    r"[^.;]{0,80}(eligible|allowed|permitted|may)|resectable brain"
)


# what says brain metastases beside the brain word: "brain metastases", "CNS involvement",
# "cancer that has spread to the brain", "known / active / symptomatic CNS disease" (not
# "CNS disorders", "cerebral hemorrhage" or "central nervous system disease (e.g. seizures)")
_BRAIN_SPREAD = rx(
    r"metasta|lesion|involvement|deposit"
    r"|(?:spread\w*|cancer|carcinoma)\s+to\s+(?:the\s+)?(?:brain|cns|central nervous)"
)
_CNS_DISEASE = rx(
    r"(?:known|active|symptomatic|untreated|uncontrolled|progressive|progressing|unstable"
    r"|metastatic)\s+(?:\w+\s+)?(?:brain|cns|central nervous system)\s+(?:disease|malignan\w*)"
)


def _brain_kind(sentence: str) -> str:
    """How one exclusion sentence treats brain metastases: all / active / symptom."""
    text = re.sub(
        r"untreated and symptomatic|symptomatic and untreated|untreated,? symptomatic",
        "symptomatic",
        sentence,
        flags=re.I,
    )
    kinds = set()
    for m in _BRAIN.finditer(text):
        left = text[max(0, m.start() - 40) : m.start()].split(",")[-1]
        right = text[m.end() : m.end() + 40].split(",")[0]
        window = f"{left} {m.group(0)} {right}"
        if _rx(r"(whole|primary)\s*$").search(left) or not (
            _BRAIN_SPREAD.search(window) or _CNS_DISEASE.search(window)
        ):
            continue
        if _ACTIVE_Q.search(window):
            kinds.add("active")
        elif _SYMPTOM_Q.search(window):
            kinds.add("symptom")
        else:
            kinds.add("all")
    for kind in ("all", "active", "symptom"):
        if kind in kinds:
            return kind
    return ""


def _brain(t: _Text) -> Facet:
    name = "brain_mets"
    title_brain = _rx(r"brain metasta|CNS metasta|leptomening").search(t.title)
    allowance = None
    kinds: dict[str, tuple[str, str]] = {}  # how brain metastases are excluded -> (text, side)
    for text in _PRE_BRAIN.select(t.inclusion):
        for x in sentences(text):
            if not (_BRAIN.search(x) and _BRAIN_MET.search(x)):
                continue
            strong = _BRAIN_REQUIRED_LEAD.search(x) and not (
                _ALLOWANCE.search(x) or _STABLE.search(x) or _CONDITIONAL.search(x)
            )
            if (
                strong
                or title_brain
                and (
                    _BRAIN_REQUIRED.search(x)
                    or (_BRAIN_SUBJECT.search(x) and not _ALLOWANCE.search(x))
                )
            ) and not negated(x, _BRAIN.search(x).start()):
                return _f(
                    name,
                    "required",
                    "The trial is for people with brain metastases.",
                    text,
                    INCLUSION,
                )
            if _ACTIVE_OK.search(x) or (
                _ALLOWANCE.search(text)
                and _rx(r"\buntreated").search(text)
                and not re.search(
                    r"must (undergo|be treated|have been treated|be stable)|definitive\w*|"
                    r"previously treated",
                    text,
                    re.I,
                )
            ):
                return _f(
                    name,
                    "active_allowed",
                    "Untreated or progressing brain metastases "
                    "may join under the stated conditions.",
                    text,
                    INCLUSION,
                )
            if (
                _STABLE.search(x)
                and _ALLOWANCE.search(x)
                or _rx(r"\bif\b").search(x)
                and _STABLE.search(x)
            ):
                allowance = allowance or (text, INCLUSION)
            elif _NO_BRAIN.search(x):
                # "No brain metastases" excludes all; "No symptomatic brain metastases" or
                # "No active CNS metastases" only some, read as an exclusion criterion would be
                kind = _brain_kind(x) or "all"
                if kind == "all":
                    return _f(
                        name,
                        "excluded",
                        "People with brain metastases cannot join.",
                        text,
                        INCLUSION,
                    )
                kinds.setdefault(kind, (text, INCLUSION))
    for text in _PRE_BRAIN.select(t.exclusion):
        for x in sentences(text):
            if not (_BRAIN.search(x) and _BRAIN_MET.search(x)):
                continue
            if _ALLOWANCE.search(x) and (
                _STABLE.search(x) or "untreated" in x.lower() or _CONDITIONAL.search(x)
            ):
                if _ACTIVE_OK.search(x):
                    return _f(
                        name,
                        "active_allowed",
                        "Untreated or progressing brain "
                        "metastases may join under the stated conditions.",
                        text,
                        EXCLUSION,
                    )
                allowance = allowance or (text, EXCLUSION)
                continue
            kind = _brain_kind(x)
            if kind:
                kinds.setdefault(kind, (text, EXCLUSION))
    if "all" in kinds and not allowance:
        return _f(name, "excluded", "Any brain metastases exclude.", *kinds["all"])
    if "active" in kinds or ("all" in kinds and allowance):
        return _f(
            name,
            "stable_allowed",
            "Active or untreated brain metastases exclude; treated, stable ones do not.",
            *(kinds.get("active") or kinds["all"]),
        )
    if "symptom" in kinds:
        return _f(
            name,
            "active_allowed",
            "Only symptomatic brain metastases (or ones needing urgent treatment) exclude.",
            *kinds["symptom"],
        )
    if allowance:
        return _f(
            name,
            "stable_allowed",
            "Treated, stable brain metastases may join.",
            allowance[0],
            allowance[1],
        )
    return _f(name, "not_stated", "The criteria say nothing about brain metastases.")


# ------------------------------------------------------------------------------------------
# menopause

_PRE = rx(r"pre[\s-]*(and|or|/)?\s*(peri)?[\s-]*menopaus|premenopaus")
_POST = rx(r"post[\s-]*menopaus")
# both statuses named as admitted, or men admitted too ("adult male or postmenopausal female";
# not "Males are not included" or a "male partner")
_ANY_MENO = rx(
    r"\b(?:men|males?)\b(?!\s+(?:are|will be|is)\s+(?:not|excluded|ineligible)|\s+partner)|"
    r"regardless of menopaus|any menopaus|menopausal status\s*:?\s*(?:any|all)\b|"
    r"pre[\s-]*(menopaus\w*)?\s*(and|or|,|/)\s*(peri[\s-]*(menopaus\w*)?\s*(and|or|,|/)\s*)?post"
)
_PERI = rx(r"peri-?menopaus")
_OFS = rx(r"ovarian (function )?(suppression|ablation)|\bOFS\b|GnRH|LHRH|goserelin|leuprolide")
# not a rule on who may join: pregnancy and contraception, and a definition of the word
# ("Postmenopausal is defined by ..."; "Premenopausal, defined as ..." is a rule with its meaning)
_NOT_MENO_RULE = rx(
    r"child[\s-]*b\w*ing|\bwocbp\b|pregnan|contracepti|definition|"
    r"^\W*(?:pre|post)?[\s-]*menopaus\w*\s+(?:women\s+)?(?:status\s+)?(?:is|are|will be)\s+"
    r"defined"
)


_MENO_HINT = Gate(("menopaus",), ("men", "man", "male", "males"))


def _menopause(t: _Text) -> Facet:
    name = "menopause"
    named = _MENO_HINT.select((t.title, *t.inclusion))
    texts = [x for x in named if not _NOT_MENO_RULE.search(x)]

    def first(pattern: LowerPattern) -> str | None:
        """The first criterion naming the status, not as "is not post-menopausal"."""
        for text in texts:
            if any(not negated(text, m.start()) for m in pattern.finditer(text)):
                return text
        return None

    # "Patients may be premenopausal or postmenopausal. For study purposes, postmenopausal is
    # defined as: ..." admits both even though the criterion goes on to define a status; "any"
    # rules no one out, so it is read from every criterion that names menopause
    anyone = t.first(named, _ANY_MENO) or t.first(texts, _PERI)
    pre, post = first(_PRE), first(_POST)
    if anyone:
        return _f(name, "any", "Women of any menopausal status (or men) may join.")
    if pre and not post:
        return _f(name, "pre", "The trial is for premenopausal women.", pre, INCLUSION)
    if post and not pre:
        if first(_OFS):
            return _f(
                name,
                "any",
                "Postmenopausal women, or premenopausal women with ovarian suppression.",
                post,
                INCLUSION,
            )
        return _f(name, "post", "The trial is for postmenopausal women.", post, INCLUSION)
    return _f(name, "any", "No menopausal requirement is stated.")


# ------------------------------------------------------------------------------------------
# categories from interventions


@lru_cache(maxsize=1)
def _concepts() -> dict[str, Any]:
    """data/concepts.toml, read once for the dictionary and the class phrases."""
    return tomllib.loads(
        resources.files("trials_helper").joinpath("data/concepts.toml").read_text(encoding="utf-8")
    )


def _terms(patterns: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive pattern for a list of terms, each matched as a whole word."""
    body = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.I)


@lru_cache(maxsize=1)
def _dictionary() -> tuple[
    tuple[tuple[str, re.Pattern[str]], ...],
    tuple[tuple[str, re.Pattern[str]], ...],
    re.Pattern[str],
    re.Pattern[str],
]:
    data = _concepts()
    specific = tuple((cat, _terms(pats)) for cat, pats in data["categories"].items())
    fallback = tuple((cat, _terms(pats)) for cat, pats in data.get("fallback", {}).items())
    return (
        specific,
        fallback,
        _terms(data["ignore"]["patterns"]),
        _terms(data["override_other"]["patterns"]),
    )


@lru_cache(maxsize=1)
def _class_phrases() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The [context] class phrases: what a phrase tied to an unknown drug says it is."""
    return tuple((cat, _terms(pats)) for cat, pats in _concepts().get("context", {}).items())


# How a record says what a drug is, right after its name (a code or synonym in brackets may come
# first): "X is in a class of medications called ...", "X, a ...", "X, which is a ...",
# "X is a ...", "X (a ...)", "X (PARP inhibitor)", "X - a ...".
_APPOSITION = re.compile(
    r"\s*(?:\([^()]{1,60}\)\s*){0,2}"
    r"(?:,?\s+(?:is|are|belongs?\s+to)\s+(?:[\w-]+\s+){0,3}?(?:in\s+)?(?:a|the)\s+"
    r"(?:class|family|group|type)\s+of\s+(?:[\w-]+\s+)?(?:called|known\s+as|named)\s+"
    r"|(?P<paren>\()\s*(?:(?:an?|the)\s+)?"
    r"|(?P<comma>,)\s*(?:(?:which|that)\s+(?:is|was)\s+)?(?:an?|the)\s+"
    r"|,?\s+(?:is|was|are|being)\s+(?:(?:also|now|currently)\s+)?(?:an?|the)\s+"
    r"|\s+[-:]\s+an?\s+)",
    re.I,
)
# Where such a phrase stops: the clause goes on to doses, partners, people or schedules.
_PHRASE_END = re.compile(
    r"[.;:!?](?=\s|$)|[()\[\]]|\s-\s|[+&\u00b1]"
    r"|(?<![\w-])(?:in|for|with|without|versus|vs|plus|and|or|compared|combined|followed|following"
    r"|who|whom|whose|will|would|should|may|might|can|could|must|alone|monotherapy|every|once"
    r"|twice|daily|by|from|until|after|before"
    r"|during|when|while|at|as|per|than|because)(?![\w-])"
    r"|(?<![\w-])(?:given|administered|taken|dosed)\s+(?=(?:at|as|orally|once|twice|daily|every"
    r"|in|on|with|IV|by|for|to)\b|\d)"
    r"|\d+(?:\.\d+)?\s*(?:mg|mcg|\u00b5g|g|ml|%|Gy|mCi|GBq)(?!\w)",
    re.I,
)
_LIST_WORDS = frozenset({"and", "or", "plus", "+", "&"})
# A phrase about earlier treatment ("prior CDK4/6 inhibitor") or about the people, not the drug.
_EARLIER = (
    r"prior|previous(?:ly)?|progress\w*|fail\w*|resistan\w*|refractor\w*|pre-?treated"
    r"|na[i\u00ef]ve|received|relapse\w*|recurr\w*|intoleran\w*|exposed|exposure"
)
# Earlier treatment named before a drug in the same clause: "who progressed on a CDK4/6 inhibitor".
_EARLIER_IN_CLAUSE = re.compile(
    r"(?<![\w-])(?:prior|previous(?:ly)?|pre-?treated|(?:progress(?:ed|ion)?|relapsed?|recurrence)"
    r"\s+(?:on|after|following|during|with)|fail(?:ed|ure)\s+(?:of|on|to)|(?:resistant|refractory"
    r"|intolerant|exposed|na[i\u00ef]ve)\s+to)(?![\w-])[^.;]*$",
    re.I,
)
_NOT_WHAT_IT_IS = re.compile(
    rf"(?<![\w-])(?:{_EARLIER}"
    r"|patients?|participants?|subjects?|people|women|men|receiv\w*|undergo\w*)(?![\w-])",
    re.I,
)
# Words that end a class noun placed right before a name ("the PI3K inhibitor GDC-0941").
_CLASS_NOUN = re.compile(
    r"(?:inhibitors?|antibod(?:y|ies)|conjugates?|degraders?|SERDs?|SERMs?|ADCs?|TKIs?|agents?"
    r"|antagonists?|agonists?|modulators?|blockers?|engagers?|radioligands?|radiopharmaceuticals?"
    r"|vaccines?|analogu?es?|(?:radio)?tracers?|CDK4/6i|PARPi|CDK2i)$",
    re.I,
)
# Words a class noun right before a name cannot reach back past ("progressed on", "a study of").
_NP_STOP = re.compile(
    r"a|an|the|of|with|and|or|in|for|to|plus|versus|vs|on|after|following|by|from|receives?"
    r"|received|study|trial|combination|than|as",
    re.I,
)
_MAX_PHRASE_WORDS = 16


@lru_cache(maxsize=4096)
def _name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern for the intervention's names as the record writes them ("BTX-A51", "BTX A51")."""
    alternatives = set()
    for name in names:
        for part in re.split(r"[(),;]|\s/\s", name):
            tokens = re.findall(r"[A-Za-z0-9]+", part)
            if tokens and sum(map(len, tokens)) >= 3:
                alternatives.add(r"[^A-Za-z0-9]{0,3}".join(map(re.escape, tokens)))
    if not alternatives:
        return None
    body = "|".join(sorted(alternatives, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.I)


def _phrase_from(text: str, start: int, *, listed: bool = False) -> str:
    """The words from `start` to where the clause moves on, or "" when the phrase could be one
    item of a list ("X, a CDK4/6 inhibitor and letrozole": the inhibitor is a partner)."""
    end = _PHRASE_END.search(text, start)
    if listed and end and end.group().lower() in _LIST_WORDS:
        return ""
    words = text[start : end.start() if end else len(text)].split()[:_MAX_PHRASE_WORDS]
    return " ".join(words).strip(" ,")


def _noun_before(text: str, start: int) -> str:
    """The class noun set right before a name ("the anti-PD-1 antibody X"), or ""."""
    words = text[max(0, start - 80) : start].split()
    if not words or start == 0 or not text[start - 1].isspace():
        return ""
    taken: list[str] = []
    for word in reversed(words[-6:]):
        if _NP_STOP.fullmatch(word) or re.search(r"[,.;:()\[\]]", word):
            break
        taken.insert(0, word)
    phrase = " ".join(taken)
    return phrase if taken and _CLASS_NOUN.search(phrase) else ""


def _tied_phrases(names: Sequence[str], description: str, context: Sequence[str]) -> list[str]:
    """Phrases that say what this intervention is: its names, the opening words of its own
    description, and phrases beside its name in the description, arms, title and summary."""
    phrases = [norm(n) for n in names if n]
    desc = norm(description)
    if desc:
        phrases.append(_phrase_from(desc, 0))
    pattern = _name_pattern(tuple(n for n in names if n))
    if pattern is not None:
        for text in (desc, *(norm(c) for c in context if c)):
            for m in pattern.finditer(text):
                after = _APPOSITION.match(text, m.end())
                if after:
                    phrases.append(_phrase_from(text, after.end(), listed=bool(after["comma"])))
                phrases.append(_noun_before(text, m.start()))
    return [p for p in dict.fromkeys(phrases) if p and not _NOT_WHAT_IT_IS.search(p)]


def _classes_in(phrase: str) -> list[tuple[str, str]]:
    """(category, words) that one tied phrase names, with the rules for phrases that name two."""
    found = [(cat, m.group(0)) for cat, p in _class_phrases() if (m := p.search(phrase))]
    cats = {cat for cat, _ in found}
    drop = set()
    if "adc" in cats:  # the payload and the antibody are parts of the conjugate
        drop.add("chemotherapy")
    if "other" in cats:  # a radiolabelled tracer is imaging, not treatment
        drop.add("radiation")
    if cats - drop - {"other_targeted"}:
        drop.add("other_targeted")
    return [(cat, words) for cat, words in found if cat not in drop]


_TYPE_FALLBACK = {
    "DRUG": "other_targeted",
    "BIOLOGICAL": "other_targeted",
    "GENETIC": "other_targeted",
    "RADIATION": "radiation",
    "PROCEDURE": "other",
    "BEHAVIORAL": "supportive",
    "DEVICE": "other",
    "DIAGNOSTIC_TEST": "other",
    "DIETARY_SUPPLEMENT": "other",
    "OTHER": "other",
    "COMBINATION_PRODUCT": "other_targeted",
}


def categorise(
    name: str,
    other_names: Sequence[str] = (),
    itype: str = "",
    description: str = "",
    context: Sequence[str] = (),
) -> tuple[tuple[str, ...], str]:
    """Categories for one intervention, and the reason (which words matched).

    A name the dictionary does not know (a development code, a new drug) is read from what the
    record says it is: class phrases tied to it in its description or in `context` (the arm
    descriptions that list it, the title, the brief summary), before falling back on its type.
    """
    specific, fallback, ignore, override = _dictionary()
    label = norm(" ; ".join([name, *other_names]))
    if override.search(label):
        return ("other",), "stopping or watching, no new treatment"
    if ignore.search(label) and not any(
        p.search(label.replace("placebo", "")) for _, p in specific if _ != "other"
    ):
        return (), "a comparator with no treatment of its own"
    found: list[str] = []
    words: list[str] = []
    for cat, pattern in specific:
        m = pattern.search(label)
        if m:
            found.append(cat)
            words.append(m.group(0))
    # radioligands and imaging tracers: the isotope decides; a radioligand's target (PSMA, GRPR)
    # is not a second, targeted treatment
    if "radiation" in found and _rx(r"177|225|212\s*Pb|Pb-?212|lutetium|actinium").search(label):
        found = [c for c in found if c not in ("other", "other_targeted")]
    if _rx(r"68\s*Ga|Ga-?68|18F|F-18|fluoroestradiol|DCFPyL").search(label):
        found = [c for c in found if c != "radiation"] or ["other"]
    if len(found) > 1 and "other" in found:
        found.remove("other")
    if len(found) > 1 and "supportive" in found and any(c not in ("supportive",) for c in found):
        found.remove("supportive") if itype not in ("BEHAVIORAL",) else None
    tied: list[str] = []
    if not found:
        tied = _tied_phrases((name, *other_names), description, context)
        for phrase in tied:
            classes = _classes_in(phrase)
            found.extend(cat for cat, _ in classes)
            if classes:
                words.append(f"'{phrase}'")
        if found:
            return tuple(dict.fromkeys(found)), "described as " + ", ".join(words)
    if not found and description:
        desc = norm(description)
        for cat, pattern in specific:
            if cat in ("other", "surgery"):
                continue
            # "for patients who progressed after a CDK4/6 inhibitor" names no treatment given
            m = next(
                (
                    m
                    for m in pattern.finditer(desc)
                    if not _EARLIER_IN_CLAUSE.search(desc, 0, m.start())
                ),
                None,
            )
            if m:
                found.append(cat)
                words.append(m.group(0))
    if not found:
        for cat, pattern in fallback:
            m = pattern.search(label)
            if m:
                found.append(cat)
                words.append(m.group(0))
    for phrase in tied if not found else ():
        for cat, pattern in fallback:
            if pattern.search(phrase):
                return (cat,), f"not in the drug dictionary; described as '{phrase}'"
    if not found:
        fallback_cat = _TYPE_FALLBACK.get(itype)
        cat = (
            fallback_cat
            if fallback_cat is not None
            else ("other_targeted" if re.search(r"[A-Za-z]{1,4}-?\d{2,}", label) else "other")
        )
        return (cat,), f"not in the drug dictionary; by intervention type {itype or 'unknown'}"
    return tuple(dict.fromkeys(found)), "matched " + ", ".join(dict.fromkeys(words))


def _arm_texts(trial: Trial, iv: Intervention) -> list[str]:
    """Labels and descriptions of the arms that list this intervention (either side may say so)."""
    name = iv.name.casefold()
    return [
        f"{arm.label}: {arm.description}"
        for arm in trial.arms
        if arm.label in iv.arm_labels
        or any(n.split(":", 1)[-1].strip().casefold() == name for n in arm.intervention_names)
    ]


_COMPANION = re.compile(
    r"\b(?:in combination with|combined with|plus|together with)\s+(?P<words>[^.;:]{2,120}?)"
    r"(?=\s+(?:in|for|among|versus|vs\.?|compared|to|who|with|at)\b|[.;:(]|$)",
    re.I,
)
# "whose disease has advanced on one endocrine therapy in combination with a CDK4/6 inhibitor":
# earlier treatment, not what the study gives
_COMPANION_PRIOR = rx(
    r"\b(?:after|following|progress\w*|advanced|refractory|resistant|relapsed|recurr\w*|"
    r"previously|prior|pretreated|received|discontinu\w*|failed)\b[^.;]{0,60}$"
)


def _companions(texts: Sequence[str]) -> list[str]:
    """Words naming what is given with the study drug in a title or summary."""
    out = []
    for text in texts:
        for m in _COMPANION.finditer(text or ""):
            if not _COMPANION_PRIOR.search(text[max(0, m.start() - 80) : m.start()]):
                out.append(m.group("words"))
    return out


def _categories(trial: Trial) -> tuple[Facet, tuple[tuple[str, str, str], ...]]:
    name = "categories"
    experimental_labels = {a.label for a in trial.arms if a.type in ("EXPERIMENTAL", "")}
    per: list[tuple[str, str, str]] = []
    ranked: list[tuple[int, int, str]] = []
    evidence: list[str] = []
    interventions = list(trial.interventions)
    about_trial = (trial.brief_title, trial.official_title, trial.brief_summary)
    for _i, iv in enumerate(interventions):
        cats, why = categorise(
            iv.name, iv.other_names, iv.type, iv.description, (*_arm_texts(trial, iv), *about_trial)
        )
        experimental = not iv.arm_labels or bool(set(iv.arm_labels) & experimental_labels)
        for c in cats:
            per.append((iv.name, c, why))
            ranked.append((0 if experimental else 1, CATEGORY_ORDER.index(c), c))
        if cats:
            evidence.append(f"{iv.name} -> {', '.join(cats)}")
    # drugs the title or summary gives with the listed ones ("BTX-A51 alone and in combination
    # with fulvestrant") when the record does not list them as interventions
    seen = {c for _, c, _ in per}
    for words in _companions(about_trial) if interventions else ():
        cats, why = categorise(words, (), "", "")
        # named drugs and classes only: a code name here is the listed study drug again
        for c in (c for c in cats if c not in ("other", "supportive", "other_targeted")):
            if c in seen:
                continue
            seen.add(c)
            per.append((words, c, f"given with the study drug ({why})"))
            ranked.append((1, CATEGORY_ORDER.index(c), c))
            evidence.append(f"{words} (title or summary) -> {c}")
    if not interventions:
        text = " ".join([trial.brief_title, trial.official_title, trial.brief_summary])
        cats, why = categorise(text, (), "", "")
        cats = tuple(c for c in cats if c not in ("other", "supportive")) or cats
        for c in cats:
            per.append(("(title and summary)", c, why))
            ranked.append((0, CATEGORY_ORDER.index(c), c))
        evidence.append(f"no interventions listed; title/summary -> {', '.join(cats)}")
    ordered = tuple(dict.fromkeys(c for _, _, c in sorted(ranked)))
    if not ordered:
        ordered = ("other",)
    return (
        _f(
            name,
            ordered,
            "Kinds of treatment given, main one (tested in the experimental arm) first.",
            "; ".join(evidence),
            "intervention",
        ),
        tuple(per),
    )


# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _title_patterns() -> dict[str, tuple[LowerPattern, ...]]:
    return {
        "admits_metastatic": (_META, _EARLY, _BREAST),
        "hr": (_HR_POS, _HR_NEG, _TN),
        "her2": (_HER2_LOW, _HER2_POS, _HER2_NEG, _TN),
    }


def _trim_title_evidence(t: _Text, facet: Facet) -> Facet:
    """Evidence taken from "title | conditions | keywords" (alone, or beside a criterion as in
    "title / criterion"): keep only the part of the title that decided."""
    if " | " not in t.title or t.title not in facet.evidence:
        return facet
    parts = [p for p in t.title.split(" | ") if p.strip()]
    for pattern in _title_patterns().get(facet.name, ()):
        for part in parts:
            if pattern.search(part):
                return replace(facet, evidence=facet.evidence.replace(t.title, part))
    return facet


def _reader_clauses(trial: Trial, t: _Text) -> tuple[tuple[Clause, ...], tuple[Clause, ...]]:
    """The criteria as clauses (side, cohort), and the titles read as inclusion wording
    ("... after a CDK4/6 inhibitor" in a title asks for one)."""
    clauses = read_clauses(_norm_lines(trial.eligibility_criteria or ""))
    titles = tuple(
        Clause(INCLUSION, norm(x)) for x in (trial.brief_title, trial.official_title) if x
    )
    return clauses, titles


# The older facet rules and, for each, the texts it can read at all (its gate, or a wider one):
# a cohort whose own criteria pass none of them gets the reading of the criteria that bind
# everyone, made once for all such cohorts instead of once per cohort.
_COHORT_RULES: tuple[tuple[str, Callable[[_Text, bool], Facet], Callable[[str], bool]], ...] = (
    ("hr", lambda t, _m: _hr(t), _PRE_HR),
    ("her2", lambda t, _m: _her2(t), lambda x: _HER2_HINT(x) or "her" in _lower(x)),
    ("brca", _brca, _MARKER_NAMES["brca"]),
    ("pdl1", _pdl1, _MARKER_NAMES["pdl1"]),
    ("biomarkers", _biomarkers, _PRE_MARKER),
    ("brain_mets", lambda t, _m: _brain(t), _PRE_BRAIN),
    ("menopause", lambda t, _m: _menopause(t), _MENO_HINT),
)


def _cohort_facets(
    trial: Trial,
    t: _Text,
    clauses: tuple[Clause, ...],
    mentions: Mapping[str, list[Mention]],  # by column
    breast: bool,
    is_meta: bool,
    study: Mapping[str, Facet],
) -> tuple[CohortFacets, ...]:
    """Each cohort's own facets: the clauses that bind everyone plus its own. `study` holds the
    study-level readings of `_COHORT_RULES`: where no cohort's criteria pass a rule's gate, the
    criteria that bind everyone read as the whole study does, so that reading is reused."""
    cohorts = cohorts_of(clauses)
    if not cohorts:
        return ()
    everyone = [c for c in clauses if c.cohort is None]
    cohort_texts = [c.text for c in clauses if c.cohort is not None]
    base = _Text(
        trial,
        tuple(c.text for c in everyone if c.side != EXCLUSION),
        tuple(c.text for c in everyone if c.side == EXCLUSION),
        t.title,
    )
    shared: dict[str, Facet] = {}  # facet name -> its reading of `base`

    def of_everyone(
        name: str, rule: Callable[[_Text, bool], Facet], reads: Callable[[str], bool]
    ) -> Facet:
        """The reading of the criteria that bind everyone, made once."""
        if name not in shared:
            shared[name] = rule(base, is_meta) if any(map(reads, cohort_texts)) else study[name]
        return shared[name]

    def earlier_treatment(cohort: Cohort | None) -> dict[str, Facet]:
        return {
            name: _prior_facet(
                name,
                cohort_reading(name, mentions.get(name, []), cohort, is_meta),
                breast,
                t.title,
            )
            for name in PRIOR_FACETS
        }

    out = []
    for cohort in cohorts:
        mine = [c for c in clauses if c.cohort is None or c.cohort.key == cohort.key]
        own = [c.text for c in mine if c.cohort is not None]
        inc = tuple(c.text for c in mine if c.side != EXCLUSION)
        if cohort.definition:
            own.append(f"{cohort.name}: {cohort.definition}")
            inc = (own[-1], *inc)
        sub = _Text(trial, inc, tuple(c.text for c in mine if c.side == EXCLUSION), t.title)
        facets = {
            name: rule(sub, is_meta) if any(map(reads, own)) else of_everyone(name, rule, reads)
            for name, rule, reads in _COHORT_RULES
        }
        out.append(CohortFacets(cohort, facets | earlier_treatment(cohort)))
    if len(cohorts) == 1:
        # One named group or part ("For triple-negative breast cancer: ...", "(Phase Ib patients
        # only)"): the others the study enrols are in none, and what binds them is what binds
        # everyone. (Two or more named cohorts are taken to cover everyone.)
        outside = {name: of_everyone(name, rule, reads) for name, rule, reads in _COHORT_RULES}
        outside |= earlier_treatment(None)
        out.append(CohortFacets(OUTSIDE_COHORTS, outside))
    return tuple(out)


# The people a study enrols outside its one named group or part (matched, never named on a card).
OUTSIDE_COHORTS = Cohort("", "", "")


def classify_trial(trial: Trial) -> TrialFacets:
    t = _prepare(trial)
    metastatic = _admits_metastatic(t)
    is_meta = metastatic.value == "yes"
    breast = _mentions_breast(t, exclusion=False)
    categories, per = _categories(trial)
    clauses, titles = _reader_clauses(trial, t)
    mentions: dict[str, list[Mention]] = {}  # by column: each reading looks at its own
    for m in read_mentions((*titles, *clauses)):
        mentions.setdefault(m.column, []).append(m)
    prior = {
        name: _prior_facet(
            name, study_reading(name, mentions.get(name, []), is_meta), breast, t.title
        )
        for name in PRIOR_FACETS
    }
    study = {name: rule(t, is_meta) for name, rule, _reads in _COHORT_RULES}
    facets = TrialFacets(
        nct_id=trial.nct_id,
        admits_metastatic=metastatic,
        hr=study["hr"],
        her2=study["her2"],
        brca=study["brca"],
        pdl1=study["pdl1"],
        biomarkers=study["biomarkers"],
        prior_cdk46=prior["prior_cdk46"],
        prior_endocrine=prior["prior_endocrine"],
        prior_chemo=prior["prior_chemo"],
        brain_mets=study["brain_mets"],
        menopause=study["menopause"],
        categories=categories,
        prior_her2=prior["prior_her2"],
        prior_adc=prior["prior_adc"],
        prior_immunotherapy=prior["prior_immunotherapy"],
        prior_parp=prior["prior_parp"],
        intervention_categories=per,
        cohorts=_cohort_facets(trial, t, clauses, mentions, breast, is_meta, study),
    )
    for name in (
        "admits_metastatic",
        "hr",
        "her2",
    ):
        facet = getattr(facets, name)
        trimmed = _trim_title_evidence(t, facet)
        if trimmed is not facet:
            facets = replace(facets, **cast(dict[str, Any], {name: trimmed}))
    return facets


def classify(study: Mapping[str, Any]) -> TrialFacets:
    """Raw API v2 record -> facets."""
    return classify_trial(parse_study(study))


def write_facets_csv(studies: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """One row per study: the spec's columns, then `<column>_evidence` columns."""
    from .safetext import write_csv  # the one CSV neutraliser (evidence is registry text)

    columns = [*SPEC_COLUMNS, *(f"{c}_evidence" for c in FACET_NAMES)]
    return write_csv(
        (classify(study).row() for study in studies), out, columns, lineterminator="\n"
    )
