"""Criteria -> clauses that know their side and their cohort.

Studies that enrol several groups say so in headings ("Cohort A Inclusion Criteria", "Part 2:"),
in a label line followed by its criteria ("Cohort B (triple-negative, first line):"), or inline
("(Cohort 3) Prior taxane", "Phase Ib only: ...", "For HR-positive patients: ...", "PROC
participants must ..."). A clause outside every cohort binds everyone.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..eligibility import split_sides
from .model import Clause, Cohort
from .text import Gate

_ID = r"(?:\d{1,2}[a-z]?|[A-H](?:\d|\b)|I{1,3}[ab]?\b|IV\b|[ivx]{1,3}[ab]\b)"
_NAME = (
    rf"(?:(?:cohorts?|parts?|arms?|modules?|groups?|sub-?stud(?:y|ies)|phase|"
    rf"strata|stratum)\s*{_ID}(?:\s*(?:and|&|,|/|or)\s*{_ID})*"
    r"|dose[\s-]*(?:escalation|expansion)(?:\s*(?:phase|part|cohorts?))?"
    r"|(?:expansion|escalation)\s*(?:phase|part|cohorts?))"
)
# Every _NAME match holds one of these, lower-cased (the gates' shared scan has read most
# criteria already); only in ASCII text, where ignoring case is lower-casing.
_NAME_WORDS = Gate(
    ("cohort", "part", "arm", "module", "group", "substud", "sub-stud", "phase", "strat")
    + ("dose", "expansion", "escalation")
)
# "Cohort A:", "(Cohort 3)", "Part 2 only -", "For Cohort B:", "Phase Ib (dose expansion):"
_PREFIX = re.compile(
    rf"^\W*(?:for |in )?(?:the )?(?:patients in )?(?P<name>{_NAME})(?:\s+only)?"
    r"(?:\s*\((?P<def>[^)]{2,100})\))?(?:\s+only)?\s*(?:[:\])\-]|$)\s*(?P<rest>.*)$",
    re.I,
)
# "(Cohort 3)", "(for Part 2 only)", "(Phase Ib patients only)"
_INLINE = re.compile(
    rf"\((?:for |in )?(?P<name>{_NAME})(?:\s+(?:patients|participants|subjects))?(?:\s+only)?\)",
    re.I,
)
# "For HR-positive patients:", "For patients with TNBC:"
_SUBGROUP = re.compile(
    r"^\W*(?:for|in) (?:(?:patients|participants|subjects|women|those) (?:with|who have) )?"
    r"(?P<name>[^:;,]{3,60}?)(?: (?:patients|participants|subjects|disease|cancer|cohort))?"
    r"\s*:\s*(?P<rest>.*)$",
    re.I,
)
# "PROC participants must ...", "HR+ patients must ..."
_ACRONYM_GROUP = re.compile(
    r"^\W*(?P<name>[A-Z][A-Z0-9+/-]{1,9}[+-]?) (?:patients|participants|subjects|cohort)\b"
    r"(?: only)?\s*(?::|must|should|need|are|may)",
)
# Basket trials name a tumour type at the head of its criteria: "Ovarian cancer, high-grade
# serous histology, ...", "Triple negative breast cancer with PD-L1 CPS >= 1%, must have ...".
_TUMOUR_LEAD = re.compile(
    r"^\W*(?P<name>(?:[A-Za-z][\w/+-]*\s){0,4}?(?:cancer|carcinoma|melanoma|lymphoma|sarcoma|"
    r"mesothelioma|glioblastoma|NSCLC|SCLC|TNBC|mCRPC|HNSCC|PDAC))\b(?P<def>[^.:;]{0,80}?)[,:]\s"
)
# Every _TUMOUR_LEAD match names one of these (asked of the gates' shared scan, which most
# criteria have had already): the pattern runs only where one stands.
_TUMOUR_WORDS = Gate(
    ("cancer", "carcinoma", "melanoma", "lymphoma", "sarcoma", "mesothelioma", "glioblastoma")
    + ("sclc", "tnbc", "mcrpc", "hnscc", "pdac")
)
_NOT_A_COHORT = re.compile(r"^\W*(?:metastatic|advanced|locally|histolog|cytolog|confirmed)", re.I)
_BREAST = re.compile(r"breast|tnbc|\bmbc\b", re.I)
_GENERIC = re.compile(r"^(all|eligible|the|adult|female|male|these|such)\b", re.I)
# a subgroup named by its disease ("For HR-positive patients:"), not by a life situation
# ("For women of childbearing potential:", which is a condition, not a cohort)
_DISEASE_WORDS = re.compile(
    r"\b(hr|er|pr|her-?2|hormone|triple|tnbc|brca\w*|pik3ca|esr1|akt1?|pten|luminal|mutat\w*|"
    r"amplif\w*|pd-?l1|tumou?rs?|cancers?|carcinoma|cohorts?|positive|negative|low)\b|[+-]$",
    re.I,
)


def is_breast_cohort(cohort: Cohort) -> bool:
    """False for a basket trial's cohort of another tumour type ("Ovarian cancer")."""
    words = f"{cohort.name} {cohort.definition}"
    tumour = _TUMOUR_LEAD.match(cohort.name + ", ")
    return tumour is None or bool(_BREAST.search(words))


def _key(name: str) -> str:
    return " ".join(name.lower().replace("cohorts", "cohort").replace("parts", "part").split())


def _cohort(name: str, definition: str = "") -> Cohort:
    name = " ".join(name.split())
    definition = " ".join(definition.split()).strip(" :-")
    if len(definition) > 90:
        definition = definition[:87].rsplit(" ", 1)[0] + "…"
    return Cohort(_key(name), name[:1].upper() + name[1:], definition)


def _from_text(text: str) -> tuple[Cohort | None, bool]:
    """The cohort a criterion names, and whether the criterion is only a label for what
    follows ("Cohort A:" or "Cohort A (HR+):")."""
    named = not text.isascii() or _NAME_WORDS(text)  # can the text name a cohort or part?
    m = _PREFIX.match(text) if named else None
    if m:
        rest = m.group("rest").strip()
        label_only = not rest or (rest.endswith(":") and len(rest) < 120)
        # "(Dose escalation part only) ... colorectal cancer ...": a rule for that part, not
        # what the part is; "Cohort A: HR+/HER2- after a CDK4/6 inhibitor" says what it is
        only = text.lstrip().startswith("(") or " only" in text[: m.start("rest")].lower()
        definition = m.group("def") or ("" if only and not label_only else rest.rstrip(":"))
        return _cohort(m.group("name"), definition), label_only
    m = _SUBGROUP.match(text)
    if (
        m
        and not _GENERIC.match(m.group("name"))
        and _DISEASE_WORDS.search(m.group("name"))
        and len(text) < 400
    ):
        rest = m.group("rest").strip()
        name = m.group("name").strip()
        return _cohort(f"{name}", ""), not rest
    m = _ACRONYM_GROUP.match(text)
    if m and not m.group("name").isdigit():
        return _cohort(f"{m.group('name')} group", ""), False
    m = _TUMOUR_LEAD.match(text) if _TUMOUR_WORDS(text) else None
    if m and not _NOT_A_COHORT.match(text):
        return _cohort(m.group("name"), m.group("def")), False
    m = _INLINE.search(text) if named and "(" in text else None
    if m:
        return _cohort(m.group("name"), ""), False
    return None, False


_NAME_RE = re.compile(_NAME, re.I)


def _from_heading(heading: str) -> Cohort | None:
    m = _NAME_RE.search(heading)
    return _cohort(m.group(0)) if m else None


@lru_cache(maxsize=4096)
def read_clauses(criteria: str) -> tuple[Clause, ...]:
    """Every criterion as a clause with its side and cohort (None where it binds everyone).

    A label line ("Cohort B (triple-negative):") opens a cohort for the criteria after it until
    the next heading or label; a cohort named again later is the same cohort."""
    out: list[Clause] = []
    known: dict[str, Cohort] = {}
    current: Cohort | None = None
    last_heading = None
    for side, text, heading in split_sides(criteria):
        if heading != last_heading:
            last_heading, current = heading, _from_heading(heading)
        cohort, label_only = _from_text(text)
        if cohort is not None:
            first = known.setdefault(cohort.key, cohort)
            if not first.definition and cohort.definition:
                known[cohort.key] = first = cohort
            cohort = first
            if label_only:
                current = cohort
        out.append(Clause(side, text, cohort or current))
    # later definitions fill earlier mentions of the same cohort
    return tuple(
        Clause(c.side, c.text, known.get(c.cohort.key, c.cohort)) if c.cohort else c for c in out
    )


def cohorts_of(clauses: tuple[Clause, ...]) -> tuple[Cohort, ...]:
    """The distinct cohorts, in the order they first appear."""
    seen: dict[str, Cohort] = {}
    for c in clauses:
        if c.cohort is not None and c.cohort.key not in seen:
            seen[c.cohort.key] = c.cohort
    return tuple(seen.values())
