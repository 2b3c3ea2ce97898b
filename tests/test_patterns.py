"""The speed devices of the facet reader never change what a pattern finds.

LowerPattern runs a case-insensitive pattern on lower-cased text, skips texts that lack every
literal a match needs, and adds a first-character lookahead. Each test here compares it with the
plain `re.search(pattern, text, re.I)` it stands for, on real criterion text and on generated text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import STUDIES_DIR
from trials_helper import facets
from trials_helper.eligibility import split_criteria
from trials_helper.facets import (
    LowerPattern,
    classify_trial,
    first_chars,
    norm,
    required_literals,
    sentences,
)
from trials_helper.reading.context import cue_book
from trials_helper.reading.lexicon import lexicon
from trials_helper.reading.text import Gate
from trials_helper.studies import parse_study


def _module_patterns() -> dict[str, LowerPattern]:
    found = {}
    for name, value in vars(facets).items():
        if isinstance(value, LowerPattern):
            found[name] = value
        elif isinstance(value, dict):
            found.update(
                {f"{name}[{k}]": v for k, v in value.items() if isinstance(v, LowerPattern)}
            )
    return found


PATTERNS = _module_patterns()


def _real_texts() -> list[str]:
    texts = []
    for path in sorted(STUDIES_DIR.glob("*.json")):
        trial = parse_study(json.loads(path.read_text(encoding="utf-8")))
        for c in split_criteria(trial.eligibility_criteria):
            text = norm(c.text)
            texts.append(text)
            texts.extend(sentences(text))
        texts.append(norm(" | ".join([trial.brief_title, trial.official_title])))
    return [t for t in texts if t.isascii()]


REAL = _real_texts()


def _span(match) -> tuple[int, int] | None:
    return match.span() if match else None


def test_there_are_many_patterns_and_texts():
    assert len(PATTERNS) > 40
    assert len(REAL) > 1000


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_finds_what_plain_ignorecase_finds_on_real_text(name):
    lp = PATTERNS[name]
    plain = re.compile(lp.pattern, re.I)
    for text in REAL:
        assert _span(lp.search(text)) == _span(plain.search(text)), (name, text)
        assert [m.span() for m in lp.finditer(text)] == [m.span() for m in plain.finditer(text)]


def _words_of(pattern: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9+/-]{2,}", pattern) or ["x"]


_VOCAB = sorted({w for lp in PATTERNS.values() for w in _words_of(lp.pattern)})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(_VOCAB), st.sampled_from([" ", "-", ".", ";", "+", " no ", "1"])),
        max_size=25,
    ).map("".join),
    st.sampled_from(sorted(PATTERNS)),
)
def test_pattern_agrees_on_generated_text(text, name):
    lp = PATTERNS[name]
    for variant in (text, text.upper(), text.title()):
        assert _span(lp.search(variant)) == _span(re.search(lp.pattern, variant, re.I))


@pytest.mark.parametrize(
    "pattern, literals",
    [
        (r"\bhr\s*\+|\bhr[\s-]*positive", ("hr",)),
        (r"pik3ca[^.;]{0,40}(mutat|alter)", ("pik3ca",)),
        (r"(untreated|new)[^.;]{0,60}(brain|cns)", ("new", "untreated")),
        (r"a?b", ()),  # nothing of two characters is sure
        (r"(x)?metasta", ("metasta",)),
        (r"t-?dm-?1", ("t-dm-1", "t-dm1", "tdm-1", "tdm1")),  # each spelling, not "dm"
        (r"5-?fu|xeloda", ("5-fu", "5fu", "xeloda")),
    ],
)
def test_required_literals(pattern, literals):
    got = required_literals(pattern)
    assert got == literals
    # and indeed no match exists without one of them
    texts = ("hr positive", "pik3ca mutation", "new brain lesion", "ab", "metastatic", "tdm1")
    for text in (*texts, "t-dm1 or 5fu"):
        if re.search(pattern, text) and got:
            assert any(x in text for x in got)


@pytest.mark.parametrize(
    "pattern, chars",
    [
        (r"\bhr\+|\ber\+|luminal", "ehl"),
        (r"(\bno|without)\s+prior", "nw"),
        (r"breast|mammary", ""),  # literal starts: the engine already skips well
        (r"\d+ weeks|within", ""),  # a digit class: not worth a lookahead
        (r"(a)?b", "ab"),
        (r"a*", ""),  # can match empty text
    ],
)
def test_first_chars(pattern, chars):
    assert first_chars(pattern) == chars


def test_classifying_compiles_no_pattern(monkeypatch):
    """Patterns are built once at import; one built per call cost a fifth of the run once."""
    trials = [
        parse_study(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(STUDIES_DIR.glob("*.json"))
    ]
    for trial in trials:  # first use of the inline patterns compiles them
        classify_trial(trial)
    built: list[str] = []
    real_init = LowerPattern.__init__

    def counting_init(self, pattern):
        built.append(pattern)
        real_init(self, pattern)

    monkeypatch.setattr(LowerPattern, "__init__", counting_init)
    for trial in trials:
        classify_trial(trial)
    assert built == []


# The gates replaced these regular expressions (run on lower-cased text); they must agree. (The
# HER2 one was `her[\s-]*2|...`; on norm()-ed text, with single spaces, that is the list here.)
GATE_REFERENCE = {
    "_PRE_META": r"metasta|advanced|unresectable|inoperable|stage|\bm1\b|mbc|\babc\b|"
    r"recurren|relapse|curative|solid tumo",
    "_PRE_HR": r"\b(?:hr|er|pr|pgr|tn|tnbc)\b|hormone|estrogen|oestrogen|triple|luminal|endocrine",
    "_PRE_MARKER": r"pik3ca|esr1|akt1|pten|trop|androgen|\bar\b|hla|ny-eso|notch|uptake|"
    r"grpr|fgfr|ntrk|fusion|idh1|her3|ccne1|defect|mutation|alteration|cldn|folr1|nectin|b7-h",
    "_PRE_BRAIN": r"brain|cns|central nervous|intracranial|cerebral",
    "_EXC_META_HINT": r"metasta|stage|\bm1\b|distant|recurren",
    "_HER2_HINT": (
        r"her2|her-2|her 2|her -2|her- 2|\bher\b|erbb2|erbb-2|tnbc|triple|ihc"
        r"|growth factor receptor[ -]2"
    ),
    "_MENO_HINT": r"menopaus|\bm[ae]n\b|\bmales?\b",
}


@pytest.mark.parametrize("name", sorted(GATE_REFERENCE))
def test_gate_agrees_with_its_regular_expression(name):
    gate, reference = getattr(facets, name), re.compile(GATE_REFERENCE[name])
    for text in REAL:
        assert gate(text) == bool(reference.search(text.lower())), (name, text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["ar", "AR", "m1", "her", "her2", "men", "males", "er", "tn", "tnbc", "abc", "stage"]
            + ["x", "_", " ", "-", "+", "(", ")", "2", "/", "é", "breast", "metasta"]
        ),
        max_size=12,
    ).map("".join),
    st.sampled_from(sorted(GATE_REFERENCE)),
)
def test_gate_agrees_on_generated_text(text, name):
    gate, reference = getattr(facets, name), re.compile(GATE_REFERENCE[name])
    assert gate(text) == bool(reference.search(text.lower()))


def test_a_gate_made_later_joins_the_shared_scan():
    """Every gate is answered by one scan per text; a gate made after that scan was built (and
    after texts were scanned) gets its own bit and the others keep theirs."""
    text = "Prior HER2-directed therapy; no brain metastases"
    assert facets._PRE_BRAIN(text) and facets._HER2_HINT(text) and not facets._MENO_HINT(text)
    asked = "zq-part, qx and brain"
    assert facets._PRE_BRAIN(asked)  # its mask is cached before the late gate exists
    late = Gate(("zq-part",), ("qx",))
    assert late(asked)
    assert late("a ZQ-PARTS b") and late("(qx)") and late("QX+ disease")
    assert not late("qxz or aqx") and not late(text)
    assert facets._PRE_BRAIN(text) and facets._HER2_HINT(text) and not facets._MENO_HINT(text)
    assert late("é qx") and not late("éqx")  # outside ASCII the word pattern decides
    texts = ["(qx)", text, "a ZQ-PARTS b", "qxz", "QX+ disease"]
    assert late.select(texts) == ["(qx)", "a ZQ-PARTS b", "QX+ disease"]
    assert facets._PRE_BRAIN.select(texts) == [text]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["but", "not", "more", "however", ";", ",", " ", "and", "may", "must", "other than"]
            + ["butyl", "x", "_", "-", "(", "besides", "except", "é", "with the exception"]
        ),
        max_size=10,
    ).map("".join)
)
def test_terminator_check_agrees_with_the_terminator_pattern(text):
    """The quick "any terminator here?" check says what the one pattern of them all says."""
    book = cue_book()
    for variant in (text, *REAL[:: max(1, len(REAL) // 400)]):
        lower = variant.lower()
        assert book.may_stop(lower) == bool(book.terminators.search(lower)), variant


def test_the_lexicon_sure_words_skip_only_texts_it_cannot_match():
    """The lexicon's quick check (one of its sure words must stand in the text) changes no
    answer: on every real criterion, any_in says what its patterns alone say."""
    lex = lexicon()
    assert lex._sure is not None
    skipped = 0
    for text in REAL:
        lower = text.lower()
        plain = bool(
            lex._lower_re.search(lower)
            or any(g.search(lower) for g in lex._possible_gated(lower))
            or (lex._exact_re is not None and lex._exact_re.search(text))
        )
        assert lex.any_in(text, lower) == plain, text
        skipped += not lex._sure(text)
    assert skipped > len(REAL) / 3  # and it does skip many


def test_the_tumour_words_gate_lets_every_tumour_lead_through():
    """A basket trial's tumour lead ("Ovarian cancer, high-grade serous ...") is looked for only
    in criteria that name a tumour word; every lead the pattern finds names one."""
    from trials_helper.reading import document

    found = [t for t in REAL if document._TUMOUR_LEAD.match(t)]
    assert found  # real leads exist in the recorded studies
    assert all(document._TUMOUR_WORDS(t) for t in found)
    for word in ("NSCLC", "mCRPC", "HNSCC", "PDAC", "TNBC", "glioblastoma", "mesothelioma"):
        assert document._TUMOUR_WORDS(f"Advanced {word}, after one line: x")


def test_heading_lines_found_in_one_pass_are_the_lines_a_check_per_line_finds():
    """The splitter looks for heading words once in the whole text; the lines it then reads as
    possible headings are exactly those a check of each line finds (and outside ASCII, where
    lower-casing may change lengths, it checks each line)."""
    from trials_helper.eligibility import _HEADING_WORDS, _heading_lines

    texts = [
        json.loads(p.read_text(encoding="utf-8"))["protocolSection"]
        .get("eligibilityModule", {})
        .get("eligibilityCriteria", "")
        for p in sorted(STUDIES_DIR.glob("*.json"))
    ]
    texts.append("Inclusion Criteria:\nPRIOR CONCURRENT THERAPY:\n\nExclusion\nnone")
    checked = 0
    for text in texts:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        found = _heading_lines("\n".join(lines), lines)
        if found is None:
            continue
        checked += 1
        per_line = {
            i for i, line in enumerate(lines) if any(w in line.lower() for w in _HEADING_WORDS)
        }
        assert found == per_line
    assert checked == len(texts)
    assert _heading_lines("İnclusion\nx", ["İnclusion", "x"]) is None  # "İ" lower-cases to two


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(["or", "OR", "Or", "and/or", "x", "floor", "- ", "_or", "é", ":"])
    ).map("".join),
    st.lists(st.sampled_from(["or", "OR", "oR", "AND/OR", "y", "order", "* ", "1", "(", " "])).map(
        "".join
    ),
)
def test_entry_route_check_agrees_with_its_patterns(a, b):
    """The quick "do these criteria join with OR?" check says what its two patterns say."""
    from trials_helper.reading.prior import _OR_END, _OR_START, _joined

    assert _joined(a, b) == bool(_OR_END.search(a[-16:]) or _OR_START.match(b))


def test_gates_made_while_other_threads_scan_answer_right():
    """The lexicon makes its gate on first use, maybe while another thread scans: no mask made
    without a gate may answer for it."""
    import threading

    texts = [f"text {i} with brain and zz{i}q" for i in range(300)]
    stop = threading.Event()

    def scan() -> None:
        while not stop.is_set():
            for text in texts:
                facets._PRE_BRAIN(text)

    workers = [threading.Thread(target=scan) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        made = [Gate((f"zz{i}q",)) for i in range(0, 300, 30)]
    finally:
        stop.set()
        for w in workers:
            w.join()
    for gate, i in zip(made, range(0, 300, 30), strict=True):
        assert [t for t in texts if gate(t)] == [texts[i]]
        assert gate.select(texts) == [texts[i]]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["*", "-", "•", "(", "1", ".", ")", "12", "a", "iv", "X", " ", "\t"])
        | st.sampled_from(["A", "word", "é", "–", "Patients"]),
        min_size=1,
        max_size=8,
    ).map("".join)
)
def test_bullet_shortcut_skips_only_lines_without_a_bullet(raw):
    from trials_helper.eligibility import _BULLET, _may_be_bullet

    stripped = raw.strip()
    if stripped and _BULLET.match(raw):
        assert _may_be_bullet(stripped)


def test_breast_words_gate_lets_every_breast_match_through():
    """_mentions_breast runs the breast pattern only on parts holding a breast word; every
    match the pattern finds holds one, and words split across two parts are still found."""
    found = [t for t in REAL if facets._BREAST.search(t)]
    assert found and all(facets._BREAST_WORDS(t) for t in found)
    for text in ("MBC", "(TNBC)", "HR+ disease", "ER+", "BC patients", "mammary", "Breast cancer"):
        assert facets._BREAST.search(text) and facets._BREAST_WORDS(text)
    assert facets._breast_in(("metastatic carcinoma of the", "breast, stage IV"))
    assert not facets._breast_in(("metastatic lung cancer", "no brain metastases"))


def test_the_cohort_name_gate_lets_every_named_cohort_through():
    """The cohort-name patterns run only on criteria holding one of the words every name
    needs; on real criteria and on every kind of name, the gate passes whatever they match."""
    from trials_helper.reading import document

    found = [t for t in REAL if document._PREFIX.match(t) or document._INLINE.search(t)]
    assert found  # real cohort labels exist in the recorded studies
    assert all(document._NAME_WORDS(t) for t in found)
    names = ["Cohort A", "PARTS 1 and 2", "Arm B", "Module 3", "Group C", "Sub-study 2"]
    names += ["Substudy 1", "Phase Ib", "Stratum 2", "Dose Escalation", "Expansion cohort"]
    names += ["escalation part", "DOSE-EXPANSION"]
    for name in names:
        for text in (f"{name}: prior taxane", f"Prior taxane ({name} only)"):
            assert document._PREFIX.match(text) or document._INLINE.search(text), text
            assert document._NAME_WORDS(text), text
            assert document._from_text(text)[0] is not None, text
    # outside ASCII the patterns run whatever the gate says ("ſ" is an "s" to them)
    assert document._from_text("Phaſe Ib: prior taxane")[0] is not None


def test_group_words_tried_by_first_character_read_as_trying_them_all(monkeypatch):
    """columns_of tries only the group patterns that can start with the words' first
    character; on every real sentence the mentions are those trying all of them gives."""
    from trials_helper.reading.lexicon import Lexicon, concepts
    from trials_helper.reading.text import sentences

    lex = Lexicon(concepts())
    lines = [x for text in REAL for x in sentences(text)]
    lines += ["Prior Systemic therapy", "No prior BIOLOGIC therapy", "molecularly targeted agents"]
    fast = [lex.targets(x, x.lower()) for x in lines]
    assert sum(t.group for found in fast for t in found) > 20  # group words are read
    monkeypatch.setattr(lex, "_groups_by_first", {})
    assert [lex.targets(x, x.lower()) for x in lines] == fast


def test_mentions_are_built_in_the_order_of_their_fields():
    """read_mentions builds each Mention positionally: the field list must be Mention's own."""
    from trials_helper.reading.document import read_clauses
    from trials_helper.reading.model import Mention
    from trials_helper.reading.prior import MENTION_FIELDS, read_mentions

    assert Mention._fields == MENTION_FIELDS
    found = read_mentions(read_clauses("Exclusion Criteria:\n* Prior fulvestrant\n"))
    assert [(m.column, m.side, m.words, m.clause) for m in found] == [
        ("prior_endocrine", "exclusion", "fulvestrant", "Prior fulvestrant")
    ]


def test_each_hr_spelling_pass_is_skipped_only_where_it_cannot_match():
    """hr_spelling skips a pass when its word is missing: every match must hold that word."""
    from trials_helper.facets import _HR_SPELLING, hr_spelling
    from trials_helper.reading.text import _top_level

    for pattern, _short, word in _HR_SPELLING:
        # one alternative that starts with the word (after an optional "o": "oestrogen")
        assert len(_top_level(pattern.pattern)) == 1, pattern.pattern
        assert pattern.pattern.startswith((rf"\b{word}", rf"\bo?{word}")), pattern.pattern
    assert hr_spelling("Estrogen receptor (ER) and progesterone receptor positive") == (
        "er and pr positive"
    )


@pytest.mark.parametrize(
    "pattern",
    [
        r"\bhr\s*\+|\bhr[\s-]*positive|hormone[\s-]*receptor",
        r"\b(no|without|not have)\s+(clinical )?evidence",
        r"\b(?:men|males?)\b(?!\s+are)",
        r"\bs?he\b|\b-x",  # a letter that may be missing; "\b" before a non-word character
        r"(untreated|new)[^.;]{0,60}(brain|cns)|\bif\b",
        r"^[^.;]{0,45}?distant",
        r"\b(a|b)\1",  # a back-reference: left as it is
    ],
)
def test_alternatives_written_to_start_with_a_letter_match_as_the_pattern_does(pattern):
    """LowerPattern spells out leading groups and moves a leading "\\b" after the first letter
    so the engine can skip to those letters; where that cannot be done it keeps the pattern."""
    from trials_helper.reading.text import _literal_first

    lp = LowerPattern(pattern)
    plain = re.compile(pattern, re.I)
    texts = [*REAL[:400], "Men are eligible", "no clinical evidence", "he-x", "she", "HR+ and -x"]
    texts += ["shr+", "xno evidence", "Without evidence of new CNS lesions", "aa b", "if new"]
    for text in texts:
        assert [m.span() for m in lp.finditer(text)] == [m.span() for m in plain.finditer(text)]
    literal = _literal_first(pattern)
    if r"\1" in pattern or pattern.startswith("^") or r"\b-" in pattern or "s?he" in pattern:
        assert literal is None
    else:
        assert literal is not None and not literal.startswith("(?:\\b")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["endocrine", "therapy", "tamoxifen", "prior", " ", "-", "(", "x", "no"]),
        max_size=12,
    ).map("".join)
)
def test_lexicon_spans_after_a_non_letter_are_what_its_pattern_finds(text):
    """The lexicon looks for mentions after a character that is not a letter or digit (and at
    the start): the same spans its whole pattern finds, none starting inside another."""
    lex = lexicon()
    for lower in (text, *(t.lower() for t in REAL[:300])):
        assert lex._spans(lower) == [m.span() for m in lex._lower_re.finditer(lower)], lower


def _inline_patterns() -> list[str]:
    """The patterns facets.py writes inline as _rx("...") / rx("...")."""
    import ast

    tree = ast.parse(Path(facets.__file__).read_text(encoding="utf-8"))
    return sorted(
        {
            node.args[0].value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and getattr(node.func, "id", None) in ("_rx", "rx")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        }
    )


def test_inline_patterns_find_what_plain_ignorecase_finds_on_real_text():
    """The patterns written inline go through the same rewriting as the module's: each finds
    what plain re.I matching finds on every real criterion."""
    inline = _inline_patterns()
    assert len(inline) > 30
    for pattern in inline:
        lp, plain = LowerPattern(pattern), re.compile(pattern, re.I)
        for text in REAL:
            assert [m.span() for m in lp.finditer(text)] == [
                m.span() for m in plain.finditer(text)
            ], (pattern, text)
