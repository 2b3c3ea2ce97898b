"""What the app draws: one function per part of the page, each taking plain package objects.

No decisions are made here: levels, reasons, groups, questions and export rows all come from
`trials_helper`. Registry text is shown with `st.text` / escaped Markdown, never as HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pydeck as pdk
import streamlit as st

from trials_helper.client import FetchResult
from trials_helper.export import COLUMN_NAMES
from trials_helper.group import TrialGroup
from trials_helper.guidance import CategoryGuidance, load_guidance, source_label
from trials_helper.match import ASK, CHECK, MEETS, NOT_MET, POSSIBLE, UNLIKELY, TrialMatch
from trials_helper.pipeline import SearchResult
from trials_helper.safetext import md_escape
from trials_helper.search import SearchOutcome
from trials_helper.sheet import (
    DISCLAIMER,
    SheetData,
    html_page,
    markdown,
    pdf_bytes,
    relevant_questions,
)

LEVEL_BADGE = {
    POSSIBLE: ":green-badge[possible match]",
    CHECK: ":orange-badge[check with your oncologist]",
    UNLIKELY: ":red-badge[likely not eligible]",
}
VERDICT_ICON = {MEETS: "✅", ASK: "❓", NOT_MET: "❌"}


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
            icon="⚠️",
        )
    elif result.source == "snapshot":
        st.info(result.source_line(), icon="🗂️")
    else:
        st.info(result.source_line(), icon="🗓️")
    if cache_note:
        st.caption(cache_note)


def summary(result: FetchResult, outcome: SearchOutcome) -> None:
    counts = outcome.counts_by_level()
    cols = st.columns(4)
    cols[0].metric("Trials found", outcome.total)
    cols[1].metric("After your filters", len(outcome.matches))
    cols[2].metric("Possible matches", counts[POSSIBLE])
    cols[3].metric("To check with your oncologist", counts[CHECK])
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
                col.markdown(
                    f"- {p.text}  \n  <small>{'; '.join(map(source_label, p.sources))}</small>",
                    unsafe_allow_html=True,
                )
        if cg.examples:
            st.caption("Examples named in the documents: " + ", ".join(cg.examples))
        st.caption("Sources: " + "; ".join(map(source_label, cg.sources)))


def trial_card(m: TrialMatch, unit: str) -> None:
    t = m.trial
    guidance = load_guidance()
    with st.container(border=True):
        st.markdown(f"#### [{md(t.title)}](<{t.url}>)")  # the id in t.url is URL-quoted
        st.markdown(
            f"{LEVEL_BADGE[m.level]} &nbsp; **{md(t.nct_id)}** · {md(t.phase_label)} · "
            f"{md(t.sponsor or 'sponsor not given')} · last updated "
            f"{md(t.last_update or 'unknown')}"
        )
        others = [guidance.category(c).title for c in m.categories[1:]]
        if others:
            st.caption("Also gives: " + ", ".join(others))
        if m.cohort_note:
            st.markdown(f"**Group in this trial:** {md(m.cohort_note)}")
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
            st.markdown(f"📍 Nearest recruiting site: {where}{dist_text}{inferred}")
            contacts = [c.label() for c in site.contacts] or [c.label() for c in t.central_contacts]
            if contacts:
                st.markdown("☎️ " + md("; ".join(contacts[:2])))
        elif t.central_contacts:
            st.markdown(
                "☎️ Trial contact: " + md("; ".join(c.label() for c in t.central_contacts[:2]))
            )
        st.checkbox(
            "Add to my discussion sheet",
            value=t.nct_id in marked_ids(),
            key=mark_key(t.nct_id),
            on_change=_on_mark,
            args=(t.nct_id,),
        )
        why = st.expander(f"Why: {m.summary()}", key=f"why_{t.nct_id}", on_change="rerun")
        with why:
            for v in m.verdicts if why.open else ():
                st.markdown(f"{VERDICT_ICON[v.verdict]} **{md(v.label)}** — {md(v.reason)}")
                if v.evidence:
                    st.caption("Trial's words: " + md(v.evidence))
            if why.open and not m.verdicts:
                st.write(
                    "The trial states no rule on the facts this helper reads. "
                    "Ask the trial team about the full criteria."
                )
        if m.questions:
            ask = st.expander(
                "Questions to ask about this trial", key=f"ask_{t.nct_id}", on_change="rerun"
            )
            with ask:
                for q in m.questions if ask.open else ():
                    st.markdown(f"- {md(q)}")


def groups_view(groups: Sequence[TrialGroup], unit: str, per_group: int) -> None:
    if not groups:
        st.info(
            "No trials match these filters. Try a larger distance, fewer filters, or "
            "include trials not yet recruiting."
        )
        return
    for g in groups:
        st.subheader(f"{g.title}")
        st.caption(g.headline())
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
    if not rows:
        st.info("No trials to list.")
        return
    frame = pd.DataFrame(rows, columns=COLUMN_NAMES)
    frame["title"] = frame["brief_title"].where(frame["brief_title"] != "", frame["official_title"])
    shown = frame[
        [
            "nct_id",
            "url",
            "title",
            "match_level",
            "main_category",
            "phases",
            "nearest_site",
            "nearest_city",
            "nearest_distance",
            "distance_unit",
            "recruiting_sites",
            "last_update",
        ]
    ].copy()
    shown["nearest_distance"] = pd.to_numeric(shown["nearest_distance"], errors="coerce")
    shown["recruiting_sites"] = pd.to_numeric(shown["recruiting_sites"], errors="coerce")
    st.dataframe(
        shown,
        hide_index=True,
        key="trial_table",
        column_config={
            "nct_id": "Trial",
            "url": st.column_config.LinkColumn("Registry page", display_text="Open"),
            "title": st.column_config.TextColumn("Title", width="large"),
            "match_level": "Match level",
            "main_category": "Kind of treatment",
            "phases": "Phases",
            "nearest_site": "Nearest recruiting site",
            "nearest_city": "City",
            "distance_unit": "Unit",
            "recruiting_sites": st.column_config.NumberColumn("Recruiting sites"),
            "last_update": "Last update",
            "nearest_distance": st.column_config.NumberColumn("Distance", format="%.0f"),
        },
    )


def discussion_panel(search: SearchResult, place: str) -> None:
    profile, outcome, result, unit = search.profile, search.outcome, search.fetched, search.unit
    g = load_guidance()
    chosen = marked(outcome)
    st.markdown(f"_{DISCLAIMER}_")
    st.subheader("Clinical trials: what the documents say")
    for title, points in (
        ("Why people consider them", g.trials_why),
        ("Possible benefits", g.trials_pros),
        ("Possible drawbacks", g.trials_cons),
        ("When to bring them up", g.trials_when),
    ):
        if points:
            st.markdown(f"**{title}**")
            for p in points:
                st.markdown(
                    f"- {p.text} <small>({'; '.join(map(source_label, p.sources))})</small>",
                    unsafe_allow_html=True,
                )
    st.subheader("Questions to ask your care team")
    for q in relevant_questions(profile, chosen, g):
        st.markdown(
            f"- {q.text} <small>({'; '.join(map(source_label, q.sources))})</small>",
            unsafe_allow_html=True,
        )
    st.subheader("Your marked trials")
    if not chosen:
        st.caption(
            "Tick 'Add to my discussion sheet' on a trial card to list it here and in the sheet."
        )
    for m in chosen:
        st.markdown(f"**{md(m.trial.title)}** ({md(m.trial.nct_id)}) — {m.level}")
        for q in m.questions:
            st.markdown(f"- {md(q)}")
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
    )
    columns = [*st.columns(2), *st.columns(2)]  # two by two: full labels stay readable
    for col, (label, data, name, mime, key) in zip(columns, downloads, strict=True):
        col.download_button(label, data, file_name=name, mime=mime, key=key, on_click="ignore")


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
