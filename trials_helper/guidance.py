"""The guidance knowledge base: what the five source documents say, as checked, frozen data.

The content lives in `data/guidance.toml` (short paraphrases, each naming its source file). This
module reads it with `tomllib`, checks every entry and turns it into frozen dataclasses. Any
problem raises `GuidanceError` with the file name and the entry, e.g.
"guidance.toml: categories.cdk46: missing 'sources'".

The file names stay in the data; people see each document by its title and kind (the
`[documents]` table), e.g. '"Treatment of Metastatic Breast Cancer", NCI summary'.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import GuidanceError

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "guidance.toml"

# The `categories` column of shared/spec/trial-facets.md, in its order (the app lists them so).
CATEGORY_KEYS: tuple[str, ...] = (
    "endocrine",
    "cdk46",
    "pi3k_akt_mtor",
    "her2_directed",
    "parp",
    "adc",
    "immunotherapy",
    "chemotherapy",
    "other_targeted",
    "radiation",
    "surgery",
    "bone_modifying",
    "supportive",
    "other",
)
FALLBACK_CATEGORY = "other"

# Subtype / fact keys the file may use; the file holds only those the documents support.
SUBTYPE_KEYS: tuple[str, ...] = (
    "hr_positive",
    "her2_positive",
    "her2_low",
    "triple_negative",
    "brca",
    "pdl1",
    "menopause",
    "bone",
    "brain",
    "liver",
    "lung",
    "treatment_history",
)

TOPICS: frozenset[str] = frozenset(
    {
        "general",
        "trials",
        "side_effects",
        "goals",
        "hormone",
        "her2",
        "brain",
        "bone",
        "liver",
        "lung",
        "chemotherapy",
        "brca",
        "triple_negative",
        "cost",
        "support",
    }
)

POINT_LISTS: tuple[str, ...] = (
    "goals",
    "trials_why",
    "trials_pros",
    "trials_cons",
    "trials_when",
    "support",
)
TOP_LEVEL: tuple[str, ...] = (
    "documents",
    *POINT_LISTS,
    "subtypes",
    "categories",
    "questions",
    "disclaimer",
)

# Source documents are named like "001_57e3b28e0b2d85f5.txt".
SOURCE_NAME = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")


@dataclass(frozen=True)
class Document:
    """One source document: its file in ../shared/seeds, its title (the words at its top) and
    what kind of document it is, so a person can recognise it."""

    file: str
    title: str
    kind: str

    @property
    def label(self) -> str:
        return f"\u201c{self.title}\u201d, {self.kind}"


@dataclass(frozen=True)
class Point:
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CategoryGuidance:
    key: str
    title: str
    description: str
    usually_for: str
    aims: str
    side_effects: tuple[str, ...]
    pros: tuple[Point, ...]
    cons: tuple[Point, ...]
    examples: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class SubtypeGuidance:
    key: str
    title: str
    summary: Point
    options: tuple[Point, ...]


@dataclass(frozen=True)
class Question:
    text: str
    topics: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Guidance:
    documents: dict[str, Document]
    goals: tuple[Point, ...]
    subtypes: dict[str, SubtypeGuidance]
    categories: dict[str, CategoryGuidance]
    trials_why: tuple[Point, ...]
    trials_pros: tuple[Point, ...]
    trials_cons: tuple[Point, ...]
    trials_when: tuple[Point, ...]
    questions: tuple[Question, ...]
    support: tuple[Point, ...]
    disclaimer: Point

    def category(self, key: str) -> CategoryGuidance:
        """Guidance for one treatment category; an unknown key gets the 'other' entry."""
        found = self.categories.get(key)
        return found if found is not None else self.categories[FALLBACK_CATEGORY]

    def questions_for(self, *topics: str) -> list[Question]:
        """Questions tagged with any of `topics` (plus 'general'), in file order, each once."""
        wanted = {"general", *topics}
        seen: set[str] = set()
        picked: list[Question] = []
        for q in self.questions:
            if q.text in seen or not wanted.intersection(q.topics):
                continue
            seen.add(q.text)
            picked.append(q)
        return picked

    def source_label(self, filename: str) -> str:
        """How a person sees a source: its title and kind (the file name if not listed)."""
        doc = self.documents.get(filename)
        return doc.label if doc is not None else filename

    def cite(self, sources: tuple[str, ...] | list[str]) -> str:
        """Several sources, each by title and kind, joined by '; '."""
        return "; ".join(self.source_label(s) for s in sources)

    def from_(self, sources: tuple[str, ...] | list[str]) -> str:
        """What follows a line of guidance: 'from "Title", kind; "Title", kind'."""
        return "from " + self.cite(sources)

    def all_sources(self) -> set[str]:
        """Every source file named anywhere in the guidance."""
        points: list[Point] = [*self.goals, self.disclaimer, *self.support]
        points += [*self.trials_why, *self.trials_pros, *self.trials_cons, *self.trials_when]
        found: set[str] = set()
        for s in self.subtypes.values():
            points += [s.summary, *s.options]
        for c in self.categories.values():
            points += [*c.pros, *c.cons]
            found.update(c.sources)
        for q in self.questions:
            found.update(q.sources)
        for p in points:
            found.update(p.sources)
        return found


def source_label(filename: str) -> str:
    """How a source is shown next to a point, by the packaged guidance's documents table:
    '"Treatment of Metastatic Breast Cancer", NCI summary'."""
    return load_guidance().source_label(filename)


# ---------------------------------------------------------------- checking


class _Checker:
    """Reads one parsed file; every failure names the file and the entry."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, where: str, problem: str) -> GuidanceError:
        return GuidanceError(f"{self.filename}: {where}: {problem}")

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a table, got {type(value).__name__}")
        return value

    def keys(self, table: Mapping[str, Any], where: str, required: tuple[str, ...]) -> None:
        for key in required:
            if key not in table:
                raise self.fail(where, f"missing {key!r}")
        extra = sorted(set(table) - set(required))
        if extra:
            raise self.fail(where, f"unknown key {extra[0]!r}")

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "expected non-empty text")
        return " ".join(value.split())

    def strings(self, value: Any, where: str, *, allow_empty: bool = True) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, "expected a list of text")
        if not value and not allow_empty:
            raise self.fail(where, "must not be empty")
        return tuple(self.text(v, f"{where}[{i}]") for i, v in enumerate(value))

    def sources(self, value: Any, where: str) -> tuple[str, ...]:
        names = self.strings(value, where, allow_empty=False)
        for i, name in enumerate(names):
            if not SOURCE_NAME.match(name):
                raise self.fail(
                    f"{where}[{i}]", f"{name!r} is not a source file name like '001_<hex>.txt'"
                )
        if len(set(names)) != len(names):
            raise self.fail(where, "a source is named twice")
        return names

    def point(self, value: Any, where: str) -> Point:
        t = self.table(value, where)
        self.keys(t, where, ("text", "sources"))
        return Point(
            text=self.text(t["text"], f"{where}.text"),
            sources=self.sources(t["sources"], f"{where}.sources"),
        )

    def points(self, value: Any, where: str) -> tuple[Point, ...]:
        if not isinstance(value, list):
            raise self.fail(where, "expected a list of points ([[...]] tables)")
        if not value:
            raise self.fail(where, "must not be empty")
        return tuple(self.point(v, f"{where}[{i}]") for i, v in enumerate(value))

    def category(self, key: str, value: Any) -> CategoryGuidance:
        where = f"categories.{key}"
        t = self.table(value, where)
        self.keys(
            t,
            where,
            (
                "title",
                "description",
                "usually_for",
                "aims",
                "side_effects",
                "pros",
                "cons",
                "examples",
                "sources",
            ),
        )
        return CategoryGuidance(
            key=key,
            title=self.text(t["title"], f"{where}.title"),
            description=self.text(t["description"], f"{where}.description"),
            usually_for=self.text(t["usually_for"], f"{where}.usually_for"),
            aims=self.text(t["aims"], f"{where}.aims"),
            side_effects=self.strings(t["side_effects"], f"{where}.side_effects"),
            pros=self.points(t["pros"], f"{where}.pros"),
            cons=self.points(t["cons"], f"{where}.cons"),
            examples=self.strings(t["examples"], f"{where}.examples"),
            sources=self.sources(t["sources"], f"{where}.sources"),
        )

    def categories(self, value: Any) -> dict[str, CategoryGuidance]:
        t = self.table(value, "categories")
        for key in t:
            if key not in CATEGORY_KEYS:
                raise self.fail(f"categories.{key}", "unknown category (see trial-facets.md)")
        for key in CATEGORY_KEYS:
            if key not in t:
                raise self.fail(f"categories.{key}", "missing category")
        return {key: self.category(key, t[key]) for key in CATEGORY_KEYS}

    def subtypes(self, value: Any) -> dict[str, SubtypeGuidance]:
        t = self.table(value, "subtypes")
        out: dict[str, SubtypeGuidance] = {}
        for key, raw in t.items():
            where = f"subtypes.{key}"
            if key not in SUBTYPE_KEYS:
                raise self.fail(where, f"unknown subtype; use one of {', '.join(SUBTYPE_KEYS)}")
            s = self.table(raw, where)
            self.keys(s, where, ("title", "summary", "options"))
            out[key] = SubtypeGuidance(
                key=key,
                title=self.text(s["title"], f"{where}.title"),
                summary=self.point(s["summary"], f"{where}.summary"),
                options=self.points(s["options"], f"{where}.options"),
            )
        return out

    def questions(self, value: Any) -> tuple[Question, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("questions", "expected a non-empty list of [[questions]] tables")
        out: list[Question] = []
        seen: set[str] = set()
        for i, raw in enumerate(value):
            where = f"questions[{i}]"
            t = self.table(raw, where)
            self.keys(t, where, ("text", "topics", "sources"))
            text = self.text(t["text"], f"{where}.text")
            if text in seen:
                raise self.fail(where, "the same question appears twice")
            seen.add(text)
            topics = self.strings(t["topics"], f"{where}.topics", allow_empty=False)
            for topic in topics:
                if topic not in TOPICS:
                    raise self.fail(
                        f"{where}.topics",
                        f"unknown topic {topic!r}; use {', '.join(sorted(TOPICS))}",
                    )
            out.append(Question(text, topics, self.sources(t["sources"], f"{where}.sources")))
        return tuple(out)

    def documents(self, value: Any) -> dict[str, Document]:
        t = self.table(value, "documents")
        out: dict[str, Document] = {}
        for name, raw in t.items():
            where = f"documents.{name}"
            if not SOURCE_NAME.match(name):
                raise self.fail(where, f"{name!r} is not a source file name like '001_<hex>.txt'")
            d = self.table(raw, where)
            self.keys(d, where, ("title", "kind"))
            out[name] = Document(
                name, self.text(d["title"], f"{where}.title"), self.text(d["kind"], f"{where}.kind")
            )
        return out

    def guidance(self, data: Mapping[str, Any]) -> Guidance:
        self.keys(data, "top level", TOP_LEVEL)
        lists = {name: self.points(data[name], name) for name in POINT_LISTS}
        documents = self.documents(data["documents"])
        found = Guidance(
            documents=documents,
            subtypes=self.subtypes(data["subtypes"]),
            categories=self.categories(data["categories"]),
            questions=self.questions(data["questions"]),
            disclaimer=self.point(data["disclaimer"], "disclaimer"),
            **lists,
        )
        missing = sorted(found.all_sources() - set(documents))
        if missing:
            raise self.fail("documents", f"{missing[0]!r} is cited but has no title and kind")
        return found


def parse_guidance(text: str, filename: str = "guidance.toml") -> Guidance:
    """Check and convert the text of a guidance file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GuidanceError(f"{filename}: not valid TOML: {exc}") from exc
    return _Checker(filename).guidance(data)


def _read(path: Path) -> Guidance:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GuidanceError(f"{path.name}: cannot read the guidance file ({exc})") from exc
    return parse_guidance(text, path.name)


@lru_cache(maxsize=1)
def _load_default() -> Guidance:
    return _read(DEFAULT_PATH)


def load_guidance(path: Path | None = None) -> Guidance:
    """The packaged guidance (read once, then cached), or the file at `path` (read each time)."""
    if path is None:
        return _load_default()
    return _read(Path(path))
