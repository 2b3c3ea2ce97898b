"""The reader's domain values: what a mention of earlier treatment means, and for whom."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class PriorValue(StrEnum):
    """A prior_* column's value (spec: required / excluded / any)."""

    REQUIRED = "required"
    EXCLUDED = "excluded"
    ANY = "any"


class Binding(StrEnum):
    """Whom a clause binds: everyone, one cohort, or only people a condition picks out."""

    ALL = "all"
    COHORT = "cohort"
    CONDITIONAL = "conditional"
    ROUTE = "route"  # one of several entry routes joined by "or"


class Setting(StrEnum):
    """The disease setting a treatment mention is about."""

    ADVANCED = "advanced"
    EARLY = "early"
    ANY = "any"


PRIOR_COLUMNS: tuple[str, ...] = (
    "prior_endocrine",
    "prior_cdk46",
    "prior_chemo",
    "prior_her2",
    "prior_adc",
    "prior_immunotherapy",
    "prior_parp",
)


@dataclass(frozen=True)
class Cohort:
    """A group of people a study enrols under its own rules ("Cohort B", "Part 2")."""

    key: str  # normalised name used to join clauses, e.g. "cohort b"
    name: str  # as written, e.g. "Cohort B"
    definition: str = ""  # the words that say who belongs, e.g. "triple-negative, first line"

    def label(self) -> str:
        return f"{self.name} ({self.definition})" if self.definition else self.name


class Clause(NamedTuple):
    """One criterion with its side and the cohort it belongs to (None: everyone); a named tuple
    because a thousand studies hold twenty thousand of them."""

    side: str  # eligibility.INCLUSION / EXCLUSION / UNKNOWN_SIDE
    text: str
    cohort: Cohort | None = None


class Mention(NamedTuple):
    """One earlier-treatment mention read in context: the column value it sets and why (a named
    tuple: a thousand studies hold about nine thousand)."""

    column: str  # one of PRIOR_COLUMNS
    value: PriorValue
    side: str
    binding: Binding
    setting: Setting
    cues: tuple[str, ...]  # cue categories that reach the mention
    why: str  # the rule's plain reason
    words: str  # the treatment words as written
    clause: str  # the whole criterion
    cohort: Cohort | None = None
    specific: bool = False  # a single drug ("fulvestrant") rather than the class
    doubt: bool = False  # a reading that must not rule a trial out by itself
    group: bool = False  # read from words for several classes ("systemic therapy")
    route: int | None = None  # the criterion's place when it is one of several entry routes

    @property
    def firm(self) -> bool:
        """Binds everyone the clause speaks for, with no allowance, condition or doubt."""
        if self.value is PriorValue.EXCLUDED and self.specific:
            return False  # a bar on one drug ("no prior gemcitabine"): the profile knows classes
        return not self.doubt and self.binding not in (Binding.CONDITIONAL, Binding.ROUTE)
