"""Questions for the oncologist drawn from one trial's own features.

Each question names what in the trial raised it (its design, its criteria, its sites), so the
discussion sheet can show why it is there. The documents' general questions come from guidance.

A question is written in plain words (about grade 6 to 8); when the trial's own words explain it
(a biopsy rule, a waiting period) they are kept apart, shortened, in `TrialQuestion.quote`, so
the question itself stays short and the quote is shown as the trial's, not ours.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

from .eligibility import Criterion
from .facets import TrialFacets
from .reading.model import Clause
from .reading.waits import waiting_periods
from .studies import Trial

_BIOPSY = re.compile(r"\bbiops(y|ies)\b|fresh tissue|tumou?r tissue (sample|specimen)", re.I)
_PLACEBO = re.compile(r"placebo", re.I)
_PRIOR_NAMES = {
    "prior_cdk46": "an earlier CDK4/6 inhibitor",
    "prior_endocrine": "earlier hormone therapy",
    "prior_chemo": "earlier chemotherapy for advanced disease",
}


class TrialQuestion(str):
    """A question in the project's words (`text`) with the trial's words kept apart (`quote`).

    It is a `str` (the text, then the quote in brackets) so every place that lists questions as
    text keeps working; the app and the sheet show `text` and `quote` on their own.
    """

    text: str
    quote: str

    def __new__(cls, text: str, quote: str = "") -> TrialQuestion:
        whole = f'{text} (The trial says: "{quote}")' if quote else text
        obj = super().__new__(cls, whole)
        obj.text = text
        obj.quote = quote
        return obj

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # copies keep both
        return (self.text, self.quote)


def _first(criteria: Sequence[Criterion], pattern: re.Pattern[str], side: str | None = None):
    for c in criteria:
        if (side is None or c.side == side) and pattern.search(c.text):
            return c
    return None


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def trial_questions(
    trial: Trial,
    facets: TrialFacets,
    criteria: Sequence[Criterion],
    nearest: Any = None,
    unit: str = "mi",
    location_known: bool = False,
) -> list[TrialQuestion]:
    """Plain-language questions this trial raises, most decisive first."""
    return [*_trial_part(trial, facets, criteria), *_place_part(nearest, unit, location_known)]


# A trial's own questions do not change with the profile or the place; the app asks for them
# on every widget change, so they are kept per (trial, facets) pair of a loaded set. Weak
# references: a set that is dropped takes its trials with it.
_KEPT: dict[tuple[int, int], tuple[weakref.ref, weakref.ref, tuple[TrialQuestion, ...]]] = {}
_KEEP_AT_MOST = 20_000


def _trial_part(
    trial: Trial, facets: TrialFacets, criteria: Sequence[Criterion]
) -> tuple[TrialQuestion, ...]:
    key = (id(trial), id(facets))
    kept = _KEPT.get(key)
    if kept is not None and kept[0]() is trial and kept[1]() is facets:
        return kept[2]
    qs = tuple(_own_questions(trial, facets, criteria))
    if len(_KEPT) >= _KEEP_AT_MOST:
        _KEPT.clear()
    _KEPT[key] = (weakref.ref(trial), weakref.ref(facets), qs)
    return qs


def _own_questions(
    trial: Trial, facets: TrialFacets, criteria: Sequence[Criterion]
) -> list[TrialQuestion]:
    qs: list[TrialQuestion] = []
    phases = set(trial.phases)
    if phases & {"PHASE1", "EARLY_PHASE1"}:
        qs.append(
            TrialQuestion(
                "This is an early (phase 1) study. It mostly tests if a drug is safe and what "
                "dose to give. What is known so far about its side effects? Does it seem to help?"
            )
        )
    if trial.allocation == "RANDOMIZED":
        qs.append(
            TrialQuestion(
                "People are put into groups by chance. Which treatments could I get? What "
                "happens if I am in the group that gets the usual care?"
            )
        )
    placebo = any(_PLACEBO.search(f"{i.name} {i.description}") for i in trial.interventions) or any(
        a.type == "PLACEBO_COMPARATOR" for a in trial.arms
    )
    if placebo:
        qs.append(
            TrialQuestion(
                "One group gets a placebo (a look-alike with no drug in it). What treatment "
                "would I get along with it?"
            )
        )
    for name, words in _PRIOR_NAMES.items():
        facet = getattr(facets, name)
        if facet.value == "required":
            qs.append(TrialQuestion(f"The trial requires {words}. Does what I have had count?"))
        elif facet.value == "excluded":
            qs.append(
                TrialQuestion(
                    f"The trial does not take people who have had {words}. Does that rule me out?"
                )
            )
    biopsy = _first(criteria, _BIOPSY, "inclusion")
    if biopsy is not None:
        qs.append(
            TrialQuestion(
                "The rules ask for a biopsy or a tissue sample. Would I need a new biopsy to join?",
                _short(biopsy.text),
            )
        )
    waits = waiting_periods(Clause(c.side, c.text) for c in criteria)
    if waits:
        quotes = list(dict.fromkeys(w.quote() for w in waits))
        qs.append(
            TrialQuestion(
                "The trial sets waiting periods after some treatments. Which ones apply to me? "
                "How long would I need to wait, and is that safe for me?",
                " … ".join(quotes[:2]),
            )
        )
    brain = str(facets.brain_mets.value)
    if brain == "excluded":
        qs.append(
            TrialQuestion(
                "The trial does not take people whose cancer has spread to the brain. Do I need "
                "a brain scan before I join?"
            )
        )
    elif brain == "stable_allowed":
        qs.append(
            TrialQuestion(
                "The trial takes people with cancer in the brain only if it was treated and is "
                "stable. Do my scans show that?"
            )
        )
    elif brain in ("active_allowed", "required"):
        qs.append(
            TrialQuestion(
                "The trial may take people with cancer in the brain that was not treated. How "
                "would my brain scans be checked?"
            )
        )
    return qs


def _place_part(nearest: Any, unit: str, location_known: bool) -> list[TrialQuestion]:
    qs: list[TrialQuestion] = []
    distance = getattr(nearest, "distance", None)
    site = getattr(nearest, "site", None)
    if site is not None and distance is not None:
        qs.append(
            TrialQuestion(
                f"The nearest site that is taking people is {site.facility or site.place} "
                f"({distance:,.0f} {unit}). How often would I need to go there? Is there help "
                "with travel or a place to stay?"
            )
        )
    elif location_known:
        qs.append(
            TrialQuestion(
                "No site near me is listed as taking people. Could there be sites not listed "
                "yet, or other ways to take part?"
            )
        )
    return qs
