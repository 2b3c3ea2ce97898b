"""The one concept lexicon (data/concepts.toml): drug names -> classes, for every reader.

`categories` (the kinds of treatment a trial gives), the earlier-treatment reader, the matcher and
the profile help all take their words from here, so a drug is named once.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from .text import (
    Gate,
    _lower_pattern,
    _plain_start,
    _required,
    _sre_parse,
    expand_leading,
    factor,
    first_chars,
    required_literals,
    start_chars,
    whole_words_literal_first,
)

_CASE_SENSITIVE = re.compile(r"^\(\?-i:([^()]*)\)$")
_AS_ROLE = re.compile(r"\bas\s+(?:an?\s+)?$")
# a target's name just before "targeted": "VEGF-R", "EGFR", "PI3K", "mTOR" (capitals or digits)
_TARGET_NAME = re.compile(r"(?<![\w/-])(?=[\w/-]*(?:[A-Z][\w/-]*[A-Z]|\d))[\w/-]+[\s-]+$")


@lru_cache(maxsize=1)
def concepts() -> dict[str, Any]:
    """The parsed lexicon file."""
    text = resources.files("trials_helper").joinpath("data/concepts.toml").read_text("utf-8")
    return tomllib.loads(text)


def bounded(patterns: Iterable[str], flags: int = re.I) -> re.Pattern[str]:
    """One pattern for a list, each alternative a whole word (no letter or digit around it)."""
    body = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", flags)


@dataclass(frozen=True)
class PriorClass:
    """An earlier-treatment class as the profile and the reader speak of it."""

    column: str
    label: str
    examples: tuple[str, ...]
    pattern: re.Pattern[str]  # the class's words, whole-word, case-insensitive
    not_pattern: re.Pattern[str] | None  # names in its lists that are not this class


class Target(NamedTuple):
    """A treatment mention found in a sentence (a named tuple: sentences hold thousands)."""

    start: int
    end: int
    words: str
    columns: frozenset[str]
    group: bool  # words for several classes at once ("systemic therapy")
    specific: bool  # one drug rather than the class
    doubt: bool = False  # words that can honestly be read two ways ("biologic therapy")


class Lexicon:
    """Finds earlier-treatment mentions: one scan per sentence, then a class check per hit."""

    def __init__(self, data: dict[str, Any]) -> None:
        cats: dict[str, list[str]] = data["categories"]
        self.classes: dict[str, PriorClass] = {}
        lower_parts: list[str] = []
        exact_parts: list[str] = []
        for column, entry in data["prior"].items():
            pats = [p for c in entry["categories"] for p in cats[c]] + list(entry.get("also", []))
            self.classes[column] = PriorClass(
                column,
                entry["label"],
                tuple(entry.get("examples", ())),
                bounded(pats),
                bounded(entry["not"]) if entry.get("not") else None,
            )
            for p in pats:
                m = _CASE_SENSITIVE.match(p)
                (exact_parts if m else lower_parts).append(m.group(1) if m else p)
        self.groups: list[tuple[re.Pattern[str], frozenset[str], bool]] = []
        for entry in data.get("prior_group", {}).values():
            pattern = bounded(entry["patterns"])
            self.groups.append((pattern, frozenset(entry["classes"]), bool(entry.get("doubt"))))
            lower_parts += entry["patterns"]
        # the group patterns that can start with each ASCII character (they ignore case; a
        # pattern that does not say how it starts is tried everywhere; outside ASCII, all are)
        starts = [start_chars(p.pattern) for p, _c, _d in self.groups]
        self._groups_by_first = {
            ch: tuple(
                g
                for g, chars in zip(self.groups, starts, strict=True)
                if chars is None or ch.lower() in {c.lower() for c in chars}
            )
            for ch in map(chr, range(128))
        }
        # "non-hormonal" before group words takes its class out of them
        self._group_not = tuple(
            (re.compile(rf"(?<![a-z0-9])(?:{p})(?:[\s-]+[a-z][\w-]*){{0,2}}[\s-]+$"), frozenset(c))
            for p, c in data.get("prior_group_not", {}).items()
        )
        kinds = data.get("prior_group_kinds", {}).get("patterns", ())
        # a kind word just before a bare "therapy": "radiation therapy" (never matches if none)
        self._kind_before = re.compile(
            r"(?<![a-z0-9])(?:" + "|".join(kinds or ["(?!)"]) + r")[\s-]+$"
        )
        self._class_words = re.compile(
            "|".join(
                rf"(?-i:\b{w}s?\b)" if w.isupper() else re.escape(w)
                for w in data["prior_class_words"]["patterns"]
            ),
            re.I,
        )
        # Python tries alternatives in order: longer patterns first, so "trastuzumab deruxtecan"
        # is one mention rather than "trastuzumab" and a stray word.
        lower_parts.sort(key=len, reverse=True)
        # Patterns that start with a word class ("[a-z]+?mab deruxtecan", a code-named ADC)
        # would be tried at every word; each runs on its own, only where its sure words are.
        expanded = [e for p in lower_parts for e in expand_leading(_lower_pattern(p))]
        plain = [e for e in expanded if _plain_start(e)[0]]
        gated = [rf"(?<![a-z0-9])(?:{e})(?![a-z0-9])" for e in expanded if not _plain_start(e)[0]]
        self._gated = tuple((re.compile(g), required_literals(g)) for g in gated)
        # one substring pass over all their sure words tells whether any can match at all
        self._gated_needs: tuple[str, ...] = (
            tuple(sorted({w for _, needs in self._gated for w in needs}))
            if all(needs for _, needs in self._gated)
            else ()
        )
        body = factor(plain)
        first = first_chars(body)
        ahead = f"(?=[{re.escape(first)}])" if first else ""
        self._lower_re = re.compile(rf"{ahead}(?<![a-z0-9])(?:{body})(?![a-z0-9])")
        # the same after a character that is not a letter or digit, which it consumes (the
        # mention is group 1): the engine then skips the insides of words in C instead of
        # trying the lookbehind at each letter. Position 0 is _lower_re.match's.
        self._after_re = re.compile(rf"[^a-z0-9]{ahead}(?=((?:{body})(?![a-z0-9])))")
        # Strings one of which every lower-case match contains ("tamoxifen", "therap"), asked
        # of the gates' shared scan: two criteria in three hold none and skip both scans above.
        sure = [_required(_sre_parse(e)) for e in plain]
        words = {w for found in sure if found for w in found} | set(self._gated_needs)
        words = {w for w in words if not any(v != w and v in w for v in words)}  # "therap" does
        gated_sure = bool(self._gated_needs) or not self._gated
        self._sure = Gate(tuple(sorted(words))) if all(sure) and gated_sure else None
        # upper-case abbreviations ("AIs", "SERDs", "ET"): rare first letters, so the engine
        # skips between them (all start with a plain letter)
        self._exact_re = (
            re.compile(whole_words_literal_first(exact_parts))
            if exact_parts and all(_plain_start(p)[0] for p in exact_parts)
            else re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(exact_parts) + r")(?![A-Za-z0-9])")
            if exact_parts
            else None
        )

    def _classes_of(self, words: str) -> set[str]:
        """The classes the words name on their own."""
        return {
            column
            for column, cls in self.classes.items()
            if cls.pattern.search(words)
            and not (cls.not_pattern and cls.not_pattern.fullmatch(words))
        }

    def columns_of(
        self, words: str, sentence: str | None = None, start: int = 0
    ) -> tuple[frozenset[str], bool, bool]:
        """The classes some words name, whether they are group words (group patterns may
        look ahead, so they are tried where the words stand in their sentence), and whether
        they can honestly be read two ways."""
        where = (sentence, start) if sentence is not None else (words, 0)
        first = words[:1]
        groups = self._groups_by_first.get(first, self.groups)
        for pattern, classes, doubt in groups:
            m = pattern.match(*where)
            if m and m.end() - m.start() == len(words):
                return classes, True, doubt
        found = _word_classes(words)
        if not found and sentence is not None:
            # words whose pattern looks past them ("hormone" in "hormone-refractory")
            found = frozenset(
                c
                for c, cls in self.classes.items()
                if cls.pattern.match(sentence, start)
                and not (cls.not_pattern and cls.not_pattern.fullmatch(words))
            )
        return found, False, False

    def _possible_gated(self, lower: str) -> list[re.Pattern[str]]:
        """The word-class patterns whose sure words stand in the text."""
        if self._gated_needs and not any(map(lower.__contains__, self._gated_needs)):
            return []
        return [g for g, needs in self._gated if not needs or any(map(lower.__contains__, needs))]

    def any_in(self, text: str, lower: str) -> bool:
        """Could the text name a treatment? One scan, so a criterion without any skips the
        per-sentence reading. `lower` is `text.lower()`."""
        return (
            (self._sure is None or self._sure(text))
            and (
                self._lower_re.match(lower) is not None
                or self._after_re.search(lower) is not None
                or any(g.search(lower) for g in self._possible_gated(lower))
            )
        ) or (self._exact_re is not None and self._exact_re.search(text) is not None)

    def _spans(self, lower: str) -> list[tuple[int, int]]:
        """What _lower_re.finditer finds: each match, none starting inside the one before."""
        first = self._lower_re.match(lower)
        spans = [first.span()] if first else []
        last = first.end() if first else 0
        for m in self._after_re.finditer(lower):
            start, end = m.span(1)
            if start >= last:
                spans.append((start, end))
                last = end
        return spans

    def targets(self, sentence: str, lower: str) -> list[Target]:
        """Mentions in a sentence, longest first where they overlap."""
        spans = self._spans(lower)
        spans += [m.span() for g in self._possible_gated(lower) for m in g.finditer(lower)]
        if self._exact_re is not None:
            spans += [m.span() for m in self._exact_re.finditer(sentence)]
        if not spans:
            return []
        spans.sort(key=lambda s: (s[0], s[0] - s[1]))
        out: list[Target] = []
        last_end = -1
        for start, end in spans:
            if start < last_end:
                continue
            words = sentence[start:end]
            columns, group, doubt = self.columns_of(words, sentence, start)
            if not columns or (group and _AS_ROLE.search(lower, max(0, start - 8), start)):
                continue  # "compounds received as anti-tumor therapy": a role, not a treatment
            if group and self._kind_before.search(lower, max(0, start - 30), start):
                continue  # "radiation therapy for metastatic disease": a kind of its own
            if (
                group
                and lower.startswith("targeted", start)
                and _TARGET_NAME.search(sentence, max(0, start - 30), start)
            ):
                continue  # "VEGF/VEGF-R targeted therapy": its target named, a kind of its own
            if lower.endswith(("non-", "non "), max(0, start - 4), start):
                # "non-hormonal therapy": every class but the one named
                columns, group = frozenset(self.classes) - columns, True
            if group:
                for pattern, minus in self._group_not:
                    if pattern.search(lower, max(0, start - 40), start):
                        columns -= minus  # "systemic non-hormonal anti-cancer therapy"
            if group and out and not out[-1].group and start - out[-1].end <= 1:
                # "hormone therapy for metastatic disease": the class, not all therapy
                prev = out[-1]
                out[-1] = Target(
                    prev.start, end, sentence[prev.start : end], prev.columns, False, prev.specific
                )
                last_end = end
                continue
            specific = not group and not _names_a_class(words)
            out.append(Target(start, end, words, columns, group, specific, doubt))
            last_end = end
        return out


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return Lexicon(concepts())


def prior_classes() -> dict[str, PriorClass]:
    """Earlier-treatment classes by spec column (label and example names for help text)."""
    return lexicon().classes


@lru_cache(maxsize=16384)
def _names_a_class(words: str) -> bool:
    """Do the words name a class ("chemotherapy", "AI") rather than one drug? (cached: the
    same words recur)"""
    return lexicon()._class_words.search(words) is not None


@lru_cache(maxsize=16384)
def _word_classes(words: str) -> frozenset[str]:
    """The classes some words name on their own (cached: the same drug names recur)."""
    return frozenset(lexicon()._classes_of(words))
