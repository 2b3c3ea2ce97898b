"""The guidance knowledge base: loading, checking, sourcing, and no copied sentences."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import SEEDS_DIR, SHARED
from trials_helper import guidance as guidance_module
from trials_helper.errors import GuidanceError
from trials_helper.guidance import (
    CATEGORY_KEYS,
    DEFAULT_PATH,
    CategoryGuidance,
    Guidance,
    Point,
    Question,
    SubtypeGuidance,
    load_guidance,
    source_label,
)

SPEC = SHARED / "spec" / "trial-facets.md"
GUIDANCE_PY = Path(guidance_module.__file__)
RUN = 8  # this many words in a row shared with a source document counts as copying


@pytest.fixture(scope="module")
def g() -> Guidance:
    return load_guidance()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _runs(words: list[str], n: int = RUN) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _seed_paths() -> list[Path]:
    return sorted(SEEDS_DIR.glob("*.txt"))


def _spec_categories() -> list[str]:
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "`categories`":
            return re.findall(r"`([a-z0-9_]+)`", cells[1])
    raise AssertionError("no `categories` row in trial-facets.md")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ---------------------------------------------------------------- loading


def test_packaged_file_loads_into_frozen_dataclasses(g):
    assert isinstance(g, Guidance)
    assert g.goals and all(isinstance(p, Point) for p in g.goals)
    assert all(isinstance(c, CategoryGuidance) for c in g.categories.values())
    assert all(isinstance(s, SubtypeGuidance) for s in g.subtypes.values())
    assert all(isinstance(q, Question) for q in g.questions)
    for points in (g.trials_why, g.trials_pros, g.trials_cons, g.trials_when, g.support):
        assert points and all(p.text and p.sources for p in points)
    assert "not medical advice" in g.disclaimer.text
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.disclaimer.text = "changed"  # type: ignore[misc]
    assert isinstance(g.goals, tuple) and isinstance(g.categories["endocrine"].pros, tuple)


def test_default_load_is_cached_and_explicit_path_round_trips(tmp_path, g):
    assert load_guidance() is g
    copy = tmp_path / "guidance.toml"
    copy.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    again = load_guidance(copy)
    assert again is not g
    assert again == g


def test_round_trip_matches_raw_toml(g):
    raw = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert [p.text for p in g.goals] == [" ".join(p["text"].split()) for p in raw["goals"]]
    assert set(g.subtypes) == set(raw["subtypes"])
    cdk = g.categories["cdk46"]
    assert cdk.key == "cdk46"
    assert cdk.examples == tuple(raw["categories"]["cdk46"]["examples"])
    assert cdk.sources == tuple(raw["categories"]["cdk46"]["sources"])
    assert len(g.questions) == len(raw["questions"])
    assert g.questions[0].topics == tuple(raw["questions"][0]["topics"])


def test_categories_iterate_in_spec_order(g):
    assert tuple(g.categories) == CATEGORY_KEYS
    assert list(g.categories) == _spec_categories()


def test_every_spec_category_has_guidance(g):
    spec = _spec_categories()
    assert len(spec) == 14
    for key in spec:
        cg = g.categories[key]
        assert cg.key == key
        assert cg.title and cg.description and cg.usually_for and cg.aims
        assert cg.pros and cg.cons and cg.sources


def test_category_lookup_falls_back_to_other(g):
    assert g.category("endocrine").title == "Hormone (endocrine) therapy"
    assert g.category("no_such_kind") is g.categories["other"]
    assert g.category("") is g.categories["other"]


def test_subtypes_use_known_keys_and_have_options(g):
    allowed = set(guidance_module.SUBTYPE_KEYS)
    assert set(g.subtypes) <= allowed
    for key in ("hr_positive", "her2_positive", "triple_negative", "brca", "bone", "brain"):
        assert g.subtypes[key].options, key
    for key, s in g.subtypes.items():
        assert s.key == key and s.title and s.summary.sources


def test_source_label_is_the_title_and_kind_not_the_file_name(g):
    label = source_label("003_d3c0812f968b3934.txt")
    assert label == "\u201cTreatment of Metastatic Breast Cancer\u201d, NCI summary"
    for name in g.all_sources():
        shown = g.source_label(name)
        assert ".txt" not in shown and "source:" not in shown.lower(), shown
    cited = g.from_(g.goals[0].sources)
    assert cited.startswith("from \u201c") and ".txt" not in cited


def _top_lines(path: Path, n: int = 3) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line][:n]


def test_every_document_is_named_by_the_words_at_its_top(g):
    """A person holding the page can find it: the title is (the start of) one of its first
    lines, and every document has a kind."""
    assert set(g.documents) == {p.name for p in _seed_paths()}
    for name, doc in g.documents.items():
        assert doc.file == name and doc.kind
        title = doc.title.removesuffix("\u2026")
        assert any(line.startswith(title) for line in _top_lines(SEEDS_DIR / name)), name
    titles = [d.title for d in g.documents.values()]
    assert len(set(titles)) == len(titles)


def test_a_cited_document_without_a_title_is_refused(tmp_path, text):
    broken = re.sub(r'(?ms)^\[documents\."004_66b58222854cfaa1\.txt"\]\n.*?(?=^\[|\Z)', "", text)
    msg = _error(tmp_path, broken)
    assert msg == (
        "guidance.toml: documents: '004_66b58222854cfaa1.txt' is cited but has no title and kind"
    )


# ---------------------------------------------------------------- sources and copying


def test_every_cited_source_exists(g):
    cited = g.all_sources()
    assert cited
    present = {p.name for p in _seed_paths()}
    assert cited <= present, sorted(cited - present)
    # and every source document is actually used
    assert present <= cited, sorted(present - cited)


def test_every_source_named_in_the_toml_file_exists():
    names = set(re.findall(r"\d{3}_[0-9a-f]{16}\.txt", DEFAULT_PATH.read_text(encoding="utf-8")))
    assert names
    for name in names:
        assert (SEEDS_DIR / name).is_file(), name


def test_no_copied_word_runs():
    seeds = _seed_paths()
    assert len(seeds) == 5
    seed_runs: dict[tuple[str, ...], str] = {}
    for path in seeds:
        for run in _runs(_words(path.read_text(encoding="utf-8"))):
            seed_runs.setdefault(run, path.name)
    copied = []
    titles = [d.title for d in load_guidance().documents.values()]
    for ours in (DEFAULT_PATH, GUIDANCE_PY):
        text = ours.read_text(encoding="utf-8")
        for title in titles:  # a document's title names it: quoted on purpose, not copied prose
            text = text.replace(title, "")
        for run in sorted(_runs(_words(text))):
            if run in seed_runs:
                copied.append(f"{ours.name}: '{' '.join(run)}' (in {seed_runs[run]})")
    assert not copied, "\n".join(copied)


def test_copy_check_catches_a_quoted_sentence(tmp_path):
    """The detector itself works: a sentence lifted from a seed is found."""
    seed = _seed_paths()[0].read_text(encoding="utf-8")
    seed_runs = _runs(_words(seed))
    quoted = " ".join(_words(seed)[10:20])
    assert _runs(_words(f'text = "{quoted}"')) & seed_runs


# ---------------------------------------------------------------- questions


def test_questions_for_picks_by_topic(g):
    general = g.questions_for()
    assert general and all("general" in q.topics for q in general)
    bone = g.questions_for("bone")
    assert any("bone" in q.topics for q in bone)
    assert all({"general", "bone"} & set(q.topics) for q in bone)
    assert not any("bone" in q.topics for q in g.questions_for("her2"))
    both = g.questions_for("bone", "her2", "bone", "general")
    texts = [q.text for q in both]
    assert len(texts) == len(set(texts))
    # stable order: the file's order
    order = {q.text: i for i, q in enumerate(g.questions)}
    assert [order[t] for t in texts] == sorted(order[t] for t in texts)
    assert g.questions_for("no_such_topic") == general


def test_question_topics_cover_the_sheet_topics(g):
    used = {t for q in g.questions for t in q.topics}
    for topic in ("general", "trials", "side_effects", "goals", "hormone", "her2", "brain"):
        assert topic in used, topic
    for topic in ("bone", "chemotherapy", "support"):
        assert topic in used, topic


# ---------------------------------------------------------------- validation messages


@pytest.fixture()
def text() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


def _load_text(tmp_path: Path, content: str) -> Guidance:
    path = tmp_path / "guidance.toml"
    path.write_text(content, encoding="utf-8")
    return load_guidance(path)


def _error(tmp_path: Path, content: str) -> str:
    with pytest.raises(GuidanceError) as info:
        _load_text(tmp_path, content)
    return str(info.value)


def test_missing_category_sources_names_the_entry(tmp_path, text):
    start = text.index("[categories.cdk46]")
    end = text.index("[categories.pi3k_akt_mtor]")
    block = text[start:end]
    broken_block = re.sub(r"(?m)^sources = .*\n", "", block)
    msg = _error(tmp_path, text[:start] + broken_block + text[end:])
    assert msg == "guidance.toml: categories.cdk46: missing 'sources'"


def test_bad_toml_syntax(tmp_path, text):
    msg = _error(tmp_path, text + "\n[broken\n")
    assert msg.startswith("guidance.toml: not valid TOML")


def test_missing_category(tmp_path, text):
    broken = text.replace("[categories.parp]", "[categories.parp_old]", 1)
    assert "categories.parp_old: unknown category" in _error(tmp_path, broken)


def test_unknown_subtype(tmp_path, text):
    broken = _replace(text, "[subtypes.brca]", "[subtypes.brac]")
    broken = broken.replace("[[subtypes.brca.options]]", "[[subtypes.brac.options]]")
    assert "guidance.toml: subtypes.brac: unknown subtype" in _error(tmp_path, broken)


def test_bad_source_name(tmp_path, text):
    broken = _replace(text, 'sources = ["004_66b58222854cfaa1.txt"]', 'sources = ["notes.txt"]')
    msg = _error(tmp_path, broken)
    assert "'notes.txt' is not a source file name" in msg
    assert msg.startswith("guidance.toml: ")


def test_empty_point_text(tmp_path, text):
    broken = _replace(
        text,
        'text = "Trials test new drugs, new combinations and new ways of giving treatment."',
        'text = "  "',
    )
    assert _error(tmp_path, broken) == "guidance.toml: trials_why[0].text: expected non-empty text"


def test_unknown_question_topic(tmp_path, text):
    broken = _replace(text, 'topics = ["bone"]', 'topics = ["bones"]')
    msg = _error(tmp_path, broken)
    assert re.match(r"guidance\.toml: questions\[\d+\]\.topics: unknown topic 'bones'", msg)


def test_missing_top_level_section(tmp_path, text):
    broken = re.sub(r"(?m)^disclaimer = .*\n", "", text)
    assert _error(tmp_path, broken) == "guidance.toml: top level: missing 'disclaimer'"


def test_wrong_type_pros(tmp_path, text):
    start = text.index("[categories.adc]")
    end = text.index("[categories.immunotherapy]")
    block = re.sub(r"(?ms)^pros = \[.*?^\]\n", 'pros = "good"\n', text[start:end])
    broken = text[:start] + block + text[end:]
    assert "guidance.toml: categories.adc.pros: expected a list of points" in _error(
        tmp_path, broken
    )


def test_unreadable_file(tmp_path):
    with pytest.raises(GuidanceError, match="nothere.toml: cannot read"):
        load_guidance(tmp_path / "nothere.toml")


def test_module_does_not_import_streamlit():
    source = GUIDANCE_PY.read_text(encoding="utf-8")
    assert "streamlit" not in source
