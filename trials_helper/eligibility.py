"""Split registry eligibility text into single criteria, each knowing its side.

Registry text comes in many shapes: "Inclusion Criteria:" / "KEY EXCLUSION CRITERIA" /
"DISEASE CHARACTERISTICS:" headings, `*`, `-`, `•`, numbered or lettered bullets, nested
sub-points under a stem ending in ":", and lines wrapped mid-sentence. The facet rules need each
criterion as one piece of text with its side (inclusion / exclusion), so a mention of
"HER2-positive" means the opposite under exclusion.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

INCLUSION, EXCLUSION, UNKNOWN_SIDE = "inclusion", "exclusion", "unknown"

_HEADING = re.compile(
    r"^\W*(?:(?:key|main|major|general|additional|other|specific|cohort\s*\w*|part\s*\w*|"
    r"arm\s*\w*|phase\s*\w+|all\s+patients?|patients?|subject|participant)s?\s*[-:,]?\s*)*"
    r"(?P<side>inclusion|exclusion|eligibility|ineligibility)s?(?:\s+(?:criteria|criterion))?"
    r"\b[^.;]{0,80}?:?\s*$",
    re.I,
)
_OLD_STYLE = re.compile(
    r"^\W*(disease characteristics|patient characteristics|prior concurrent therapy|"
    r"biomarker characteristics)\s*:?\s*$",
    re.I,
)
_EXCLUSION_LEAD = re.compile(
    r"^\W*(patients?|participants?|subjects?|women|individuals?)?\s*(will|shall)?\s*"
    r"(be|are)?\s*(excluded|ineligible|not (be )?eligible)\b.{0,60}:\s*$",
    re.I,
)
_BULLET = re.compile(
    r"^(\s*)(?:[*\-•·▪◦●○–—]|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)]|"
    r"\(?[ivxIVX]{1,4}[.)])\s+"
)


_BULLET_CHARS = frozenset("*-•·▪◦●○–—(")


def _may_be_bullet(stripped: str) -> bool:
    """Can _BULLET match a line that starts (after its spaces) like this? A bullet is one of
    the bullet characters or "(", or a number, letter or numeral of up to four characters with
    "." or ")" after it; most lines start with a word ("Histologically", "Patients")."""
    return stripped[0] in _BULLET_CHARS or "." in stripped[1:6] or ")" in stripped[1:6]


class Criterion(NamedTuple):
    """One criterion and its side; a named tuple because long records have hundreds."""

    side: str  # "inclusion" | "exclusion" | "unknown"
    text: str
    heading: str = ""


# Every heading form below contains one of these; most lines contain none and skip the patterns.
_HEADING_WORDS = ("clusion", "exclu", "eligib", "characteristics", "prior concurrent")


def _heading_lines(text: str, lines: list[str]) -> set[int] | None:
    """The indices of the lines that hold a heading word, found in one pass over the whole
    lower-cased text (a heading is a line in ten; lower-casing and checking each line cost a
    fortieth of the whole reading). None when lower-casing changed the length (a character
    that lower-cases to two, as "İ" does), which would shift the positions."""
    lower = text.lower()
    if len(lower) != len(text):  # each character lower-cases to one or more
        return None
    ends = list(accumulate(len(line) + 1 for line in lines))  # where each line's "\n" stands
    found: set[int] = set()
    for word in _HEADING_WORDS:
        at = lower.find(word)
        while at >= 0:
            found.add(bisect_right(ends, at))
            at = lower.find(word, at + 1)
    return found


def _heading_side(line: str) -> str | None:
    if len(line) > 160 or not any(map(line.lower().__contains__, _HEADING_WORDS)):
        return None
    text = line.strip().strip("*_#").strip()
    if not text or len(text) > 120:
        return None
    m = _HEADING.match(text)
    if m and (text.rstrip().endswith(":") or "criteri" in text.lower() or len(text) < 40):
        side = m.group("side").lower()
        return EXCLUSION if side in ("exclusion", "ineligibility") else INCLUSION
    if _OLD_STYLE.match(text):
        return INCLUSION
    if _EXCLUSION_LEAD.match(text):
        return EXCLUSION
    return None


# The registry's text is Markdown: \[CTCAE\], \>= 18 and \* stand for [CTCAE], >= 18 and *.
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _clean(text: str) -> str:
    if "\\" in text:
        text = _MD_ESCAPE.sub(r"\1", text)
    if (
        text.isascii()
        and text.isprintable()  # in ASCII, no whitespace but " "
        and "  " not in text
        and not text.startswith(" ")
        and not text.endswith(" ")
    ):
        return text  # what the line below would give, without building it again
    return " ".join(text.split())


_SENTENCE_START = re.compile(r"[A-Z][a-z]+\b")  # "Patients", not "FISH" or "HER2"
_UNFINISHED_END = (",", "(", "/", "&", ":", "-")
_UNFINISHED_WORD = frozenset(
    ["and", "or", "of", "by", "with", "the", "to", "for", "in", "a", "an", "as", "than", "at"]
)


def _starts_plain_criterion(
    current: list[str], plain_indent: int | None, indent: int, body: str
) -> bool:
    """Without bullets, a line is a new criterion when the one before is a finished sentence and
    this one starts like a sentence at the same (or a lesser) indent; a wrapped line (deeper
    indent, lower-case start, or an unfinished line before it) continues the criterion."""
    if plain_indent is None or indent > plain_indent or not body[:1].isupper():
        return False
    last = current[-1].rstrip()
    if last.endswith((".", ";")):
        return True
    # registry lists often drop the final full stop: "Has HER2+ disease" / "Pregnant patients"
    if last.endswith(_UNFINISHED_END) or not _SENTENCE_START.match(body):
        return False
    return last.rsplit(None, 1)[-1].lower() not in _UNFINISHED_WORD


@lru_cache(maxsize=4096)
def _split_cached(text: str) -> tuple[tuple[str, str, str], ...]:
    """(side, text, heading) per criterion; plain tuples, as the facet reader reads many."""
    side = UNKNOWN_SIDE
    heading = ""
    out: list[tuple[str, str, str]] = []  # side, text, heading
    stem: tuple[int, str] | None = None  # indent, stem text ending with ":"
    current: list[str] | None = None
    plain_indent: int | None = None  # indent of the current criterion when it has no bullet

    def flush() -> None:
        nonlocal current
        if current:
            joined = _clean(" ".join(current))
            if joined:
                out.append((side, joined, heading))
        current = None

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    heads = _heading_lines(text, lines)
    for i, raw in enumerate(lines):
        stripped = raw.strip()
        if not stripped:
            flush()
            continue
        new_side = _heading_side(raw) if heads is None or i in heads else None
        if new_side is not None:
            flush()
            side, heading, stem = new_side, stripped, None
            continue
        bullet = _BULLET.match(raw) if _may_be_bullet(stripped) else None
        indent = len(raw) - len(raw.lstrip(" \t"))
        body = raw[bullet.end() :] if bullet else stripped
        clean = body.strip() if bullet else stripped
        if (
            bullet
            or current is None
            or _starts_plain_criterion(current, plain_indent, indent, body)
        ):
            plain_indent = None if bullet else indent
            flush()
            if stem is not None and indent > stem[0]:
                current = [stem[1], clean]
            else:
                stem = None
                current = [clean]
            if clean.endswith(":") and len(body) < 300:
                stem = (indent, clean)
        else:
            current.append(clean)
    flush()
    return tuple(out)


def split_criteria(text: str | None) -> list[Criterion]:
    """Criteria in order; text before any heading has side "unknown" (read as inclusion)."""
    if not text:
        return []
    return list(map(Criterion._make, _split_cached(text)))


def split_sides(text: str | None) -> tuple[tuple[str, str, str], ...]:
    """split_criteria() as plain (side, text, heading) tuples, for readers of many records."""
    return _split_cached(text) if text else ()
