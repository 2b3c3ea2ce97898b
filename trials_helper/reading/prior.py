"""Earlier treatment (the spec's prior_* columns) read clause by clause, per cohort and per study.

Each mention of a treatment class is found through the lexicon, the cue categories that reach it
come from the ConText engine, and the first facet rule that holds gives its value. Then:

- within one scope (everyone, or one cohort with the clauses that bind everyone), a requirement
  and a bar on the same class are settled by the more telling mention: advanced-disease wording
  over early-disease wording, the class over one drug of it ("progressed on an aromatase
  inhibitor" and "no prior fulvestrant" still require hormone therapy); when neither is more
  telling, the column is "any";
- at study level, the scopes (each cohort, and each conditional clause) are combined as the spec
  says: a cohort's rule counts; cohorts that contradict each other give "any";
- chemotherapy is about advanced disease: a rule only about (neo)adjuvant chemotherapy does not
  set `prior_chemo`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

from ..eligibility import EXCLUSION
from .context import cue_book, modifiers
from .document import is_breast_cohort
from .lexicon import Target, lexicon
from .model import PRIOR_COLUMNS, Binding, Clause, Cohort, Mention, PriorValue, Setting
from .rules import decide
from .text import _lower, sentences, skipping


def _setting(categories: frozenset[str]) -> Setting:
    early, advanced = "early" in categories, "advanced" in categories
    if early and not advanced:
        return Setting.EARLY
    if advanced and not early:
        return Setting.ADVANCED
    return Setting.ANY


@lru_cache(maxsize=65536)
def _read_sentence(side: str, sentence: str) -> tuple[tuple, ...]:
    """(column, value, categories, rule why, doubt, words, specific, group, setting, sorted
    categories) per mention."""
    lower = _lower(sentence)
    targets = lexicon().targets(sentence, lower)
    if not targets:
        return ()
    out = []
    for target, cats in zip(targets, modifiers(lower, targets), strict=True):
        rule = decide(side, cats)
        value = rule.value if rule else PriorValue.ANY
        why = rule.why if rule else "named, with no entry rule"
        doubt = bool(rule and rule.doubt) or target.doubt
        if value is PriorValue.REQUIRED and _one_of_several(lower, target, targets):
            value, why = PriorValue.ANY, "one of several treatments that would do"
        specific = target.specific or (
            value is PriorValue.EXCLUDED and _narrowed(lower, target, targets)
        )
        setting, cues = _setting(cats), tuple(sorted(cats))
        for column in sorted(target.columns):
            out.append(
                (
                    column,
                    value,
                    cats,
                    why,
                    doubt,
                    target.words,
                    specific,
                    target.group,
                    setting,
                    cues,
                )
            )
    return tuple(out)


# "chemotherapy with gemcitabine", "gemcitabine-based chemotherapy", "trastuzumab-containing
# regimen": the class word is narrowed to the drug named with it
_NARROWING_AFTER = re.compile(r"\s*(?:with|containing|including|of)\s+(?:an?\s+|the\s+)?")
_NARROWING_BEFORE = re.compile(r"[\s-]*(?:based|containing)[\s-]*(?:\w+\s+)?")


def _narrowed(lower: str, t: Target, targets: list[Target]) -> bool:
    """Is the mention a class word narrowed to one drug named with it? A bar on it is then a
    bar on that drug only."""
    return (
        not t.specific
        and not t.group
        and any(
            other.specific
            and other.columns & t.columns
            and (
                (other.start >= t.end and _NARROWING_AFTER.fullmatch(lower, t.end, other.start))
                or (other.end <= t.start and _NARROWING_BEFORE.fullmatch(lower, other.end, t.start))
            )
            for other in targets
        )
    )


# what may stand between two items of one list: "chemotherapy, radiation, and/or surgery",
# "chemotherapy, biotherapy, and/or hormonal therapy" (a word the lexicon does not know)
_GAP_PART = re.compile(r"and/or|[\w-]+|[\s,;()/]+")
_CONJUNCTION = frozenset({"and", "or", "and/or", "nor", "plus"})


def _list_gap(gap: str) -> bool:
    parts = _GAP_PART.findall(gap)
    if "".join(parts) != gap:
        return False
    words = [p for p in parts if p[0].isalnum() or p[0] == "-"]
    if "with" in words or "without" in words:
        return False  # "X with Y", "X (with or without Y)": a combination, not a choice
    return sum(w not in _CONJUNCTION for w in words) <= 2


_OR = re.compile(r"\bor\b|and/or")


@lru_cache(maxsize=1)
def _alternatives() -> re.Pattern[str]:
    return skipping(r"\b(?:" + "|".join(cue_book().alternatives) + r")\b")


def _one_of_several(lower: str, target: Target, targets: Sequence[Target]) -> bool:
    """Is the mention one choice in an "or" list with another kind of treatment ("chemotherapy
    and/or surgery", "endocrine therapy or chemotherapy")? Then none of them is required. The
    "or" must join the list itself: "both endocrine therapy and a CDK4/6 inhibitor (either alone
    or with ...)" and "relapsed on or refractory to ... chemotherapy, T-DXd and PARP
    inhibitors" ask for every item."""
    if " or" not in lower and "/or" not in lower:
        return False
    items = sorted(
        {(t.start, t.end, bool(t.columns & target.columns)) for t in targets}
        | {(m.start(), m.end(), False) for m in _alternatives().finditer(lower)}
    )
    items = [x for x in items if x[:2] == (target.start, target.end) or not _overlaps(x, target)]
    at = next(i for i, x in enumerate(items) if x[:2] == (target.start, target.end))

    def joined(a: tuple[int, int, bool], b: tuple[int, int, bool]) -> str | None:
        gap = lower[a[1] : b[0]]
        return gap if len(gap) < 60 and _list_gap(gap) else None

    first = last = at
    while first > 0 and joined(items[first - 1], items[first]) is not None:
        first -= 1
    while last < len(items) - 1 and joined(items[last], items[last + 1]) is not None:
        last += 1
    chain = items[first : last + 1]
    if all(same for *_span, same in chain):
        return False  # one class named several ways
    return any(_OR.search(lower[a[1] : b[0]]) for a, b in zip(chain, chain[1:], strict=False))


def _overlaps(item: tuple[int, int, bool], target: Target) -> bool:
    return item[0] < target.end and target.start < item[1]


# Criteria that are entry routes: "Has recurrent disease < 2 years from adjuvant ET OR" / "Has
# progression on a CDK4/6 inhibitor OR" / ...; a criterion that is only "OR" joins its neighbours.
_OR_END = re.compile(r"(?:\bor|\band/or)\s*[:;,.]?\s*$", re.I)
_OR_START = re.compile(r"^\W*(?:or|and/or)\b", re.I)
_OR_ONLY = re.compile(r"^\W*(?:or|and/or)\W*$", re.I)


def _linked(clauses: Sequence[Clause], i: int) -> bool:
    """Are criteria i and i + 1 one entry-route group ("... OR" / "OR ...", on one side)?"""
    a, b = clauses[i], clauses[i + 1]
    return a.side == b.side and _joined(a.text, b.text)


def _joined(a: str, b: str) -> bool:
    """Does criterion `a` end with "or" or `b` start with it? Cheap checks first: both patterns
    need an "or" in some case, and `b` cannot start with one if its first character is a letter
    or digit other than o or a."""
    tail = a[-16:]
    if ("or" in tail or "OR" in tail or "Or" in tail or "oR" in tail) and _OR_END.search(tail):
        return True
    first = b[:1]
    return not (first.isalnum() and first not in "oOaA") and _OR_START.match(b) is not None


def _mark_routes(clauses: Sequence[Clause], found: list[list[Mention]]) -> None:
    """A rule in one of several entry routes binds only those who enter that way: it counts at
    study level as a cohort's rule does (routes that contradict give "any"), but never firmly,
    so matching asks instead of ruling out. A rule every route sets stays as it is.

    Only the groups around a criterion that sets a rule can change anything, so only their
    neighbours are looked at (most criteria set none)."""
    seen: set[int] = set()
    for i, mentions in enumerate(found):
        if i in seen or all(m.value is PriorValue.ANY for m in mentions):
            continue
        first = last = i
        while first > 0 and _linked(clauses, first - 1):
            first -= 1
        while last < len(clauses) - 1 and _linked(clauses, last):
            last += 1
        seen.update(range(first, last + 1))
        members = [
            k
            for k in range(first, last + 1)
            # "ovarian cancer after 2 lines OR breast cancer after 1": not a route for this reader
            if not (found[k] and all("other_tumour" in m.cues for m in found[k]))
            and not _OR_ONLY.match(clauses[k].text)
        ]
        if first == last or len(members) < 2:
            continue
        shared = set.intersection(
            *(
                {(m.column, m.value) for m in found[k] if m.value is not PriorValue.ANY}
                for k in members
            )
        )
        for k in members:
            found[k] = [
                m
                if (m.column, m.value) in shared or m.value is PriorValue.ANY
                else m._replace(binding=Binding.ROUTE, route=k)
                if m.binding is Binding.ALL
                else m._replace(doubt=True)
                for m in found[k]
            ]


# read_mentions builds each Mention from its fields in this order (a test keeps it true)
MENTION_FIELDS = (
    *("column", "value", "side", "binding", "setting", "cues", "why", "words", "clause"),
    *("cohort", "specific", "doubt", "group", "route"),
)


def read_mentions(clauses: Iterable[Clause]) -> list[Mention]:
    """Every earlier-treatment mention of every clause, read in context."""
    clauses = tuple(clauses)
    per_clause: list[list[Mention]] = [[] for _ in clauses]
    lex = lexicon()
    new = tuple.__new__  # a Mention built from its fields in order (many are made)
    for clause, out in zip(clauses, per_clause, strict=True):
        text, side, cohort = clause.text, clause.side, clause.cohort
        if not lex.any_in(text, _lower(text)):
            continue
        for sentence in sentences(text):
            found = _read_sentence(side, sentence)
            if not found:
                continue
            own = {f[0] for f in found if not f[7]}  # columns named by a class, not a group
            for column, value, cats, why, doubt, words, specific, group, setting, cues in found:
                if group and column in own:
                    continue  # the class named on its own in the sentence speaks for itself
                if group and value is PriorValue.REQUIRED:
                    value, why = PriorValue.ANY, "earlier therapy of any kind asked for"
                conditional = "conditional" in cats
                binding = (
                    Binding.COHORT
                    if cohort is not None
                    else Binding.CONDITIONAL
                    if conditional or "other_tumour" in cats
                    else Binding.ALL
                )
                # in the order of MENTION_FIELDS
                out.append(
                    new(
                        Mention,
                        (
                            column,
                            value,
                            side,
                            binding,
                            setting,
                            cues,
                            why,
                            words,
                            text,
                            cohort,
                            specific,
                            doubt or conditional,
                            group,
                            None,
                        ),
                    )
                )
    _mark_routes(clauses, per_clause)
    return [m for mentions in per_clause for m in mentions]


class PriorReading(NamedTuple):
    """One column's value in one scope, with the mentions that decided it (a named tuple:
    every study makes dozens)."""

    column: str
    value: PriorValue
    reason: str
    deciding: tuple[Mention, ...] = ()

    @property
    def evidence(self) -> str:
        return " / ".join(dict.fromkeys(m.clause for m in self.deciding))

    @property
    def side(self) -> str:
        return self.deciding[0].side if self.deciding else ""

    @property
    def firm(self) -> bool:
        """Safe to rule someone out on: every deciding mention binds firmly."""
        return bool(self.deciding) and all(m.firm for m in self.deciding)


def _counts(m: Mention, metastatic: bool) -> bool:
    """Does the mention set the column? Rules about early disease only ((neo)adjuvant,
    prevention) do not, in a study for advanced disease: its columns are about the treatment
    history a person with advanced disease brings."""
    if m.value is PriorValue.ANY:
        return False
    return not (metastatic and m.setting is Setting.EARLY)


def _weight(m: Mention) -> tuple[int, int]:
    return (0 if m.setting is Setting.EARLY else 1, 0 if m.specific else 1)


def _settle(column: str, mentions: Sequence[Mention], metastatic: bool = True) -> PriorReading:
    """One scope: required vs excluded settled by the more telling mention."""
    rules = [m for m in mentions if m.column == column and _counts(m, metastatic)]
    if not rules:
        return PriorReading(column, PriorValue.ANY, "no rule")
    req = [m for m in rules if m.value is PriorValue.REQUIRED]
    exc = [m for m in rules if m.value is PriorValue.EXCLUDED]
    if req and all(m.specific for m in exc):
        exc = []  # "progressed on an aromatase inhibitor" + "no prior fulvestrant": required
    if req and exc:
        best_req, best_exc = max(map(_weight, req)), max(map(_weight, exc))
        if best_req > best_exc:
            exc = []
        elif best_exc > best_req:
            req = []
        else:
            return PriorReading(
                column,
                PriorValue.ANY,
                "some words ask for it and others bar it",
                (req[0], exc[0]),
            )
    chosen = req or exc
    chosen.sort(key=_weight, reverse=True)
    return PriorReading(column, chosen[0].value, chosen[0].why, tuple(chosen[:1]))


def _scopes(mentions: Sequence[Mention]) -> list[list[Mention]]:
    """Everyone's clauses, and each breast-cancer cohort's (and each entry route's) with them (a
    basket trial's ovarian cohort is no one's here). Conditional clauses ("if ...", "for
    patients with ovarian cancer ...") set no study-level value; the matcher asks about them."""
    everyone = [m for m in mentions if m.binding is Binding.ALL]
    by_cohort: dict[str, list[Mention]] = {}
    for m in mentions:
        if m.binding is Binding.COHORT and m.cohort is not None and is_breast_cohort(m.cohort):
            by_cohort.setdefault(m.cohort.key, []).append(m)
        elif m.binding is Binding.ROUTE:
            by_cohort.setdefault(f"route {m.route}", []).append(m)
    return [everyone, *([*everyone, *ms] for ms in by_cohort.values())]


def study_reading(
    column: str, mentions: Sequence[Mention], metastatic: bool = True
) -> PriorReading:
    """The study-level value (spec meaning): cohort rules count; contradicting cohorts -> any."""
    mentions = [m for m in mentions if m.column == column]
    if all(m.value is PriorValue.ANY for m in mentions):
        return PriorReading(column, PriorValue.ANY, "no rule")  # what every scope would say
    readings = [_settle(column, scope, metastatic) for scope in _scopes(mentions)]
    ruled = [r for r in readings if r.value is not PriorValue.ANY]
    kinds = {r.value for r in ruled}
    if len(kinds) == 1:
        first = ruled[0]
        deciding = tuple(dict.fromkeys(m for r in ruled for m in r.deciding))
        return PriorReading(column, first.value, first.reason, deciding)
    if len(kinds) > 1:
        deciding = tuple(dict.fromkeys(m for r in ruled for m in r.deciding))
        return PriorReading(
            column,
            PriorValue.ANY,
            "cohorts or conditions differ: some ask for it, some bar it",
            deciding,
        )
    conflicts = [r for r in readings if r.deciding]
    return conflicts[0] if conflicts else PriorReading(column, PriorValue.ANY, "no rule")


def cohort_reading(
    column: str, mentions: Sequence[Mention], cohort: Cohort | None, metastatic: bool = True
) -> PriorReading:
    """The value for people in one cohort (None: people outside every cohort). A conditional
    clause counts, but never firmly."""
    key = cohort.key if cohort else None
    scope = [
        m
        for m in mentions
        if m.column == column
        and (m.binding is not Binding.COHORT or (m.cohort is not None and m.cohort.key == key))
    ]
    return _settle(column, scope, metastatic)


def read_prior(clauses: Sequence[Clause]) -> dict[str, PriorReading]:
    """Study-level readings of every prior_* column."""
    mentions = read_mentions(clauses)
    return {column: study_reading(column, mentions) for column in PRIOR_COLUMNS}


__all__ = [
    "EXCLUSION",
    "PriorReading",
    "cohort_reading",
    "read_mentions",
    "read_prior",
    "study_reading",
]
