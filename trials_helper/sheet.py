"""The discussion sheet: what a patient takes to the oncologist, as Markdown and printable HTML.

Built from plain data (profile, marked trial matches, guidance, data date). All trial text is
escaped: registry text is shown as text, never run as HTML or Markdown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .guidance import Guidance, Point, Question, load_guidance, source_label
from .match import VERDICT_LABELS, TrialMatch
from .profile import LABELS, Profile

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


def _md_escape(text: str) -> str:
    """Neutralise Markdown and HTML in registry text so it shows as written."""
    text = " ".join(str(text).split())
    text = html.escape(text, quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|>~])", r"\\\1", text)


def _sources(point: Point | Question) -> str:
    return "; ".join(source_label(s) for s in point.sources)


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
    known = data.profile.known()
    if known:
        out += [f"- {LABELS.get(k, k)}: {v}" for k, v in known.items()]
    else:
        out.append("- No details entered; every trial rule is marked 'ask your oncologist'.")
    if data.place:
        out.append(f"- Distances are from: {_md_escape(data.place)}")
    out += ["", "## Trials I marked", ""]
    if not data.marked:
        out.append("No trials marked yet.")
    for m in data.marked:
        t = m.trial
        out += [
            f"### {_md_escape(t.title)} ({t.nct_id})",
            "",
            f"- Registry page: <{t.url}>",
            f"- {t.phase_label}; sponsor: {_md_escape(t.sponsor or 'not given')}; "
            f"last updated {t.last_update or 'unknown'}",
            f"- Kind of treatment: {', '.join(g.category(c).title for c in m.categories)}",
            f"- Overall: **{m.level}** ({m.summary()})",
        ]
        nearest = m.nearest
        if nearest is not None and getattr(nearest, "site", None) is not None:
            s = nearest.site
            contact = "; ".join(c.label() for c in s.contacts) or "no site contact listed"
            dist = f" — {nearest.distance:,.0f} {data.unit}" if nearest.distance is not None else ""
            out.append(
                f"- Nearest recruiting site: {_md_escape(s.facility)}, "
                f"{_md_escape(s.place)}{dist}; contact: {_md_escape(contact)}"
            )
        elif t.central_contacts:
            out.append(
                "- Trial contact: " + _md_escape("; ".join(c.label() for c in t.central_contacts))
            )
        out += ["", "| rule | verdict | why | trial's words |", "|---|---|---|---|"]
        for v in m.verdicts:
            out.append(
                f"| {_md_escape(v.label)} | {VERDICT_LABELS[v.verdict]} | "
                f"{_md_escape(v.reason)} | {_md_escape(v.evidence) or '—'} |"
            )
        if m.questions:
            out += ["", "Questions about this trial:", ""]
            out += [f"- {_md_escape(q)}" for q in m.questions]
        out.append("")
    out += [
        "## Before you talk to your oncologist",
        "",
        "What the source documents say about clinical trials:",
        "",
    ]
    for title, points in (
        ("Why people consider them", g.trials_why),
        ("Possible benefits", g.trials_pros),
        ("Possible drawbacks", g.trials_cons),
        ("When to raise them", g.trials_when),
    ):
        if points:
            out.append(f"**{title}**")
            out += [f"- {p.text} _({_sources(p)})_" for p in points]
            out.append("")
    cats = list(dict.fromkeys(c for m in data.marked for c in m.categories[:1]))
    for cat in cats:
        cg = g.category(cat)
        out += [
            f"**{cg.title}** — {cg.description} _({'; '.join(map(source_label, cg.sources))})_",
            "",
        ]
        out += [f"- Pro: {p.text} _({_sources(p)})_" for p in cg.pros]
        out += [f"- Con: {p.text} _({_sources(p)})_" for p in cg.cons]
        out.append("")
    out += ["## Questions to ask", ""]
    out += [
        f"- [ ] {q.text} _({_sources(q)})_"
        for q in relevant_questions(data.profile, data.marked, g)
    ]
    out += ["", "---", f"_{g.disclaimer.text} ({_sources(g.disclaimer)})_", ""]
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
    return html.escape(" ".join(str(text).split()))


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
    known = data.profile.known()
    parts += [f"<li>{_e(LABELS.get(k, k))}: {_e(v)}</li>" for k, v in known.items()] or [
        "<li>No details entered; every trial rule is marked 'ask your oncologist'.</li>"
    ]
    if data.place:
        parts.append(f"<li>Distances are from: {_e(data.place)}</li>")
    parts.append("</ul><h2>Trials I marked</h2>")
    if not data.marked:
        parts.append("<p>No trials marked yet.</p>")
    for m in data.marked:
        t = m.trial
        parts += [
            "<div class='trial'>",
            f"<h3>{_e(t.title)} ({_e(t.nct_id)})</h3>",
            f"<p><a href='{_e(t.url)}'>{_e(t.url)}</a><br>{_e(t.phase_label)}; sponsor: "
            f"{_e(t.sponsor or 'not given')}; last updated {_e(t.last_update or 'unknown')}<br>"
            f"Kind of treatment: {_e(', '.join(g.category(c).title for c in m.categories))}<br>"
            f"Overall: <span class='level'>{_e(m.level)}</span> ({_e(m.summary())})</p>",
        ]
        nearest = m.nearest
        if nearest is not None and getattr(nearest, "site", None) is not None:
            s = nearest.site
            contact = "; ".join(c.label() for c in s.contacts) or "no site contact listed"
            dist = f" — {nearest.distance:,.0f} {data.unit}" if nearest.distance is not None else ""
            parts.append(
                f"<p>Nearest recruiting site: {_e(s.facility)}, {_e(s.place)}"
                f"{_e(dist)}; contact: {_e(contact)}</p>"
            )
        elif t.central_contacts:
            parts.append(
                f"<p>Trial contact: {_e('; '.join(c.label() for c in t.central_contacts))}</p>"
            )
        parts.append(
            "<table><tr><th>rule</th><th>verdict</th><th>why</th><th>trial's words</th></tr>"
        )
        parts += [
            f"<tr><td>{_e(v.label)}</td><td>{_e(VERDICT_LABELS[v.verdict])}</td>"
            f"<td>{_e(v.reason)}</td><td>{_e(v.evidence) or '—'}</td></tr>"
            for v in m.verdicts
        ]
        parts.append("</table>")
        if m.questions:
            parts.append("<p>Questions about this trial:</p><ul>")
            parts += [f"<li>{_e(q)}</li>" for q in m.questions]
            parts.append("</ul>")
        parts.append("</div>")
    parts.append("<h2>Before you talk to your oncologist</h2>")
    for title, points in (
        ("Why people consider trials", g.trials_why),
        ("Possible benefits", g.trials_pros),
        ("Possible drawbacks", g.trials_cons),
        ("When to raise them", g.trials_when),
    ):
        if points:
            parts.append(f"<h3>{_e(title)}</h3><ul>")
            parts += [
                f"<li>{_e(p.text)} <span class='src'>({_e(_sources(p))})</span></li>"
                for p in points
            ]
            parts.append("</ul>")
    parts.append("<h2>Questions to ask</h2><ul>")
    parts += [
        f"<li>&#9744; {_e(q.text)} <span class='src'>({_e(_sources(q))})</span></li>"
        for q in relevant_questions(data.profile, data.marked, g)
    ]
    parts += [
        "</ul>",
        f"<p class='src'>{_e(g.disclaimer.text)} ({_e(_sources(g.disclaimer))})</p></body></html>",
    ]
    return "\n".join(parts)
