"""A small ConText engine: which cue categories reach each treatment mention in a sentence.

The cues are data (data/cues.toml). medspaCy's ConText does the same job but reads about 100
texts a second here, 10-20 times over the reader's budget (docs/facets.md), so this engine keeps
its rule shape over plain regular expressions: a cue reaches mentions in its direction, up to
its scope in words, unless a terminator stands between; overlapping cues keep the longest
(pseudo-cues such as "prior to" or "not a candidate for" win over the shorter cue inside them).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from .lexicon import Target
from .text import (
    _lower_pattern,
    _plain_start,
    _top_level,
    expand_leading,
    factor,
    first_chars,
    required_literals,
    skipping,
    start_chars,
)

FORWARD, BACKWARD, BOTH = "forward", "backward", "both"
_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "eight": 8,
    "twelve": 12,
}
_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30.4, "year": 365}


@dataclass(frozen=True)
class CueRule:
    """One row of cues.toml."""

    category: str
    direction: str
    scope: int
    patterns: tuple[re.Pattern[str], ...]
    example: str
    counter: str
    sources: tuple[str, ...] = ()  # each pattern's lower-cased alternatives, for the scanner


class Cue(NamedTuple):
    category: str
    direction: str
    scope: int
    start: int
    end: int


class _AnyOf(NamedTuple):
    """Does a text hold a match of any of several patterns? Those that start with a plain
    character (";", ",\\s*and ...") run on their own: the engine finds that character fast.
    The others are tried only where one of the words they need stands (substring checks run in
    C). Most sentences hold no terminator, and this says so in a third of the time one
    alternation of them all takes."""

    words: tuple[str, ...]
    worded: re.Pattern[str] | None
    others: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, patterns: list[str]) -> _AnyOf:
        worded: list[str] = []
        others: list[str] = []
        words: set[str] = set()
        for p in patterns:
            needs = () if _plain_start(p)[0] else required_literals(p, shortest=3)
            (worded if needs else others).append(p)
            words.update(needs)
        return cls(
            tuple(sorted(words)),
            skipping("|".join(worded)) if worded else None,
            tuple(map(re.compile, others)),
        )

    def __call__(self, lower: str) -> bool:
        if (
            self.worded is not None
            and any(map(lower.__contains__, self.words))
            and self.worded.search(lower) is not None
        ):
            return True
        return any(p.search(lower) is not None for p in self.others)


@dataclass(frozen=True)
class CueBook:
    rules: tuple[CueRule, ...]
    pseudo: re.Pattern[str]
    terminators: re.Pattern[str]
    max_washout_days: float
    alternatives: tuple[str, ...] = ()
    scanner: Scanner | None = None
    any_terminator: _AnyOf | None = None

    def may_stop(self, lower: str) -> bool:
        """Does the sentence hold a terminator? (most have none)"""
        if self.any_terminator is not None:
            return self.any_terminator(lower)
        return self.terminators.search(lower) is not None


def _lowered(pattern: str) -> str:
    return _lower_pattern(pattern).replace("(?p<", "(?P<")


def _compile(patterns: list[str]) -> re.Pattern[str]:
    body = factor([_lowered(p) for p in sorted(patterns, key=len, reverse=True)])
    first = first_chars(body)
    # a lookahead on the characters a cue can start with lets the engine skip other positions
    ahead = f"(?=[{re.escape(first)}])" if first else ""
    return re.compile(rf"{ahead}(?<![a-z0-9])(?:{body})(?![a-z0-9])")


def _groups(patterns: list[str]) -> list[list[str]]:
    """One alternation, or one pattern each where they name groups (a window's number). The
    alternatives that start with plain words go apart from those that start with a class
    ("\\w+-induced"), so the scanner tries the first only where their words stand."""
    if any("(?P<" in p for p in patterns):
        return [[p] for p in patterns]
    plain = [p for p in patterns if _spelled_out(p)]
    other = [p for p in patterns if not _spelled_out(p)]
    return [g for g in (plain, other) if g]


def _spelled_out(pattern: str) -> bool:
    """Does every match start with plain characters ("(?:last|final) dose": yes)?"""
    return all(_plain_start(e)[0] for e in expand_leading(_lowered(pattern)))


Entry = tuple[int, int, re.Pattern[str]]  # (slot, rule index, pattern)


class Scanner(NamedTuple):
    """Finds every cue in one pass instead of one pass per rule.

    `starts` is every pattern of the book as one tree-shaped alternation inside a lookahead: it
    stops at each position where some cue starts (overlapping ones too). There, only the
    patterns one of whose alternatives starts with the characters standing there are tried,
    each once, and a pattern is not tried inside its own previous match, which is exactly what
    a separate `finditer` per pattern yields. A pattern that may start with any word
    ("\\w+-induced") runs on its own, and only in sentences holding the words it needs.
    """

    starts: re.Pattern[str]
    # the same after a character that is not a letter or digit (which it consumes): the engine
    # then skips the insides of words in C instead of trying the tree at each letter
    after: re.Pattern[str]
    by_prefix: dict[str, tuple[Entry, ...]]  # first 1 to _KEY characters -> patterns
    memo: dict[str, tuple[Entry, ...]]  # the text's next _KEY characters -> patterns to try
    slots: int
    apart: tuple[tuple[Entry, tuple[str, ...]], ...] = ()  # (pattern, words it needs)

    def candidates(self, key: str) -> tuple[Entry, ...]:
        """The patterns that may match where the text goes on with `key`, each once."""
        found = self.memo.get(key)
        if found is None:
            table = self.by_prefix
            every: list[Entry] = []
            for n in range(len(key) + 1):
                every += table.get(key[:n], ())
            found = tuple(dict.fromkeys(every))
            if len(self.memo) < 50_000:
                self.memo[key] = found
        return found


_PSEUDO_RULE = -1
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


_KEY = 4  # patterns are looked up by up to this many first characters


def _alternatives(source: str) -> list[str]:
    """The top-level alternatives of a pattern, leading groups spelled out."""
    return [
        plain
        for alt in _top_level(_NAMED_GROUP.sub("(?:", source))
        for plain in expand_leading(alt)
    ]


def _prefixes(source: str) -> set[str] | None:
    """The keys a pattern is filed under: for each alternative, the first characters it spells
    out (up to _KEY), or the single characters it can start with; None when some alternative
    can start with any character."""
    keys: set[str] = set()
    for alt in _alternatives(source):
        start = _plain_start(alt)[0]
        if start:
            keys.add(start[:_KEY])
            continue
        chars = start_chars(alt)
        if chars is None:
            return None
        keys |= set(chars)
    return keys


def _scanner(rules: tuple[CueRule, ...], pseudo: re.Pattern[str], pseudo_source: str) -> Scanner:
    entries = [(i, p) for i, rule in enumerate(rules) for p in rule.patterns]
    entries.append((_PSEUDO_RULE, pseudo))
    sources = [src for rule in rules for src in rule.sources] + [pseudo_source]
    by_prefix: dict[str, list[Entry]] = {}  # "" holds the patterns that can start anywhere
    apart: list[tuple[Entry, tuple[str, ...]]] = []
    for slot, ((rule, pattern), source) in enumerate(zip(entries, sources, strict=True)):
        entry = (slot, rule, pattern)
        known = _prefixes(source)
        if known is None:
            needs = required_literals(source)
            if needs:
                apart.append((entry, needs))
                continue
            known = {""}
        for key in known:
            by_prefix.setdefault(key, []).append(entry)
    # one tree of every alternative (named groups dropped: names repeat across patterns)
    alone = {entry[0] for entry, _needs in apart}
    every = factor(
        sorted(
            {
                plain
                for slot, src in enumerate(sources)
                if slot not in alone
                for plain in _alternatives(src)
            }
        )
    )
    starts = re.compile(rf"(?<![a-z0-9])(?=(?:{every})(?![a-z0-9]))")
    first = start_chars(every)
    ahead = f"(?=[{re.escape(''.join(sorted(first)))}])" if first else ""
    after = re.compile(rf"[^a-z0-9]{ahead}(?=(?:{every})(?![a-z0-9]))")
    table = {key: tuple(found) for key, found in by_prefix.items()}
    return Scanner(starts, after, table, {}, len(entries), tuple(apart))


@lru_cache(maxsize=1)
def cue_book() -> CueBook:
    text = resources.files("trials_helper").joinpath("data/cues.toml").read_text("utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    rules = tuple(
        CueRule(
            c["category"],
            c["direction"],
            int(c["scope"]),
            tuple(_compile(group) for group in _groups(c["patterns"])),
            c.get("example", ""),
            c.get("counter", ""),
            tuple("|".join(_lowered(p) for p in group) for group in _groups(c["patterns"])),
        )
        for c in data["cue"]
    )
    pseudo = _compile(data["pseudo"])
    terminators = [_lowered(p) for p in data["terminators"]]
    return CueBook(
        rules,
        pseudo,
        skipping("|".join(terminators)),
        float(data["max_washout_days"]),
        tuple(data.get("alternatives", ())),
        _scanner(rules, pseudo, "|".join(_lowered(p) for p in data["pseudo"])),
        _AnyOf.of(terminators),
    )


def _window_days(m: re.Match[str]) -> float | None:
    n, unit = m.groupdict().get("n"), m.groupdict().get("unit")
    if not n or not unit:
        return None
    count = _NUMBERS.get(n) or (int(n) if n.isdigit() else None)
    return None if count is None else count * _DAYS[unit.rstrip("s")]


def find_cues(lower: str, book: CueBook | None = None) -> list[Cue]:
    """Every cue in a lower-cased sentence, overlaps resolved (longest wins; a cue of the same
    category over the same words in another direction is kept too)."""
    book = book or cue_book()
    scanner = book.scanner
    assert scanner is not None
    found: list[Cue] = []
    done = [0] * scanner.slots  # where each pattern's previous match ended
    matches: list[tuple[int, re.Match[str]]] = [
        (index, m)
        for (_slot, index, pattern), needs in scanner.apart
        if any(map(lower.__contains__, needs))
        for m in pattern.finditer(lower)
    ]
    # where a cue starts: at the very start, or just after a character that is not a letter
    # or digit (`after` ends its match there)
    positions = [at.end() for at in scanner.after.finditer(lower)]
    if scanner.starts.match(lower):
        positions.insert(0, 0)
    memo = scanner.memo
    for p in positions:
        key = lower[p : p + _KEY]
        candidates = memo.get(key) or scanner.candidates(key)
        for slot, index, pattern in candidates:
            if p < done[slot]:
                continue
            m = pattern.match(lower, p)
            if m is None:
                continue
            done[slot] = m.end()
            matches.append((index, m))
    rules = book.rules
    for index, m in matches:
        start, end = m.span()
        if index == _PSEUDO_RULE:
            found.append(Cue("pseudo", BOTH, 0, start, end))
            continue
        rule = rules[index]
        category = rule.category
        if category == "window":
            days = _window_days(m)
            if days is not None and days > book.max_washout_days:
                category = "long_window"  # "within 5 years": a bar, not a wait
        found.append(Cue(category, rule.direction, rule.scope, start, end))
    return resolve(found)


def resolve(found: list[Cue]) -> list[Cue]:
    """Overlapping cues: a longer cue over these words wins; cues over exactly the same words
    all stand; pseudo-cues win and then drop out."""
    if len(found) < 2:
        return [c for c in found if c.category != "pseudo"]
    found.sort(key=lambda c: (c.start - c.end, c.start, c.category, c.direction))
    kept: list[Cue] = []
    for cue in found:
        start, end = cue.start, cue.end
        for k in kept:
            if start < k.end and k.start < end and (k.start != start or k.end != end):
                break  # a longer cue over some of these words
        else:
            kept.append(cue)
    return [c for c in kept if c.category != "pseudo"]


def _words_between(text: str, a: int, b: int) -> int:
    return text.count(" ", a, b) if b > a else 0


def _inside(lower: str, cue: Cue) -> tuple[int, int] | None:
    """The parentheses a cue stands in; a cue that runs on past them is not inside them
    ("(HER2)-positive patients ... must")."""
    around = _bracket(lower, cue.start)
    return around if around is not None and cue.end <= around[1] else None


def _bracket(lower: str, at: int) -> tuple[int, int] | None:
    """The innermost parenthesis around a position, as (open, close), or None."""
    open_at = lower.rfind("(", 0, at)
    if open_at < 0 or lower.rfind(")", open_at, at) >= 0:
        return None
    close = lower.find(")", at)
    return (open_at, close if close >= 0 else len(lower))


def reaches(cue: Cue, target: Target, lower: str, terminators: re.Pattern[str] | None) -> bool:
    """Does the cue's scope cover the mention? A cue inside parentheses speaks only for what
    stands in them: "(prior endocrine therapy is allowed)" allows nothing outside."""
    paren = "(" in lower
    return _reaches(
        cue,
        _inside(lower, cue) if paren else None,
        target,
        _Place.of(lower, target, paren),
        lower,
        terminators,
    )


class _Place(NamedTuple):
    """Where a mention stands, worked out once per sentence: the parentheses around it and the
    lists ("including ...") that hold it or its parentheses."""

    around: tuple[int, int] | None
    opener: int | None  # the list the mention stands in
    opener_around: int | None  # the list its parentheses stand in

    @classmethod
    def of(cls, lower: str, target: Target, paren: bool, lists: bool = True) -> _Place:
        """`lists`: may the sentence hold a list at all (see _may_list)?"""
        around = _bracket(lower, target.start) if paren else None
        if not lists:
            return cls(around, None, None)
        return cls(
            around,
            _list_opener(lower, target.start),
            _list_opener(lower, around[0]) if around is not None else None,
        )


def _reaches(
    cue: Cue,
    inside: tuple[int, int] | None,
    target: Target,
    place: _Place,
    lower: str,
    terminators: re.Pattern[str] | None,
) -> bool:
    if target.start <= cue.start and cue.end <= target.end:
        return False  # the cue is part of the words themselves
    if cue.start < target.end and target.start < cue.end:
        return True  # the cue's words take the mention in ("more than 3 prior chemotherapy lines")
    if inside is not None and not inside[0] < target.start < inside[1]:
        return False
    start, end = target.start, target.end
    opener = place.opener
    around = place.around
    if around is not None and not around[0] < cue.start < around[1]:
        # a list in parentheses expands the words before it: "No prior EGFR-targeting
        # therapies (e.g., ..., trastuzumab)" -- the cue reaches it where the list opens
        start, end, opener = around[0], around[0] + 1, place.opener_around
    if opener is not None and cue.end <= opener and cue.end <= start:
        # "No prior treatment for breast cancer, including radiotherapy, endocrine therapy,
        # chemotherapy": the items of a list stand where the list opens
        start, end = opener, opener + 1
    if start >= cue.end:
        if cue.direction == BACKWARD:
            return False
        a, b = cue.end, start
    else:
        if cue.direction == FORWARD:
            return False
        a, b = end, cue.start
    if _words_between(lower, a, b) > cue.scope:
        return False
    if terminators is None:  # the caller knows the sentence has no terminator
        return True
    stop = terminators.search(lower, a, b)
    # a terminator inside parentheses ends nothing outside them
    return stop is None or (
        "(" in lower
        and all(_bracket(lower, m.start()) for m in terminators.finditer(lower, a, b))
        and _bracket(lower, a) is None
    )


_LIST_OPENER = re.compile(
    r"(?:\bincluding(?:,? but not limited to)?|\bsuch as|\be\.g\.|\bi\.e\.|\bnamely"
    r"|\bthe following\b[^:;.]{0,40}:)[,:]?\s"
)
_PARENTHESES = re.compile(r"\([^()]*\)")
_LIST_ITEM_SPLIT = re.compile(r",|\band/or\b|\bor\b|\band\b")


def _may_list(lower: str) -> bool:
    """Does the sentence hold a word that opens a list? (most do not)"""
    return any(map(lower.__contains__, _LIST_WORDS))


_LIST_WORDS = ("including", "such as", "e.g.", "following", "i.e.", "namely")


def _list_opener(lower: str, at: int) -> int | None:
    """Where the list that holds the words at `at` opens ("including A, B, C"), or None."""
    if not _may_list(lower):
        return None
    window = lower[max(0, at - 160) : at]
    openers = list(_LIST_OPENER.finditer(window))
    if not openers:
        return None
    found = openers[-1]
    between = _PARENTHESES.sub("", window[found.end() :])  # "poly (ADP-ribose) polymerase"
    if re.search(r"[.;:()]", between):
        return None
    if not all(len(item.split()) <= 4 for item in _LIST_ITEM_SPLIT.split(between)):
        return None
    return max(0, at - 160) + found.start()


def modifiers(
    lower: str, targets: list[Target], book: CueBook | None = None
) -> list[frozenset[str]]:
    """For each mention, the set of cue categories that reach it."""
    book = book or cue_book()
    cues = find_cues(lower, book)
    if not cues:
        return [frozenset() for _ in targets]
    stops = book.terminators if book.may_stop(lower) else None
    paren = "(" in lower
    insides = [_inside(lower, c) if paren else None for c in cues]
    out = []
    lists = _may_list(lower)
    for t in targets:
        place = _Place.of(lower, t, paren, lists)
        breast = _after_breast(lower, t, cues)
        out.append(
            frozenset(
                [
                    c.category
                    for c, inside in zip(cues, insides, strict=True)
                    if _reaches(c, inside, t, place, lower, stops)
                    and not (breast and c.category == "other_tumour" and c.start >= t.end)
                ]
            )
        )
    return out


_BREAST_WORD = re.compile(r"\b(?:breast|tnbc|mbc)\b")


def _after_breast(lower: str, target: Target, cues: list[Cue]) -> bool:
    """Does the nearest tumour named before the mention say breast cancer ("Her2+ breast
    cancer refractory to prior herceptin, her2+ gastric cancer, ...", with no comma between)?
    Then a tumour named after it starts another item of the list and does not speak for it."""
    if "breast" not in lower and "tnbc" not in lower and "mbc" not in lower:
        return False
    before = [
        m.end() for m in _BREAST_WORD.finditer(lower, max(0, target.start - 80), target.start)
    ]
    if not before or re.search(r"[,;]", lower[before[-1] : target.start]):
        return False  # "breast cancer, platinum-refractory ovarian cancer": another item
    return not any(
        c.category == "other_tumour" and before[-1] <= c.start < target.start for c in cues
    )
