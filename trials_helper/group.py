"""Group matched trials by kind of treatment, each group carrying the documents' guidance.

A trial with several kinds of treatment appears once, under its main category (what its
experimental arm tests), and lists its other categories on its card.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .guidance import CategoryGuidance, Guidance, load_guidance
from .match import LEVELS, POSSIBLE, Level, TrialMatch, sort_key


@dataclass(frozen=True)
class TrialGroup:
    category: str
    guidance: CategoryGuidance
    matches: tuple[TrialMatch, ...]

    @property
    def title(self) -> str:
        return self.guidance.title

    def count(self, level: Level) -> int:
        return sum(1 for m in self.matches if m.level == level)

    def headline(self) -> str:
        """e.g. "6 trials — 2 possible matches, 3 to check with your oncologist, 1 unlikely"."""
        n = len(self.matches)
        parts = [
            f"{self.count(level)} {label}"
            for level, label in zip(
                LEVELS,
                ("possible", "to check with your oncologist", "likely not eligible"),
                strict=True,
            )
            if self.count(level)
        ]
        return f"{n} trial{'s' if n != 1 else ''} — " + ", ".join(parts)


def group_matches(
    matches: Iterable[TrialMatch], guidance: Guidance | None = None
) -> list[TrialGroup]:
    """Groups ordered by their best level, then by size; trials inside keep the match order."""
    guidance = guidance or load_guidance()
    buckets: dict[str, list[TrialMatch]] = {}
    for m in matches:
        buckets.setdefault(m.main_category, []).append(m)
    groups = [
        TrialGroup(
            category=cat,
            guidance=guidance.category(cat),
            matches=tuple(sorted(items, key=sort_key)),
        )
        for cat, items in buckets.items()
    ]

    def order(g: TrialGroup) -> tuple:
        best = min(LEVELS.index(m.level) for m in g.matches)
        return (best, -g.count(POSSIBLE), -len(g.matches), g.category)

    return sorted(groups, key=order)
