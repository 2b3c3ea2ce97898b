"""Registry text made inert for every output: CSV cells, Markdown, and the page.

Registry records are written by thousands of sponsors; a title or a contact can hold anything.
Every CSV the project writes goes through `safe_cell` (formula starts neutralised, cells capped
at a spreadsheet's limit with a marked cut), every Markdown through `md_escape` (no HTML, no
links, no emphasis from the source), and all of them drop the characters that make text lie
about itself: NUL and other control characters, and right-to-left overrides (U+202E …) that
make a line read backwards.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

LIST_SEP = "; "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CELL_LIMIT = 32_767  # the most characters a spreadsheet cell holds (Excel, LibreOffice)
CUT_MARK = "… [cut: the full text is in the JSON export]"

# C0 controls except tab, newline and carriage return; DEL; bidi embeddings, overrides and
# isolates. (Left-to-right / right-to-left marks stay: real Arabic and Hebrew names use them.)
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """The text without NUL, control characters and direction overrides."""
    if text.isprintable():  # none of them is printable: most texts need no pass at all
        return text
    return _HIDDEN.sub("", text)


def cap(text: str, limit: int = CELL_LIMIT) -> str:
    """At most `limit` characters; a longer text is cut and says so."""
    if len(text) <= limit:
        return text
    return text[: limit - len(CUT_MARK)] + CUT_MARK


def safe_cell(value: Any) -> str:
    """Text a spreadsheet shows as text: formula-like starts get a leading apostrophe, hidden
    characters go, and a cell longer than a spreadsheet takes is cut with a mark."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int | float):  # a number is never a formula (-71.06 stays a number)
        return str(value)
    if isinstance(value, list | tuple):
        value = LIST_SEP.join(str(v) for v in value)
    text = clean(str(value))
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return cap(text)


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    out: TextIO,
    columns: Sequence[str],
    *,
    lineterminator: str = "\r\n",
) -> int:
    """The one CSV writer: every cell through `safe_cell`. Returns the number of rows."""
    import csv

    writer = csv.DictWriter(
        out, fieldnames=list(columns), extrasaction="ignore", lineterminator=lineterminator
    )
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: safe_cell(row.get(k, "")) for k in columns})
        n += 1
    return n


_MD_SPECIAL = r"\\`*_{}\[\]()#+!|>~"
# What GitHub-flavoured Markdown turns into links without brackets: www.x, scheme:, mail@x.
_AUTOLINK = re.compile(r"(?i)\b(?:www\.|(?:https?|ftp|mailto|javascript|data):)|@")


def md_escape(text: Any, extra: str = "") -> str:
    """Registry text as inert Markdown: shown as written, never run as HTML, links or markup.

    `extra`: more characters to escape for a particular renderer (the app adds `:` and `$`,
    which Streamlit reads as emoji, colours and formulas).
    """
    text = " ".join(clean(str(text)).split())
    text = html.escape(text, quote=False)
    text = re.sub(f"([{_MD_SPECIAL}{re.escape(extra)}])", r"\\\1", text)
    return _AUTOLINK.sub(_defuse, text)


def _defuse(match: re.Match[str]) -> str:
    """A backslash before the last character (www., https:, @): shown as written, but no
    longer an autolink."""
    word = match.group(0)
    return word[:-1] + "\\" + word[-1]
