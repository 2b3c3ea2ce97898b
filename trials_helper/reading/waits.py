"""Waiting periods ("wash-outs"): which criteria make a person wait after a treatment.

A criterion sets a waiting period when a time-window or wash-out cue of the ConText engine
(data/cues.toml: `window` up to `max_washout_days`, `washout`) reaches a treatment mention: an
earlier-treatment class of the lexicon or a word of concepts.toml `[waiting]` (radiotherapy,
surgery, a study drug). "Negative pregnancy test within 14 days" or "HIV viral load below 200 in
the last 6 months" name no treatment, and "no other cancer within 5 years" is a bar, not a wait.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .context import cue_book, find_cues, reaches
from .lexicon import Target, bounded, concepts, lexicon
from .model import Clause
from .text import _lower, norm, sentences

_WAIT_CUES = frozenset({"window", "washout"})
_TIMELESS = re.compile(r"(?:the )?(?:last|final)(?: dose)?")
_LIST_JOIN = re.compile(
    r"\s*(?:,|/|\+|\band\b|\bor\b|\bplus\b|\bwith\b|,\s*and\b|,\s*or\b)?\s*", re.I
)
# cheap gate: a window needs a number (digits or a word) or a wash-out word
_GATE = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|eight|twelve)\b|wash|half|last|final|since|interval|"
    r"discontinu|stop",
)


@dataclass(frozen=True)
class Wait:
    """One waiting period: the treatment, the time words, and the sentence that says so."""

    side: str
    treatment: str  # as written, e.g. "chemotherapy"
    window: str  # as written, e.g. "within 2 weeks"
    sentence: str

    def quote(self, limit: int = 110) -> str:
        """The shortest run of the sentence that holds both the treatment and the time words."""
        s = self.sentence
        spans = sorted(
            (s.find(part), s.find(part) + len(part), part) for part in (self.treatment, self.window)
        )
        if spans[0][0] < 0:
            return f"{self.treatment} … {self.window}"
        a = s.rfind(" ", 0, max(0, spans[0][0] - 1)) + 1 if spans[0][0] > 0 else 0
        text = s[a : max(spans[0][1], spans[1][1])].strip(" ,;:")
        if len(text) <= limit:
            return text
        return f"{spans[0][2]} … {spans[1][2]}"


@lru_cache(maxsize=1)
def _waiting_words() -> re.Pattern[str]:
    return bounded(concepts()["waiting"]["patterns"])


@lru_cache(maxsize=1)
def _blockers() -> re.Pattern[str]:
    return bounded(concepts()["waiting"]["blockers"])


@lru_cache(maxsize=1)
def _reference() -> re.Pattern[str]:
    """Words just before a treatment that make it the moment counted from, not a past one."""
    body = "|".join(f"(?:{p})" for p in concepts()["waiting"]["reference"])
    return re.compile(rf"(?<![a-z0-9])(?:{body})\s+$", re.I)


def _treatments(sentence: str, lower: str) -> list[Target]:
    found = lexicon().targets(sentence, lower)
    taken = [(t.start, t.end) for t in found]
    for m in _waiting_words().finditer(sentence):
        if m.end() > m.start() and not any(a < m.end() and m.start() < b for a, b in taken):
            found.append(Target(m.start(), m.end(), m.group(), frozenset(), False, False))
    found.sort(key=lambda t: t.start)
    kept: list[Target] = []
    previous_was_reference = False
    previous_end = -1
    for t in found:
        # "first dose of pertuzumab and trastuzumab": a list after the reference words is the
        # reference too, not two treatments to wait after
        listed = previous_was_reference and _LIST_JOIN.fullmatch(sentence[previous_end : t.start])
        is_reference = bool(listed) or bool(
            _reference().search(sentence, max(0, t.start - 60), t.start)
        )
        if not is_reference:
            kept.append(t)
        previous_was_reference, previous_end = is_reference, t.end
    return kept


@lru_cache(maxsize=16384)
def _sentence_waits(side: str, sentence: str) -> tuple[Wait, ...]:
    lower = _lower(sentence)
    if not _GATE.search(lower):
        return ()
    book = cue_book()
    # "the last dose" alone names no time: "until 28 days after the final dose" is the future
    cues = [
        c
        for c in find_cues(lower, book)
        if c.category in _WAIT_CUES and not _TIMELESS.fullmatch(lower, c.start, c.end)
    ]
    if not cues:
        return ()
    out = []
    for target in _treatments(sentence, lower):
        for cue in cues:
            a, b = sorted((min(cue.end, target.end), max(cue.start, target.start)))
            if reaches(cue, target, lower, book.terminators) and not _blockers().search(
                lower, a, b
            ):
                out.append(Wait(side, target.words, sentence[cue.start : cue.end], sentence))
                break
    return tuple(out)


def waiting_periods(clauses: Iterable[Clause]) -> list[Wait]:
    """Every waiting period the clauses set, in criteria order."""
    out: list[Wait] = []
    for clause in clauses:
        for sentence in sentences(norm(clause.text)):
            out.extend(_sentence_waits(clause.side, sentence))
    return out
