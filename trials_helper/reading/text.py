"""Text helpers every reader shares: plain dashes, lower-cased pattern matching, cheap gates.

Registry text is mostly ASCII with a few typographic dashes and signs; patterns are run on
lower-cased text (cached) because Python's case-insensitive matching is slow on long
alternations, and cheap substring gates let most criteria skip the engine entirely.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from re import _constants as _sre  # type: ignore[attr-defined]
from re._parser import parse as _sre_parse  # type: ignore[import-not-found]
from typing import Any

_DASHES = str.maketrans(
    {
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "≥": ">=",
        "≤": "<=",
        "⁺": "+",
        "’": "'",
        "\u00a0": " ",
    }
)


_DASH_RE = re.compile("[" + "".join(chr(c) for c in _DASHES) + "]")


def _plain(text: str) -> str:
    """text.translate(_DASHES), but only where those characters are (translate walks all)."""
    if text.isascii():
        return text
    return _DASH_RE.sub(lambda m: _DASHES[ord(m.group())], text)


def norm(text: str) -> str:
    """Plain dashes and comparison signs, no markdown escapes, single spaces."""
    text = _plain(text)
    if "\\" in text:
        text = text.replace("\\", "")
    return " ".join(text.split())


def _lower_pattern(pattern: str) -> str:
    """Lower-case a pattern's literals but not its escapes (\\S, \\W, \\D, \\B keep their case)."""
    out, escaped = [], False
    for ch in pattern:
        out.append(ch if escaped else ch.lower())
        escaped = ch == "\\" and not escaped
    return "".join(out)


def _required(items: Any) -> frozenset[str] | None:
    """Literal strings one of which every match of a parsed pattern must contain, or None.

    Walks the parse tree: a run of literals is required (an optional single character in it,
    as in "t-?dxd", gives each spelling: "t-dxd", "tdxd"); so is one of each branch's required
    sets; parts that may repeat zero times, assertions and character classes say nothing. Of
    the candidates, the set whose shortest string is longest (most selective) wins.
    """
    best: frozenset[str] | None = None

    def consider(found: frozenset[str] | None) -> None:
        nonlocal best
        if found and (best is None or min(map(len, found)) > min(map(len, best))):
            best = found

    runs = [""]  # the spellings of the current run of literals
    for op, av in [*items, (None, None)]:
        if op is _sre.LITERAL:
            runs = [r + chr(av) for r in runs]
            continue
        if _optional_char(op, av) and len(runs) < 8:
            ch = chr(av[2][0][1])
            runs = [*(r + ch for r in runs), *runs]
            continue
        if all(runs):
            consider(frozenset(runs))
        runs = [""]
        if op is _sre.SUBPATTERN:
            consider(_required(av[3]))
        elif op is _sre.BRANCH:
            alternatives = [_required(a) for a in av[1]]
            if all(alternatives):
                consider(frozenset().union(*(a for a in alternatives if a)))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            consider(_required(av[2]))
    return best


def _optional_char(op: Any, av: Any) -> bool:
    """Is this parsed item one optional literal character ("-?")?"""
    return (
        op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT)
        and av[0] == 0
        and av[1] == 1
        and len(av[2]) == 1
        and av[2][0][0] is _sre.LITERAL
    )


_ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)


def _class_members(items: Any, digits: bool) -> set[str] | None:
    """The characters of a parsed character class: literals, small ranges, and \\d when
    `digits` (a lookahead on ten digits is not worth it; a lookup table by digit is)."""
    out: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            out.add(chr(av))
        elif op is _sre.RANGE and av[1] - av[0] < 128:
            out.update(map(chr, range(av[0], av[1] + 1)))
        elif digits and op is _sre.CATEGORY and av is _sre.CATEGORY_DIGIT:
            out.update("0123456789")
        else:
            return None
    return out


def _first_of(items: Any, digits: bool = False) -> tuple[set[str], bool] | None:
    """(characters a match can start with, can it be empty) for a parsed sequence; None if any
    character could start it."""
    chars: set[str] = set()
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        if op is _sre.LITERAL:
            return chars | {chr(av)}, False
        if op is _sre.IN:
            members = _class_members(av, digits)
            if members is None:
                return None
            return chars | members, False
        if op is _sre.SUBPATTERN:
            got = _first_of(av[3], digits)
        elif op is _sre.BRANCH:
            alternatives = [_first_of(a, digits) for a in av[1]]
            known = [a for a in alternatives if a is not None]
            if len(known) < len(alternatives):
                return None
            got = (set().union(*(a[0] for a in known)), any(a[1] for a in known))
        elif op in _REPEATS:
            inner = _first_of(av[2], digits)
            got = None if inner is None else (inner[0], inner[1] or av[0] == 0)
        else:
            return None
        if got is None:
            return None
        chars |= got[0]
        if not got[1]:
            return chars, False
    return chars, True


def _literal_start(items: Any) -> bool:
    """Does the engine already know where matches can start (a literal or literal branches)?"""
    if not items:
        return False
    op, av = items[0]
    if op is _sre.LITERAL:
        return True
    if op is _sre.BRANCH:
        return all(a and a[0][0] is _sre.LITERAL for a in av[1])
    return False


def first_chars(pattern: str) -> str:
    """The characters every match starts with, when a lookahead on them would let the engine
    skip positions faster than it does on its own; "" otherwise."""
    parsed = _sre_parse(pattern)
    if _literal_start(parsed):
        return ""
    got = _first_of(parsed)
    if got is None or got[1] or not got[0]:
        return ""
    return "".join(sorted(got[0]))


def start_chars(pattern: str) -> frozenset[str] | None:
    """Every character a match can start with, or None when the pattern does not say."""
    got = _first_of(_sre_parse(pattern), digits=True)
    return None if got is None or got[1] or not got[0] else frozenset(got[0])


def required_literals(pattern: str, shortest: int = 2) -> tuple[str, ...]:
    """Strings one of which must occur in any text the pattern matches; () if none is sure
    (or one of them is shorter than `shortest`, too common to be worth a check)."""
    found = _required(_sre_parse(pattern))
    if not found or min(map(len, found)) < shortest:
        return ()
    return tuple(sorted(found))


_META = frozenset("()[]{}|?*+.^$")
_QUANTIFIER = frozenset("?*+{")


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth after it) for the characters of a pattern that shape it:
    escapes and the insides of character classes are skipped."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            yield i, ch, depth
        elif ch == "|":
            yield i, ch, depth
        i += 1


def _top_level(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern ("a|(b|c)" gives "a" and "(b|c)")."""
    parts, start = [], 0
    for i, ch, depth in _structure(pattern):
        if ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return [*parts, pattern[start:]]


def _plain_start(pattern: str) -> tuple[str, str]:
    """(the plain characters a pattern starts with, the rest of it as a pattern)."""
    if len(_top_level(pattern)) > 1:
        return "", pattern
    chars: list[str] = []
    ends: list[int] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern) and not pattern[i + 1].isalnum():
                chars.append(pattern[i + 1])
                i += 2
                ends.append(i)
                continue
            break
        if ch in _META:
            break
        chars.append(ch)
        i += 1
        ends.append(i)
    if chars and i < len(pattern) and pattern[i] in _QUANTIFIER:
        chars.pop()  # "tablets?": the "s" belongs to the "?"
        ends.pop()
    return ("".join(chars), pattern[ends[-1] :]) if chars else ("", pattern)


def _group_end(pattern: str, start: int) -> int:
    """The index of the ")" that closes the group opening at `start`, or -1."""
    return next((i for i, ch, depth in _structure(pattern, start) if ch == ")" and depth == 0), -1)


_LEADING_GROUP = re.compile(r"\((?:\?:|\?-i:)?")


def expand_leading(pattern: str, limit: int = 64) -> list[str]:
    """The pattern as alternatives that start with plain characters where a leading group allows
    it: "(?:at least|over) (?:\\d+)" gives "at least (?:\\d+)" and "over (?:\\d+)". In the
    order the engine would try them, so an alternation of the result matches what the pattern
    matches, first alternative first."""
    m = _LEADING_GROUP.match(pattern)
    if m is None or pattern.startswith(("(?=", "(?!", "(?<", "(?P")):
        return [pattern]
    end = _group_end(pattern, 0)
    rest = pattern[end + 1 :] if end > 0 else ""
    if end < 0 or rest[:1] in ("*", "+", "{") or rest[:2] == "??":
        return [pattern]
    optional = rest[:1] == "?"
    rest = rest[1:] if optional else rest
    heads = [alt + rest for alt in _top_level(pattern[m.end() : end])]
    heads += [rest] if optional else []
    out: list[str] = []
    for head in heads:
        out += expand_leading(head, limit) if len(out) + len(heads) < limit else [head]
    return out if len(out) <= limit else [pattern]


def factor(patterns: Sequence[str]) -> str:
    """One alternation of the patterns, in their order, with shared plain starts written once.

    Python's engine tries the alternatives of a long list one by one at every position; written
    as a tree ("pa(?:clitaxel|lbociclib)") it rejects a position after a few characters. Patterns
    with the same first character are tried where the first of them stood; patterns that start
    with a group or class keep their own place.
    """
    return _factor([_plain_start(p) for p in patterns])


def whole_words_literal_first(patterns: Sequence[str], word: str = "A-Za-z0-9") -> str:
    """The patterns as whole words, each branch starting with its plain first character and
    checking "no word character before" only after it. Worth it when the first characters are
    rare in the text (upper-case abbreviations): the engine then skips between them in C.
    Every pattern must start with a plain character."""
    branches = []
    for branch in _top_level(factor(patterns)):
        n = 2 if branch.startswith("\\") else 1
        branches.append(f"{branch[:n]}(?<![{word}].){branch[n:]}")
    return "(?:" + "|".join(branches) + f")(?![{word}])"


def _factor(items: list[tuple[str, str]]) -> str:
    order: list[str | tuple[str, str]] = []
    groups: dict[str, list[tuple[str, str]]] = {}
    for prefix, rest in items:
        if not prefix:
            order.append((prefix, rest))
        elif prefix[0] in groups:
            groups[prefix[0]].append((prefix, rest))
        else:
            groups[prefix[0]] = [(prefix, rest)]
            order.append(prefix[0])
    out = []
    for key in order:
        if isinstance(key, tuple):
            out.append(_grouped(key[1]))
            continue
        members = groups[key]
        common = members[0][0]
        for prefix, _ in members[1:]:
            while not prefix.startswith(common):
                common = common[:-1]
        if len(members) == 1:
            out.append(re.escape(common) + _grouped(members[0][1]))
        else:
            inner = _factor([(prefix[len(common) :], rest) for prefix, rest in members])
            out.append(f"{re.escape(common)}(?:{inner})")
    return "|".join(out)


def _grouped(rest: str) -> str:
    return f"(?:{rest})" if len(_top_level(rest)) > 1 else rest


class LowerPattern:
    """A case-insensitive pattern run as a case-sensitive one on lower-cased text.

    Python's case-insensitive matching is slow on long alternations; lower-casing the text once
    (cached) and matching literally is several times faster. Before running the engine, a text
    must contain one of the literals every match needs (plain substring checks, which are much
    cheaper than trying each alternative at each position). Positions match the original text
    for the ASCII text registries use.
    """

    __slots__ = ("_has", "_re", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        lowered = _lower_pattern(pattern)
        self._has = required_literals(lowered)
        self._re = skipping(lowered)

    def _possible(self, lower: str) -> bool:
        return not self._has or any(map(lower.__contains__, self._has))

    def search(self, text: str):
        lower = _lower(text)
        return self._re.search(lower) if self._possible(lower) else None

    def finditer(self, text: str):
        lower = _lower(text)
        return self._re.finditer(lower) if self._possible(lower) else iter(())


_QUANTIFIERS = ("?", "*", "+", "{")


def _literal_first(pattern: str) -> str | None:
    """The pattern with every alternative starting with a plain character, or None.

    Alternatives that start with a group are spelled out ("(no|without) x" gives "no x" and
    "without x"), and "\\bword" becomes "w(?<!\\w.)ord": the same test of the character before
    the word, made after its first letter. When every alternative starts with a plain
    character, the engine jumps from one of those characters to the next in C; a lookahead on
    them, the other way, is a call of the matcher at each position."""
    if pattern.startswith(("^", "(?")) and not pattern.startswith("(?:"):
        return None
    if "(?P" in pattern or re.search(r"\\[1-9]", pattern):
        return None  # spelling groups out would drop or repeat what these refer to
    out: list[str] = []
    for boundary, head in (h for alt in _top_level(pattern) for h in _heads(alt)):
        if not _plain_start(head)[0] or head[:1] in ("(", "["):
            return None
        if boundary:
            first = head[:1]
            if not (first.isascii() and first.isalnum()) or head[1:2] in _QUANTIFIERS:
                return None  # "\\b" before a non-word character tests the other way
            head = f"{first}(?<!\\w.){head[1:]}"
        out.append(head)
    return "(?:" + "|".join(out) + ")" if 0 < len(out) <= 256 else None


def _heads(alt: str) -> Iterator[tuple[bool, str]]:
    """(starts with "\\b", the rest) for each alternative a leading group spells out ("\\b" may
    stand before the group or inside it: "(?:\\bsuch as|\\be\\.g\\.)")."""
    boundary = alt.startswith("\\b")
    for head in expand_leading(alt[2:] if boundary else alt):
        if head.startswith("\\b") and not boundary:
            yield from ((True, h) for h in expand_leading(head[2:]))
        else:
            yield boundary, head


def skipping(body: str) -> re.Pattern[str]:
    """A pattern the engine can skip through to where a match may start: written with each
    alternative starting with a plain character where it can be, else first checking the
    characters a match can start with."""
    literal = _literal_first(body)
    if literal is not None:
        return re.compile(literal)
    first = first_chars(body)
    return re.compile(rf"(?=[{re.escape(first)}])(?:{body})" if first else body)


def rx(pattern: str) -> LowerPattern:
    """The short name the pattern tables below use."""
    return LowerPattern(pattern)


@lru_cache(maxsize=256)
def _rx(pattern: str) -> LowerPattern:
    """rx() for patterns written inline, compiled once."""
    return LowerPattern(pattern)


# "not amenable to curative resection", "not a candidate for": a statement of its own (often a
# line the registry ran into the next one), not a negation of what follows it
_NEG_BEFORE = rx(
    r"\b(no|not(?!\s+(?:be\s+)?(?:amenable|suitable|eligible|candidates?|a\s+candidate|"
    r"appropriate|curable|resectable|operable)\b)|without|absence of|free of|never|none|"
    r"negative for|non)\b[^.;:]{0,40}$"
)


@lru_cache(maxsize=65536)
def _lower(text: str) -> str:
    return text.lower()


class Gate:
    """A cheap pre-check: can this text concern a facet at all?

    True when the lower-cased text contains one of `parts` anywhere or one of `words` as a
    whole word. Every gate is answered by one shared scan of each text (`_mask_of`), made the
    first time any gate asks about it: the facets ask up to nine gates about each criterion, and
    one pass for all of them costs about a third of nine passes. A text that fails the gate
    cannot match the facet's patterns, so most criteria skip them entirely.
    """

    __slots__ = ("bit", "parts", "words")

    def __init__(self, parts: Sequence[str], words: Sequence[str] = ()) -> None:
        self.parts, self.words = tuple(parts), tuple(words)
        self.bit = _GATES.add(self)

    def __call__(self, text: str) -> bool:
        return bool(_mask_of(text, _GATES.current or _GATES.tables()) & self.bit)

    def select(self, texts: Iterable[str]) -> list[str]:
        """The texts that pass, in order (one call for a study's criteria instead of one per
        criterion: the facets ask 150,000 times per 1,000 studies). Most texts were scanned
        for an earlier gate, so a plain dictionary lookup answers."""
        bit, tables = self.bit, _GATES.current or _GATES.tables()
        masks = tables.masks
        try:
            return [text for text in texts if masks[text] & bit]
        except KeyError:  # a text not scanned yet
            return [text for text in texts if _mask_of(text, tables) & bit]


class _Tables:
    """The automata for the gates there were when they were built, and the masks made with
    them (a gate made later brings new tables, so no mask made without it answers it)."""

    __slots__ = ("masks", "parts", "spaced", "word_re", "words")

    def __init__(
        self, parts: Any, spaced: Any, words: dict[str, int], word_re: re.Pattern[str] | None
    ) -> None:
        self.parts = parts  # ahocorasick.Automaton of every part -> bits, or None
        self.spaced = spaced  # ahocorasick.Automaton of " word " -> bits (ASCII words), or None
        self.words = words  # word -> bits
        self.word_re = word_re  # the words, for text outside ASCII
        self.masks: dict[str, int] = {}  # text -> its mask under these tables (see add)

    def add(self, text: str) -> int:
        """Scan a text and remember its mask (a plain dictionary, emptied when full: gates ask
        about each text several times, and a dictionary lookup costs a third of a cached
        call; reads and writes of one key are atomic, so threads may share it)."""
        masks = self.masks
        if len(masks) >= _MASKS_KEPT:
            masks.clear()
        found = masks[text] = self.mask(_lower(text))
        return found

    def mask(self, lower: str) -> int:
        found = 0
        if self.parts is not None:
            for _end, bits in self.parts.iter(lower):
                found |= bits
        if self.word_re is None:
            return found
        if lower.isascii():
            if self.spaced is not None:
                # ASCII word characters are [A-Za-z0-9_]: every other one becomes a space
                spaced = f" {lower.encode().translate(_WORD_BYTES).decode()} "
                for _end, bits in self.spaced.iter(spaced):
                    found |= bits
        else:  # \w is wider than ASCII: the pattern decides
            for m in self.word_re.finditer(lower):
                found |= self.words[m.group()]
        return found


class _GateScan:
    """Every gate's parts in one Aho-Corasick automaton (one C pass over a text finds them all,
    overlapping ones too), and every gate's words in another, run over the text with each
    character that is not a word character made a space (so " er " stands only for a whole
    word). Each part or word maps to the bits of the gates that name it.

    A gate made later (the lexicon's, on first use) drops the tables, and the next scan builds
    them again under a lock; masks are cached per tables, so none made without a gate is ever
    used to answer it, whichever thread asks."""

    def __init__(self) -> None:
        self.gates: list[Gate] = []
        self._lock = threading.Lock()
        self.current: _Tables | None = None  # None until built, and again after a gate is made

    def add(self, gate: Gate) -> int:
        with self._lock:
            self.gates.append(gate)
            self.current = None
            return 1 << (len(self.gates) - 1)

    def tables(self) -> _Tables:
        tables = self.current
        if tables is None:
            with self._lock:
                if self.current is None:
                    self.current = self._build()
                tables = self.current
        return tables

    def _build(self) -> _Tables:
        import ahocorasick  # C extension; imported where first needed

        parts: dict[str, int] = {}
        words: dict[str, int] = {}
        for gate in self.gates:
            for part in gate.parts:
                parts[part] = parts.get(part, 0) | gate.bit
            for word in gate.words:
                words[word] = words.get(word, 0) | gate.bit
        automaton = ahocorasick.Automaton()
        for part, bits in parts.items():
            automaton.add_word(part, bits)
        if parts:
            automaton.make_automaton()
        spaced = ahocorasick.Automaton()
        for word, bits in words.items():
            if not re.fullmatch(r"\w+", word):
                raise ValueError(f"gate word {word!r}: words are letters and digits only")
            if word.isascii():  # another word cannot stand in ASCII text
                spaced.add_word(f" {word} ", bits)
        if len(spaced):
            spaced.make_automaton()
        body = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
        return _Tables(
            automaton if parts else None,
            spaced if len(spaced) else None,
            words,
            re.compile(rf"(?<!\w)(?:{body})(?!\w)") if words else None,
        )


_WORD_BYTES = bytes(
    c if chr(c).isascii() and (chr(c).isalnum() or c == 95) else 32 for c in range(256)
)
_GATES = _GateScan()


_MASKS_KEPT = 65536


def _mask_of(text: str, tables: _Tables) -> int:
    """The bits of every gate the text passes (one scan, shared by all gates), kept per set of
    automata."""
    found = tables.masks.get(text)
    return tables.add(text) if found is None else found


def clear_masks() -> None:
    """Forget every scanned text (benchmarks read each text for real)."""
    if _GATES.current is not None:
        _GATES.current.masks.clear()


# Texts are norm()-ed (single spaces), so every split point starts with a literal space, which
# lets the engine jump from space to space: a new sentence after "." or ";", " / ", " o ".
_SENTENCE = re.compile(r" (?:(?<=[.;] )(?=[A-Z(])|/ |o (?=[a-z]))")


# Older registry records list prior therapy under labels: "Endocrine therapy: No prior ...".
_THERAPY_LABEL = re.compile(
    r"^(?:biologic|endocrine|hormonal|chemo|radio|immuno)\w*(?: therapy)?\s*:\s*(?=\S)", re.I
)


@lru_cache(maxsize=8192)
def sentences(text: str) -> tuple[str, ...]:
    """Sentences of one norm()-ed criterion (without a leading therapy-class label)."""
    return tuple(_THERAPY_LABEL.sub("", x) for x in _SENTENCE.split(text) if x.strip())
