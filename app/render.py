"""What the app draws: one function per part of the page, each taking plain package objects.

No decisions are made here: levels, reasons, groups, questions and export rows all come from
`trials_helper`. Registry text is shown with `st.text` / escaped Markdown, never as HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd
import pydeck as pdk
import streamlit as st

from trials_helper.client import FetchResult
from trials_helper.export import LIST_SEP, sidecar
from trials_helper.group import TrialGroup
from trials_helper.guidance import (
    CategoryGuidance,
    Guidance,
    Point,
    load_guidance,
)
from trials_helper.match import (
    ASK,
    CHECK,
    MEETS,
    NOT_MET,
    POSSIBLE,
    UNLIKELY,
    VERDICT_LABELS,
    TrialMatch,
)
from trials_helper.pipeline import SearchResult
from trials_helper.profile import Profile
from trials_helper.safetext import md_escape
from trials_helper.search import SearchOutcome
from trials_helper.sheet import (
    DISCLAIMER,
    SheetData,
    html_page,
    markdown,
    pdf_bytes,
    relevant_questions,
    relevant_subtypes,
)
from trials_helper.studies import phase_label

LEVEL_BADGE = {
    POSSIBLE: ":green-badge[possible match]",
    CHECK: ":orange-badge[check with your oncologist]",
    UNLIKELY: ":red-badge[likely not eligible]",
}
# Every verdict carries its word: the icons come from Streamlit's own icon font (an emoji needs
# an emoji font, and without one it was an empty box with nothing for a screen reader).
VERDICT_ICON = {
    MEETS: ":green[:material/check_circle:]",
    ASK: ":orange[:material/help:]",
    NOT_MET: ":red[:material/cancel:]",
}
VERDICT_WORD = {v: label[:1].upper() + label[1:] for v, label in VERDICT_LABELS.items()}


def md(text: str) -> str:
    """Registry text as inert Markdown: no links (not even www.… or a@b autolinks), HTML,
    emphasis or headings from the source; `:` and `$` too (Streamlit's emoji, colours,
    formulas). NUL and direction overrides are dropped (trials_helper.safetext)."""
    return md_escape(text, extra=":$")


MARKED = "marked_trials"  # NCT ids ticked for the discussion sheet, kept while cards are hidden


def mark_key(nct_id: str) -> str:
    return f"mark_{nct_id}"


def marked_ids() -> set[str]:
    return st.session_state.setdefault(MARKED, set())


def _on_mark(nct_id: str) -> None:
    ids = marked_ids()
    if st.session_state.get(mark_key(nct_id)):
        ids.add(nct_id)
    else:
        ids.discard(nct_id)


def marked(outcome: SearchOutcome) -> list[TrialMatch]:
    """The marked trials among the results (a card folded away or on a later page keeps its
    mark: a checkbox that is not drawn loses its own state)."""
    ids = marked_ids()
    return [m for m in outcome.matches if m.trial.nct_id in ids]


def data_banner(result: FetchResult, cache_note: str) -> None:
    if result.stale:
        st.warning(
            "ClinicalTrials.gov gave no usable answer, so these are saved results. "
            + result.source_line(),
            icon=":material/warning:",
        )
    elif result.source == "snapshot":
        st.info(result.source_line(), icon=":material/inventory_2:")
    else:
        st.info(result.source_line(), icon=":material/event:")
    if cache_note:
        st.caption(cache_note)


SUMMARY_MARK = ":material/summarize: "  # the counts line starts with it (tests find it so)


def summary(result: FetchResult, outcome: SearchOutcome) -> None:
    counts = outcome.counts_by_level()
    # one line, not four st.metric boxes: each element costs the browser time at every rerun
    st.markdown(
        f"{SUMMARY_MARK}**{outcome.total:,}** trials found · **{len(outcome.matches):,}** after "
        f"your filters · **{counts[POSSIBLE]:,}** possible matches · **{counts[CHECK]:,}** to "
        "check with your oncologist"
    )
    line = (
        f"Data as of **{result.data_date()}** "
        f"({'saved copy' if result.from_cache else result.source})."
    )
    if outcome.left_out:
        line += " " + outcome.left_out_text()
    st.caption(line)


def guidance_box(cg: CategoryGuidance, key: str) -> None:
    # drawn when opened (like the cards' details): closed, it costs the page nothing
    box = st.expander(
        f"What the source documents say about {cg.title}",
        expanded=False,
        key=f"guide_{key}",
        on_change="rerun",
    )
    if not box.open:
        return
    with box:
        st.markdown(cg.description)
        if cg.usually_for:
            st.markdown(f"**Usually for:** {cg.usually_for}")
        if cg.aims:
            st.markdown(f"**Aims:** {cg.aims}")
        if cg.side_effects:
            st.markdown("**Side effects to ask about:** " + ", ".join(cg.side_effects))
        sides = (("Possible benefits", cg.pros), ("Possible drawbacks", cg.cons))
        for col, (title, points) in zip(st.columns(2), sides, strict=True):
            col.markdown(f"**{title}**")
            for p in points:  # the project's own guidance text, so the <small> tag is ours
                col.markdown(f"- {p.text}  \n  {_cited(p.sources)}", unsafe_allow_html=True)
        if cg.examples:
            st.caption("Examples named in the documents: " + ", ".join(cg.examples))
        st.caption("Documents: " + md(load_guidance().cite(cg.sources)))


def _cited(sources: Sequence[str]) -> str:
    """The documents behind a line of guidance, by title and kind, in small print (our own
    data, escaped all the same)."""
    return f"<small>({html.escape(load_guidance().from_(tuple(sources)))})</small>"


def contact_line(site, central: Sequence) -> str:
    """Who to call, as Markdown: the nearest site's contact, else the trial's central contact,
    and when the registry lists none, that it lists none."""
    own = [c.label() for c in getattr(site, "contacts", ())]
    others = [c.label() for c in central]
    if own:
        return "**Contact at this site:** " + md("; ".join(own[:2]))
    if others and site is not None:
        return "No contact listed for this site. **The trial's central contact:** " + md(
            "; ".join(others[:2])
        )
    if others:
        return "**Trial contact:** " + md("; ".join(others[:2]))
    return (
        "No contact listed for this trial. The registry page (the title above) may say how "
        "to reach the study team."
    )


def _card_lines(m: TrialMatch, unit: str) -> list[str]:
    t = m.trial
    lines = [
        f"#### [{md(t.title)}](<{t.url}>)",  # the id in t.url is URL-quoted
        f"{LEVEL_BADGE[m.level]} &nbsp; **{md(t.nct_id)}** · {md(t.phase_label)} · "
        f"{md(t.sponsor or 'sponsor not given')} · last updated {md(t.last_update or 'unknown')}",
    ]
    others = [load_guidance().category(c).title for c in m.categories[1:]]
    if others:
        lines.append("Also gives: " + ", ".join(others))
    if m.cohort_note:
        lines.append(f"**Group in this trial:** {md(m.cohort_note)}")
    nearest = m.nearest
    site = getattr(nearest, "site", None)
    if site is not None:
        dist = getattr(nearest, "distance", None)
        where = f"{md(site.facility)}, {md(site.place)}"
        dist_text = f" — **{dist:,.0f} {unit}**" if dist is not None else ""
        inferred = (
            " (site status not given; the trial is recruiting)"
            if getattr(nearest, "status_inferred", False)
            else ""
        )
        lines.append(
            f":material/location_on: Nearest recruiting site: {where}{dist_text}{inferred}"
        )
    lines.append(":material/call: " + contact_line(site, t.central_contacts))
    return lines


def trial_card(m: TrialMatch, unit: str) -> None:
    """One trial. Its lines are one Markdown block (paragraphs under the title): each element
    costs the browser time at every rerun, and a profile change redraws every card shown."""
    t = m.trial
    with st.container(border=True):
        st.markdown("\n\n".join(_card_lines(m, unit)))
        st.checkbox(
            "Add to my discussion sheet",
            value=t.nct_id in marked_ids(),
            key=mark_key(t.nct_id),
            on_change=_on_mark,
            args=(t.nct_id,),
        )
        # one box for the reasons and the questions: each element drawn costs every rerun
        why = st.expander(
            f"Why: {m.summary()} — and questions to ask",
            key=f"why_{t.nct_id}",
            on_change="rerun",
        )
        with why:
            if why.open:
                _details(m)


def _details(m: TrialMatch) -> None:
    """A card's reasons, each with the trial's words, then the questions it raises."""
    for v in m.verdicts:
        st.markdown(
            f"{VERDICT_ICON[v.verdict]} **{VERDICT_WORD[v.verdict]}:** "
            f"{md(v.label)} — {md(v.reason)}"
        )
        if v.evidence:
            st.caption("Trial's words: " + md(v.evidence))
    if not m.verdicts:
        st.write(
            "The trial states no rule on the facts this helper reads. "
            "Ask the trial team about the full criteria."
        )
    if m.questions:
        st.markdown("**Questions to ask about this trial**")
        for q in m.questions:
            _question(q)


def _question(q: str) -> None:
    """A trial question in our words; the trial's own words it rests on, shortened, apart."""
    st.markdown(f"- {md(getattr(q, 'text', q))}")
    quote = getattr(q, "quote", "")
    if quote:
        st.caption(f"The trial says: \u201c{md(quote)}\u201d")


def _points(points: Sequence[Point]) -> None:
    for p in points:  # the project's own guidance text, so the <small> tag is ours
        st.markdown(f"- {p.text} {_cited(p.sources)}", unsafe_allow_html=True)


def _situation(profile: Profile, g: Guidance) -> bool:
    """What the documents say about this person's subtype and situation; False when the
    profile says too little to pick anything."""
    subtypes = relevant_subtypes(profile, g)
    for sub in subtypes:
        st.markdown(f"**{sub.title}**")
        _points((sub.summary, *sub.options))
    return bool(subtypes)


def subtype_notes(profile: Profile) -> None:
    """Beside the results: a short "what the documents say about your subtype"."""
    g = load_guidance()
    with st.expander(f"What the documents say about your subtype ({profile.subtype_label})"):
        if not _situation(profile, g):
            st.markdown(
                "Answer the hormone receptor and HER2 questions (and where the cancer has "
                "spread) to see what the documents say about your situation."
            )


OPEN_GROUPS = 1  # kinds of treatment whose cards are drawn before anyone asks


def group_key(category: str) -> str:
    return f"group_{category}"


def groups_view(groups: Sequence[TrialGroup], unit: str, per_group: int) -> None:
    """Every kind of treatment with its heading and counts; the cards (and the documents'
    guidance) of the first, where the best matches are, and of any group a person opens. A
    profile change redraws only what is open: with every group's cards drawn it took 0.8 s,
    with the first only 0.5 s (`docs/benchmarks.md`)."""
    st.header("Trials by kind of treatment", anchor=False)
    if not groups:
        st.info(
            "No trials match these filters. Try a larger distance, fewer filters, or "
            "include trials not yet recruiting."
        )
        return
    for i, g in enumerate(groups):
        st.subheader(f"{g.title}")
        st.caption(g.headline())
        if i < OPEN_GROUPS:
            group_cards(g, unit, per_group)
            continue
        n = len(g.matches)
        trials = f"the {n} trials" if n > 1 else "the trial"
        box = st.expander(
            f"Show {trials} and what the documents say",
            key=group_key(g.category),
            on_change="rerun",
        )
        with box:
            if box.open:
                group_cards(g, unit, per_group)


def _show_more(key: str, step: int) -> None:
    st.session_state[key] = st.session_state.get(key, step) + step


@st.fragment
def group_cards(g: TrialGroup, unit: str, per_group: int) -> None:
    """A group's guidance, its best `per_group` cards and "Show more" for the next ones;
    trials likely not eligible folded away behind their count and a toggle. The whole list
    stays in the table and the CSV. Details (the guidance, a card's reasons and questions) are
    drawn when opened. A fragment: "Show more", the toggle, opening details and a card's mark
    redraw only this group (marks are read when the discussion tab is opened)."""
    guidance_box(g.guidance, key=g.category)
    fitting = [m for m in g.matches if m.level != UNLIKELY]
    unlikely = [m for m in g.matches if m.level == UNLIKELY]
    _cards(fitting, unit, per_group, f"shown_{g.category}")
    if not fitting:
        st.caption("For the profile entered, every trial here looks likely not eligible.")
    if unlikely:
        n = len(unlikely)
        label = f"Show the {n} trial{'s' if n != 1 else ''} likely not eligible"
        if st.toggle(label, key=f"unlikely_{g.category}"):
            _cards(unlikely, unit, per_group, f"shown_unlikely_{g.category}")


def _cards(matches: Sequence[TrialMatch], unit: str, step: int, key: str) -> None:
    shown = st.session_state.get(key, step)
    for m in matches[:shown]:
        trial_card(m, unit)
    left = len(matches) - shown
    if left > 0:
        st.button(
            f"Show {min(step, left)} more ({left} not shown)",
            key=f"more_{key}",
            on_click=_show_more,
            args=(key, step),
        )


def map_view(frame: pd.DataFrame, origin, unit: str) -> None:
    """`frame`: the sites of the trials shown (`SearchResult.site_frame`)."""
    if frame.empty:
        st.info("No site locations to show for these trials.")
        return
    recruiting = frame[frame["is_recruiting"] & frame["lat"].notna()].copy()
    if recruiting.empty:
        st.info("None of these trials lists a recruiting site with a map location.")
        return
    recruiting["distance_text"] = recruiting["distance"].map(
        lambda d: "" if pd.isna(d) else f"{d:,.0f} {unit}"
    )
    # only what the map draws and its tooltip says: the page carries every point
    recruiting = recruiting[["lat", "lon", "facility", "nct_id", "distance_text"]]
    layers = [
        pdk.Layer(
            "ScatterplotLayer",
            data=recruiting,
            get_position="[lon, lat]",
            get_radius=6000,
            radius_min_pixels=4,
            get_fill_color=[200, 30, 90, 180],
            pickable=True,
        )
    ]
    center_lat, center_lon, zoom = recruiting["lat"].mean(), recruiting["lon"].mean(), 2.5
    if origin is not None:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=pd.DataFrame(
                    [
                        {
                            "lat": origin.lat,
                            "lon": origin.lon,
                            "facility": "You",
                            "nct_id": "",
                            "distance_text": origin.label,
                        }
                    ]
                ),
                get_position="[lon, lat]",
                get_radius=9000,
                radius_min_pixels=7,
                get_fill_color=[20, 90, 220, 230],
                pickable=True,
            )
        )
        center_lat, center_lon, zoom = origin.lat, origin.lon, 5
    st.pydeck_chart(
        pdk.Deck(
            layers=layers,
            map_style="light",  # CARTO basemap: no access token needed
            initial_view_state=pdk.ViewState(latitude=center_lat, longitude=center_lon, zoom=zoom),
            tooltip={"text": "{facility}\n{nct_id}\n{distance_text}"},
        ),
        key="site_map",
    )
    st.caption(
        f"{len(recruiting)} recruiting sites of {recruiting['nct_id'].nunique()} trials"
        + ("; the blue dot is the place you entered." if origin is not None else ".")
    )


def table_view(rows: list[dict]) -> None:
    """The trials as a sortable table in the cards' words (kinds of treatment by their titles,
    "Phase 1/2", the match level as on the cards), nearest site, distance and contact first.
    The CSV keeps the codes; the table is for reading."""
    if not rows:
        st.info("No trials to list.")
        return
    g = load_guidance()
    unit = next((r["distance_unit"] for r in rows if r["distance_unit"]), "")
    distance = f"Distance ({unit})" if unit else "Distance"

    def where(r: dict) -> str:
        parts = (r["nearest_site"], r["nearest_city"], r["nearest_state"], r["nearest_country"])
        return ", ".join(p for p in parts if p)

    shown = pd.DataFrame(
        {
            "Trial": [r["brief_title"] or r["official_title"] for r in rows],
            "Match": [r["match_level"] for r in rows],
            "Nearest recruiting site": [where(r) or "None listed" for r in rows],
            distance: pd.to_numeric([r["nearest_distance"] for r in rows], errors="coerce"),
            "Contact": [r["nearest_contact"] or "No contact listed" for r in rows],
            "Kind of treatment": [g.category(r["main_category"]).title for r in rows],
            "Phase": [phase_label(p for p in r["phases"].split(LIST_SEP) if p) for r in rows],
            "Recruiting sites": pd.to_numeric([r["recruiting_sites"] for r in rows]),
            "Last update": [r["last_update"] for r in rows],
            "Registry id": [r["nct_id"] for r in rows],
            "Registry page": [r["url"] for r in rows],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        key="trial_table",
        column_config={
            "Trial": st.column_config.TextColumn("Trial", width="large"),
            distance: st.column_config.NumberColumn(distance, format="%.0f"),
            "Recruiting sites": st.column_config.NumberColumn("Recruiting sites"),
            "Registry page": st.column_config.LinkColumn("Registry page", display_text="Open"),
        },
    )


def discussion_panel(search: SearchResult, place: str) -> None:
    profile, outcome, result, unit = search.profile, search.outcome, search.fetched, search.unit
    g = load_guidance()
    chosen = marked(outcome)
    st.header("Before you talk to your oncologist", anchor=False)
    st.markdown(f"_{DISCLAIMER}_")
    st.subheader("What treatment aims for")
    _points(g.goals)
    st.subheader("About your situation")
    if not _situation(profile, g):
        st.markdown(
            "Answer the profile questions in the side panel to see what the documents say "
            "about your subtype and where the cancer has spread."
        )
    st.subheader("Clinical trials: what the documents say")
    for title, points in (
        ("Why people consider them", g.trials_why),
        ("Possible benefits", g.trials_pros),
        ("Possible drawbacks", g.trials_cons),
        ("When to bring them up", g.trials_when),
    ):
        if points:
            st.markdown(f"**{title}**")
            _points(points)
    st.subheader("Questions to ask your care team")
    for q in relevant_questions(profile, chosen, g):
        st.markdown(f"- {q.text} {_cited(q.sources)}", unsafe_allow_html=True)
    st.subheader("Your marked trials")
    if not chosen:
        st.caption(
            "Tick 'Add to my discussion sheet' on a trial card to list it here and in the sheet."
        )
    for m in chosen:
        st.markdown(f"**{md(m.trial.title)}** ({md(m.trial.nct_id)}) — {m.level}")
        for asked in m.questions:
            _question(asked)
    st.subheader("Support and comfort")
    _points(g.support)
    sheet = SheetData(
        profile=profile, marked=chosen, data_line=result.source_line(), place=place, unit=unit
    )
    st.subheader("Downloads")
    sheet_md = markdown(sheet, g)
    downloads = (
        (
            "Discussion sheet (printable HTML)",
            html_page(sheet, g),
            "trial-discussion-sheet.html",
            "text/html",
            "dl_sheet_html",
        ),
        (
            "Discussion sheet (Markdown)",
            sheet_md,
            "trial-discussion-sheet.md",
            "text/markdown",
            "dl_sheet_md",
        ),
        (
            "Discussion sheet (PDF)",
            lambda: pdf_bytes(sheet, g),  # laid out when asked for (0.1-0.2 s)
            "trial-discussion-sheet.pdf",
            "application/pdf",
            "dl_sheet_pdf",
        ),
        ("Trials list (CSV)", lambda: search.csv, "mbc-trials.csv", "text/csv", "dl_csv"),
        (
            "How this list was made (JSON)",
            _query_record(search),
            "mbc-trials.csv.query.json",
            "application/json",
            "dl_query",
        ),
    )
    columns = [*st.columns(2), *st.columns(2), *st.columns(2)][: len(downloads)]  # two by two
    for col, (label, data, name, mime, key) in zip(columns, downloads, strict=True):
        col.download_button(label, data, file_name=name, mime=mime, key=key, on_click="ignore")


def _query_record(search: SearchResult):
    """The CSV's companion: the pipeline's query record (the CLI's .query.json) plus the
    page-address parameters that reopen this search. The parameters are read now, while the
    page runs; the JSON is made when downloaded."""
    from app.form import search_params

    extra = {"made_with": "app", "app_link_params": search_params()}
    return lambda: sidecar({**search.record(), **extra})


def about() -> None:
    st.markdown(
        "- **Not medical advice.** This helper reads public registry records to help you "
        "prepare questions. It does not say which treatment to take; only your care team and "
        "the trial team can say whether a trial fits you.\n"
        "- **Registry data may lag.** Sponsors update ClinicalTrials.gov on their own schedule: "
        "a site listed as recruiting may have closed, and new sites may be missing. The data "
        "date is shown above the results.\n"
        "- **How matching works.** Each trial's eligibility text is split into inclusion and "
        "exclusion criteria and read for the facts in your profile (hormone receptors, HER2, "
        "BRCA, PD-L1, earlier treatments, brain metastases, menopause, age, sex). Each rule "
        "gets a verdict — meets, does not meet, or unknown (ask) — with the trial's own words. "
        "Anything you left as unknown never hides a trial. A trial is 'likely not eligible' "
        "only when a fact you gave contradicts a rule the text states; automatic reading can "
        "miss or misread criteria, so check every trial with the trial team.\n"
        "- **Distances** are straight-line distances to the nearest site whose own status is "
        "recruiting; sites that are closed or not yet open are never counted as nearest.\n"
        "- **Guidance** next to each group paraphrases five source documents and names the "
        "document for each line."
    )
