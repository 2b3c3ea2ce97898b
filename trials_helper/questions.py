"""Questions for the oncologist drawn from one trial's own features.

Each question names what in the trial raised it (its design, its criteria, its sites), so the
discussion sheet can show why it is there. The documents' general questions come from guidance.
"""

from __future__ import annotations

import re
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


def _first(criteria: Sequence[Criterion], pattern: re.Pattern[str], side: str | None = None):
    for c in criteria:
        if (side is None or c.side == side) and pattern.search(c.text):
            return c
    return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def trial_questions(
    trial: Trial,
    facets: TrialFacets,
    criteria: Sequence[Criterion],
    nearest: Any = None,
    unit: str = "mi",
    location_known: bool = False,
) -> list[str]:
    """Plain-language questions this trial raises, most decisive first."""
    qs: list[str] = []
    phases = set(trial.phases)
    if phases & {"PHASE1", "EARLY_PHASE1"}:
        qs.append(
            "This is an early (phase 1) study, which mainly tests safety and dose, "
            "sometimes for the first time in people. What is known so far about its side "
            "effects and whether it helps?"
        )
    if trial.allocation == "RANDOMIZED":
        qs.append(
            "People are put into groups by chance. Which treatments could I get, and "
            "what happens if I am in the comparison group?"
        )
    placebo = any(_PLACEBO.search(f"{i.name} {i.description}") for i in trial.interventions) or any(
        a.type == "PLACEBO_COMPARATOR" for a in trial.arms
    )
    if placebo:
        qs.append(
            "One group receives a placebo (a look-alike with no active drug). What "
            "treatment would I get alongside it?"
        )
    for name, words in _PRIOR_NAMES.items():
        facet = getattr(facets, name)
        if facet.value == "required":
            qs.append(f"The trial requires {words}. Does my treatment so far count?")
        elif facet.value == "excluded":
            qs.append(
                f"The trial does not take people who have had {words}. Does that apply to me?"
            )
    biopsy = _first(criteria, _BIOPSY, "inclusion")
    if biopsy is not None:
        qs.append(
            "The criteria mention a biopsy or tissue sample "
            f'("{_short(biopsy.text)}"). Would I need a new biopsy to join?'
        )
    waits = waiting_periods(Clause(c.side, c.text) for c in criteria)
    if waits:
        quotes = list(dict.fromkeys(w.quote() for w in waits))
        shown = "; ".join(f'"{q}"' for q in quotes[:2])
        qs.append(
            "The criteria set waiting periods after some treatments "
            f"({shown}). Which of these apply to me, how long would I need to wait, and is "
            "that safe for me?"
        )
    brain = str(facets.brain_mets.value)
    if brain == "excluded":
        qs.append(
            "The trial does not take people with brain metastases. Do I need a brain "
            "scan before screening?"
        )
    elif brain == "stable_allowed":
        qs.append(
            "The trial takes brain metastases only if treated and stable. Do my scans show that?"
        )
    elif brain in ("active_allowed", "required"):
        qs.append(
            "The trial has rules for brain metastases that may include untreated ones. "
            "How would my brain scans be checked and followed?"
        )
    distance = getattr(nearest, "distance", None)
    site = getattr(nearest, "site", None)
    if site is not None and distance is not None:
        qs.append(
            f"The nearest recruiting site is {site.facility or site.place} "
            f"({distance:,.0f} {unit}). How often would I need to go there, and is help "
            "with travel or lodging offered?"
        )
    elif location_known:
        qs.append(
            "No recruiting site near me is listed. Are there sites not yet listed, or "
            "other ways to take part?"
        )
    return qs
