"""The whole pipeline as pure steps, shared by the app and the CLI.

`analyse(studies)` parses and classifies once (the slow part, cached by the app);
`select(analysed, profile, location, options)` filters, matches and groups (fast, so changing a
filter feels instant). Every trial that is left out is counted with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .facets import TrialFacets, classify_trial
from .geo import LocatedTrial, LocationFilter, apply_location_filter
from .group import TrialGroup, group_matches
from .match import LEVELS, Level, TrialMatch, match_all
from .profile import Profile
from .studies import Trial, parse_study

PHASE_CHOICES = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")


@dataclass(frozen=True)
class Analysed:
    trial: Trial
    facets: TrialFacets


@dataclass(frozen=True)
class SearchOptions:
    """Filters beyond the profile; empty tuples mean "all"."""

    phases: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # keep trials giving any of these kinds of treatment
    levels: tuple[Level, ...] = ()  # keep only these match levels
    metastatic_only: bool = True  # hide studies that read as early-stage only
    statuses: tuple[str, ...] = ()  # keep only these overall statuses (snapshots may hold more)


@dataclass
class SearchOutcome:
    matches: list[TrialMatch]
    groups: list[TrialGroup]
    total: int  # studies analysed
    left_out: Counter = field(default_factory=Counter)  # reason -> count
    located: Mapping[str, LocatedTrial] = field(default_factory=dict)

    def counts_by_level(self) -> dict[Level, int]:
        c = Counter(m.level for m in self.matches)
        return {level: c.get(level, 0) for level in LEVELS}

    def left_out_text(self) -> str:
        if not self.left_out:
            return ""
        parts = [f"{n} {reason}" for reason, n in self.left_out.most_common()]
        return "Left out: " + "; ".join(parts) + "."


Progress = Callable[[int, int], None]  # (studies read, of how many)


def analyse(
    studies: Sequence[Mapping[str, Any]] | Iterable[Mapping[str, Any]],
    *,
    progress: Progress | None = None,
) -> list[Analysed]:
    """Parse and classify every study once, here; duplicates (same NCT id) are kept once.

    The app and the CLI go through `readpool.read_studies`, which does the same with stored
    readings and, for many new studies, several processes. `progress(done, total)` is told
    every 50 studies and at the end."""
    items = studies if isinstance(studies, Sequence) else list(studies)
    out: list[Analysed] = []
    seen: set[str] = set()
    for n, study in enumerate(items, 1):
        trial = parse_study(study)
        if not (trial.nct_id and trial.nct_id in seen):
            seen.add(trial.nct_id)
            out.append(Analysed(trial, classify_trial(trial)))
        if progress is not None and (n % 50 == 0 or n == len(items)):
            progress(n, len(items))
    return out


def _phase_ok(trial: Trial, phases: Sequence[str]) -> bool:
    if not phases:
        return True
    have = set(trial.phases) or {"NA"}
    return bool(have & set(phases))


def select(
    analysed: Sequence[Analysed],
    profile: Profile,
    location: LocationFilter | None = None,
    options: SearchOptions | None = None,
) -> SearchOutcome:
    """Filter, locate, match, sort and group; count what was left out and why."""
    options = options or SearchOptions()
    left_out: Counter = Counter()
    kept: list[Analysed] = []
    for a in analysed:
        if options.statuses and a.trial.overall_status not in options.statuses:
            left_out["with another registry status"] += 1
        elif options.metastatic_only and a.facets.admits_metastatic.value == "no":
            left_out["not for metastatic disease"] += 1
        elif not _phase_ok(a.trial, options.phases):
            left_out["in other phases"] += 1
        elif options.categories and not set(_cats(a.facets)) & set(options.categories):
            left_out["giving other kinds of treatment"] += 1
        else:
            kept.append(a)

    located: dict[str, LocatedTrial] = {}
    if location is not None and (location.origin is not None or location.country or location.state):
        results = apply_location_filter([a.trial for a in kept], location)
        located = {r.trial.nct_id: r for r in results}
        for a in kept:
            if a.trial.nct_id in located:
                continue
            if location.origin is not None and not any(s.has_coordinates for s in a.trial.sites):
                left_out["whose sites have no map location (tick the option to show them)"] += 1
            else:
                left_out["with no recruiting site in the chosen area"] += 1
        kept = [a for a in kept if a.trial.nct_id in located]

    nearest = {k: r.nearest for k, r in located.items() if r.nearest is not None}
    unit = location.unit if location is not None else "mi"
    matches = match_all(
        profile,
        [a.trial for a in kept],
        {a.trial.nct_id: a.facets for a in kept},
        nearest,
        unit,
        location_known=location is not None and location.origin is not None,
    )
    if options.levels:
        before = len(matches)
        matches = [m for m in matches if m.level in options.levels]
        if before - len(matches):
            left_out["at other match levels"] += before - len(matches)
    return SearchOutcome(
        matches=matches,
        groups=group_matches(matches),
        total=len(analysed),
        left_out=left_out,
        located=located,
    )


def _cats(facets: TrialFacets) -> tuple[str, ...]:
    value = facets.categories.value
    return tuple(value) if isinstance(value, tuple | list) else (value,)
