"""Facet rules (data/facet_rules.toml): side + cue categories -> a prior_* value; first wins."""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..eligibility import EXCLUSION
from .model import PriorValue


@dataclass(frozen=True)
class FacetRule:
    side: str  # "inclusion" or "exclusion" (text with no heading reads as inclusion)
    when: frozenset[str]
    unless: frozenset[str]
    value: PriorValue
    why: str
    doubt: bool
    example: str
    counter: str

    def holds(self, categories: Collection[str]) -> bool:
        found = categories if isinstance(categories, frozenset | set) else set(categories)
        return self.when <= found and not (self.unless & found)


@lru_cache(maxsize=1)
def facet_rules() -> dict[str, tuple[FacetRule, ...]]:
    text = resources.files("trials_helper").joinpath("data/facet_rules.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return {
        side: tuple(
            FacetRule(
                side,
                frozenset(r.get("when", ())),
                frozenset(r.get("unless", ())),
                PriorValue(r["value"]),
                r["why"],
                bool(r.get("doubt", False)),
                r.get("example", ""),
                r.get("counter", ""),
            )
            for r in data[side]
        )
        for side in ("inclusion", "exclusion")
    }


def decide(side: str, categories: Collection[str]) -> FacetRule | None:
    """The first rule of the side that holds, or None (the mention sets no rule)."""
    return _decide(side == EXCLUSION, frozenset(categories))


@lru_cache(maxsize=4096)
def _decide(exclusion: bool, categories: frozenset[str]) -> FacetRule | None:
    """decide() for one side and set of cue categories (few sets recur across all texts)."""
    for rule in facet_rules()["exclusion" if exclusion else "inclusion"]:
        if rule.holds(categories):
            return rule
    return None
