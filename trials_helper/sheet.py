"""The discussion sheet: what a patient takes to the oncologist, as Markdown, printable HTML
and PDF.

Built from plain data (profile, marked trial matches, guidance, data date); the three formats
render one content model. All trial text is escaped: registry text is shown as text, never run
as HTML or Markdown.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from .guidance import Guidance, Point, Question, SubtypeGuidance, load_guidance
from .match import VERDICT_LABELS, TrialMatch
from .profile import Profile, describe
from .safetext import clean, md_escape

DISCLAIMER = (
    "This sheet helps you prepare a conversation with your care team. It is not medical advice "
    "and does not say which treatment to take. Only the trial team can confirm whether you can "
    "join a trial, and registry data may be out of date."
)

_TOPICS_BY_PROFILE = (
    (lambda p: p.hr == "positive", "hormone"),
    (lambda p: p.her2 in ("positive", "low"), "her2"),
    (lambda p: p.brain in ("stable", "active"), "brain"),
    (lambda p: p.bone == "yes", "bone"),
    (lambda p: p.chemo_lines not in ("0", "unknown"), "chemotherapy"),
)


@dataclass(frozen=True)
class SheetData:
    profile: Profile
    marked: Sequence[TrialMatch]
    data_line: str  # e.g. FetchResult.source_line()
    place: str = ""  # the place distances are from, when given
    unit: str = "mi"
    generated: datetime | None = None


def relevant_questions(
    profile: Profile, marked: Sequence[TrialMatch], guidance: Guidance
) -> list[Question]:
    topics = ["general", "trials"]
    topics += [topic for test, topic in _TOPICS_BY_PROFILE if test(profile)]
    return guidance.questions_for(*topics)


# Which parts of the documents' "subtypes and facts" speak to a profile (keys of [subtypes]).
_SUBTYPES_BY_PROFILE = (
    (lambda p: p.hr == "positive", "hr_positive"),
    (lambda p: p.her2 == "positive", "her2_positive"),
    (lambda p: bool(p.triple_negative), "triple_negative"),
    (lambda p: p.brca == "yes", "brca"),
    (lambda p: p.pdl1 != "unknown" or bool(p.triple_negative), "pdl1"),
    (lambda p: p.menopause != "unknown", "menopause"),
    (lambda p: p.bone == "yes", "bone"),
    (lambda p: p.brain in ("stable", "active"), "brain"),
    (lambda p: p.liver == "yes", "liver"),
    (lambda p: p.lung == "yes", "lung"),
    (
        lambda p: (
            "yes"
            in (
                p.prior_endocrine,
                p.prior_cdk46,
                p.prior_her2,
                p.prior_tdxd,
                p.prior_other_adc,
                p.prior_immunotherapy,
                p.prior_parp,
            )
            or p.chemo_lines in ("1", "2+")
        ),
        "treatment_history",
    ),
)


def relevant_subtypes(profile: Profile, guidance: Guidance) -> list[SubtypeGuidance]:
    """What the documents say about this person's subtype and situation, in the file's order
    (nothing when nothing is known: the app then says which answers would bring it)."""
    wanted = {key for test, key in _SUBTYPES_BY_PROFILE if test(profile)}
    return [s for key, s in guidance.subtypes.items() if key in wanted]


def _md_escape(text: str) -> str:
    """Neutralise Markdown and HTML in registry text so it shows as written (the same escape
    as every Markdown the project writes)."""
    return md_escape(text)


def _sources(point: Point | Question, g: Guidance) -> str:
    """'from "Title", kind; …': each document by the title and kind a person recognises."""
    return g.from_(point.sources)


@dataclass(frozen=True)
class _TrialBlock:
    heading: str
    url: str
    facts: tuple[str, ...]
    verdicts: tuple[tuple[str, str, str, str], ...]  # rule, verdict, why, trial's words
    questions: tuple[tuple[str, str], ...]  # (our question, the trial's words it rests on or "")


def _about(data: SheetData) -> list[str]:
    lines = [describe(k, v) for k, v in data.profile.known().items()]
    if not lines:
        lines = ["No details entered; every trial rule is marked 'ask your oncologist'."]
    if data.place:
        lines.append(f"Distances are from: {data.place}")
    return lines


def _trial_block(m: TrialMatch, g: Guidance, unit: str) -> _TrialBlock:
    """What the sheet says about one marked trial, as plain text (each renderer escapes it)."""
    t = m.trial
    facts = [
        f"{t.phase_label}; sponsor: {t.sponsor or 'not given'}; "
        f"last updated {t.last_update or 'unknown'}",
        f"Kind of treatment: {', '.join(g.category(c).title for c in m.categories)}",
        f"Overall: {m.level} ({m.summary()})",
    ]
    if m.cohort_note:  # a trial of several groups: which one may fit, in the trial's words
        facts.append(f"Group in this trial: {m.cohort_note}")
    nearest = m.nearest
    if nearest is not None and nearest.site is not None:
        site = nearest.site
        contact = "; ".join(c.label() for c in site.contacts) or "no site contact listed"
        distance = nearest.distance
        dist = f" — {distance:,.0f} {unit}" if distance is not None else ""
        facts.append(
            f"Nearest recruiting site: {site.facility}, {site.place}{dist}; contact: {contact}"
        )
    elif t.central_contacts:
        facts.append("Trial contact: " + "; ".join(c.label() for c in t.central_contacts))
    return _TrialBlock(
        heading=f"{t.title} ({t.nct_id})",
        url=t.url,
        facts=tuple(facts),
        verdicts=tuple(
            (v.label, VERDICT_LABELS[v.verdict], v.reason, v.evidence or "—") for v in m.verdicts
        ),
        questions=tuple((getattr(q, "text", q), getattr(q, "quote", "")) for q in m.questions),
    )


def _guidance_sections(data: SheetData, g: Guidance) -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(text, sources)]): the aims of treatment, what the documents say about this
    person's situation, trials in general, each marked trial's main category, and support."""
    sections = [("What treatment aims for", [(p.text, _sources(p, g)) for p in g.goals])]
    for sub in relevant_subtypes(data.profile, g):
        sections.append(
            (
                f"About your situation: {sub.title}",
                [(p.text, _sources(p, g)) for p in (sub.summary, *sub.options)],
            )
        )
    sections += [
        (title, [(p.text, _sources(p, g)) for p in points])
        for title, points in (
            ("Why people consider trials", g.trials_why),
            ("Possible benefits", g.trials_pros),
            ("Possible drawbacks", g.trials_cons),
            ("When to raise them", g.trials_when),
        )
        if points
    ]
    for cat in dict.fromkeys(m.main_category for m in data.marked):
        cg = g.category(cat)
        sections.append(
            (
                f"{cg.title}: {cg.description}",
                [(f"Pro: {p.text}", _sources(p, g)) for p in cg.pros]
                + [(f"Con: {p.text}", _sources(p, g)) for p in cg.cons],
            )
        )
    sections.append(("Support and comfort", [(p.text, _sources(p, g)) for p in g.support]))
    return sections


def markdown(data: SheetData, guidance: Guidance | None = None) -> str:
    g = guidance or load_guidance()
    when = (data.generated or datetime.now(UTC)).strftime("%Y-%m-%d")
    out = [
        "# Clinical trials to discuss with my oncologist",
        "",
        f"Prepared {when}. {_md_escape(data.data_line)}",
        "",
        f"> {DISCLAIMER}",
        "",
        "## About me",
        "",
    ]
    out += [f"- {_md_escape(line)}" for line in _about(data)]
    out += ["", "## Trials I marked", ""]
    if not data.marked:
        out.append("No trials marked yet.")
    for m in data.marked:
        block = _trial_block(m, g, data.unit)
        out += [f"### {_md_escape(block.heading)}", "", f"- Registry page: <{block.url}>"]
        out += [f"- {_md_escape(fact)}" for fact in block.facts]
        out += ["", "| rule | verdict | why | trial's words |", "|---|---|---|---|"]
        out += [
            "| " + " | ".join(_md_escape(cell) for cell in row) + " |" for row in block.verdicts
        ]
        if block.questions:
            out += ["", "Questions about this trial:", ""]
            for q, quote in block.questions:
                out.append(f"- {_md_escape(q)}")
                if quote:
                    out.append(f'  - The trial says: "{_md_escape(quote)}"')
        out.append("")
    out += ["## Before you talk to your oncologist", "", "What the source documents say:", ""]
    for title, points in _guidance_sections(data, g):
        out.append(f"**{title}**")
        out += [f"- {text} _({sources})_" for text, sources in points]
        out.append("")
    out += ["## Questions to ask", ""]
    out += [
        f"- [ ] {q.text} _({_sources(q, g)})_"
        for q in relevant_questions(data.profile, data.marked, g)
    ]
    out += ["", "---", f"_{g.disclaimer.text} ({_sources(g.disclaimer, g)})_", ""]
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #111;
       line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #999; margin-top: 2rem; }
h3 { margin-bottom: .2rem; } .note { background: #f3f3f3; padding: .6rem .8rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0; }
td, th { border: 1px solid #bbb; padding: .25rem .4rem; vertical-align: top; text-align: left; }
.src { color: #555; font-size: .85em; } .level { font-weight: bold; }
.trial { page-break-inside: avoid; margin-bottom: 1.5rem; }
@media print { body { margin: 0; max-width: none; } a { color: #000; } }
"""


def _e(text: object) -> str:
    return html.escape(" ".join(clean(str(text)).split()))


def html_page(data: SheetData, guidance: Guidance | None = None) -> str:
    g = guidance or load_guidance()
    when = (data.generated or datetime.now(UTC)).strftime("%Y-%m-%d")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Clinical trials to discuss with my oncologist</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Clinical trials to discuss with my oncologist</h1>",
        f"<p>Prepared {when}. {_e(data.data_line)}</p>",
        f"<p class='note'>{_e(DISCLAIMER)}</p>",
        "<h2>About me</h2><ul>",
    ]
    parts += [f"<li>{_e(line)}</li>" for line in _about(data)]
    parts.append("</ul><h2>Trials I marked</h2>")
    if not data.marked:
        parts.append("<p>No trials marked yet.</p>")
    for m in data.marked:
        block = _trial_block(m, g, data.unit)
        parts += [
            "<div class='trial'>",
            f"<h3>{_e(block.heading)}</h3>",
            f"<p><a href='{_e(block.url)}'>{_e(block.url)}</a><br>"
            + "<br>".join(_e(fact) for fact in block.facts)
            + "</p>",
            "<table><tr><th>rule</th><th>verdict</th><th>why</th><th>trial's words</th></tr>",
        ]
        parts += [
            "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>"
            for row in block.verdicts
        ]
        parts.append("</table>")
        if block.questions:
            parts.append("<p>Questions about this trial:</p><ul>")
            parts += [
                f"<li>{_e(q)}"
                + (
                    f"<br><span class='src'>The trial says: \u201c{_e(quote)}\u201d</span>"
                    if quote
                    else ""
                )
                + "</li>"
                for q, quote in block.questions
            ]
            parts.append("</ul>")
        parts.append("</div>")
    parts.append("<h2>Before you talk to your oncologist</h2>")
    for title, points in _guidance_sections(data, g):
        parts.append(f"<h3>{_e(title)}</h3><ul>")
        parts += [
            f"<li>{_e(text)} <span class='src'>({_e(sources)})</span></li>"
            for text, sources in points
        ]
        parts.append("</ul>")
    parts.append("<h2>Questions to ask</h2><ul>")
    parts += [
        f"<li>&#9744; {_e(q.text)} <span class='src'>({_e(_sources(q, g))})</span></li>"
        for q in relevant_questions(data.profile, data.marked, g)
    ]
    parts += [
        "</ul>",
        f"<p class='src'>{_e(g.disclaimer.text)} ({_e(_sources(g.disclaimer, g))})</p>"
        "</body></html>",
    ]
    return "\n".join(parts)


# -- PDF ----------------------------------------------------------------------------------------
# The PDF uses the built-in Helvetica, which covers Latin-1 only: common typographic characters
# are spelled out, accents outside Latin-1 lose their marks, anything else becomes "?".
_PDF_CHARS = str.maketrans(
    {
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
        "\u2022": "-", "\u2026": "...", "\u2265": ">=", "\u2264": "<=", "\u2192": "->",
        "\u2610": "[ ]", "\u00a0": " ", "\u2122": "(TM)", "\u03bc": "\u00b5",
    }
)  # fmt: skip
_PDF_TRIAL_WORDS = 400  # characters of the trial's own words per verdict row (HTML has all)


def _latin1(text: object) -> str:
    text = " ".join(clean(str(text)).split()).translate(_PDF_CHARS)
    if text.isascii():
        return text
    text = "".join(ch if ord(ch) < 256 else unicodedata.normalize("NFKD", ch)[0] for ch in text)
    return text.encode("latin-1", "replace").decode("latin-1")


@lru_cache(maxsize=1)
def _pdf_class():
    """FPDF with the sheet's footer; fpdf is imported on first use (it takes a quarter of a
    second, which the app's start need not pay)."""
    from fpdf import FPDF

    class SheetPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("helvetica", "", 8)
            self.set_text_color(90)
            self.cell(0, 5, f"Not medical advice - page {self.page_no()}/{{nb}}", align="C")
            self.set_text_color(0)

    return SheetPDF


def pdf_bytes(data: SheetData, guidance: Guidance | None = None, *, compress: bool = True) -> bytes:
    """The sheet as an A4 PDF (what the HTML page prints, without needing a browser)."""
    from fpdf.fonts import FontFace

    g = guidance or load_guidance()
    when = (data.generated or datetime.now(UTC)).strftime("%Y-%m-%d")
    pdf = _pdf_class()(format="A4")
    pdf.set_compression(compress)
    pdf.set_title("Clinical trials to discuss with my oncologist")
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()

    def para(text: str, size: float = 10, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font("helvetica", style, size)
        pdf.multi_cell(0, size * 0.5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def heading(text: str, size: float) -> None:
        pdf.ln(2)
        para(text, size, "B", gap=1)

    def bullets(lines: Sequence[str], mark: str = "-") -> None:
        pdf.set_font("helvetica", "", 10)
        for line in lines:
            pdf.set_x(pdf.l_margin + 3)
            pdf.multi_cell(0, 5, _latin1(f"{mark} {line}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)

    heading("Clinical trials to discuss with my oncologist", 16)
    para(f"Prepared {when}. {data.data_line}", 9)
    pdf.set_fill_color(240, 240, 240)
    pdf.set_font("helvetica", "", 9.5)
    pdf.multi_cell(0, 5, _latin1(DISCLAIMER), fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    heading("About me", 13)
    bullets(_about(data))

    heading("Trials I marked", 13)
    if not data.marked:
        para("No trials marked yet.")
    for m in data.marked:
        block = _trial_block(m, g, data.unit)
        heading(block.heading, 11)
        pdf.set_font("helvetica", "U", 9)
        pdf.set_text_color(0, 0, 160)
        pdf.cell(0, 5, _latin1(block.url), link=block.url, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        bullets(block.facts)
        pdf.set_font("helvetica", "", 8.5)
        with pdf.table(
            col_widths=(22, 22, 60, 76),
            text_align="LEFT",
            line_height=4.2,
            headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
        ) as table:
            table.row([_latin1(h) for h in ("rule", "verdict", "why", "trial's words")])
            for rule, verdict, why, words in block.verdicts:
                if len(words) > _PDF_TRIAL_WORDS:
                    words = words[:_PDF_TRIAL_WORDS].rsplit(" ", 1)[0] + " ... (more on the page)"
                table.row([_latin1(rule), _latin1(verdict), _latin1(why), _latin1(words)])
        pdf.ln(2)
        if block.questions:
            para("Questions about this trial:", 10, "B", gap=0.5)
            bullets(
                [
                    q + (f' (The trial says: "{quote}")' if quote else "")
                    for q, quote in block.questions
                ]
            )

    heading("Before you talk to your oncologist", 13)
    para("What the source documents say:", 10)
    for title, points in _guidance_sections(data, g):
        para(title, 10, "B", gap=0.5)
        bullets([f"{text} ({sources})" for text, sources in points])

    heading("Questions to ask", 13)
    bullets(
        [f"{q.text} ({_sources(q, g)})" for q in relevant_questions(data.profile, data.marked, g)],
        mark="[ ]",
    )
    para(f"{g.disclaimer.text} ({_sources(g.disclaimer, g)})", 8.5)
    return bytes(pdf.output())
