"""Researchers' export: a stable, documented CSV (plus JSON / Markdown) and a diff of two exports.

`COLUMNS` is the schema: name, meaning, example. The README and docs/export.md list it, and a test
keeps them equal. Cells that a spreadsheet would run as a formula are neutralised, lists are joined
by "; ", and the file is UTF-8 with a byte-order mark so Excel opens it correctly. A sidecar
`<file>.query.json` records the exact query, so the same list can be fetched again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from . import __version__
from .facets import FACET_NAMES
from .geo import recruiting_site_count
from .match import ASK, NOT_MET, TrialMatch
from .safetext import LIST_SEP, md_escape, safe_cell, write_csv

__all__ = ["COLUMNS", "LIST_SEP", "safe_cell", "write_csv"]


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column("nct_id", "ClinicalTrials.gov identifier", "NCT05514054"),
    Column(
        "url",
        "The trial's page on ClinicalTrials.gov",
        "https://clinicaltrials.gov/study/NCT05514054",
    ),
    Column("brief_title", "Short title as registered", "A Study of ..."),
    Column("official_title", "Full official title", "A Phase 3, Randomized ..."),
    Column("overall_status", "Registry status of the whole trial", "RECRUITING"),
    Column("phases", "Phases, joined by '; '", "PHASE2; PHASE3"),
    Column("sponsor", "Lead sponsor", "AstraZeneca"),
    Column("main_category", "Kind of treatment the trial is grouped under", "adc"),
    Column("categories", "Every kind of treatment given, joined by '; '", "adc; her2_directed"),
    Column("admits_metastatic", "Enrols metastatic / advanced disease (facet)", "yes"),
    Column("hr", "Hormone-receptor status required (facet)", "positive"),
    Column("her2", "HER2 status required (facet)", "low"),
    Column("brca", "BRCA1/2 mutation required (facet)", "any"),
    Column("pdl1", "PD-L1-positive tumour required (facet)", "any"),
    Column("biomarkers", "Other tumour alterations required, joined by '; ' (facet)", "pik3ca"),
    Column("prior_cdk46", "Earlier CDK4/6 inhibitor required / excluded (facet)", "required"),
    Column("prior_endocrine", "Earlier hormone therapy required / excluded (facet)", "any"),
    Column("prior_chemo", "Earlier chemotherapy for advanced disease (facet)", "excluded"),
    Column("brain_mets", "Brain-metastasis rule (facet)", "stable_allowed"),
    Column("menopause", "Menopausal status required (facet)", "any"),
    Column("prior_her2", "Earlier anti-HER2 therapy required / excluded (facet)", "any"),
    Column("prior_adc", "Earlier antibody-drug conjugate required / excluded (facet)", "excluded"),
    Column(
        "prior_immunotherapy",
        "Earlier immunotherapy (checkpoint inhibitor) required / excluded (facet)",
        "any",
    ),
    Column("prior_parp", "Earlier PARP inhibitor required / excluded (facet)", "any"),
    Column(
        "facet_evidence",
        "For each stated facet, the criterion text that decided it",
        "her2: HER2-negative defined as ...",
    ),
    Column("match_level", "Overall level for the profile used", "check with your oncologist"),
    Column(
        "cohort",
        "For trials with several cohorts: the one that fits the profile best, with its words",
        "Cohort B (triple-negative, first line) may fit",
    ),
    Column("verdict_summary", "Counts of verdicts", "meets 4; unknown 1; does not meet 0"),
    Column("reasons_not_met", "Rules the profile does not meet, with reasons", "HER2: ..."),
    Column(
        "reasons_unknown",
        "Rules to check with the oncologist, with reasons",
        "Brain metastases: ...",
    ),
    Column("nearest_site", "Nearest site whose own status is recruiting", "Dana-Farber"),
    Column("nearest_city", "Its city", "Boston"),
    Column("nearest_state", "Its state or region", "Massachusetts"),
    Column("nearest_country", "Its country", "United States"),
    Column("nearest_distance", "Great-circle distance from the place given, rounded to 0.1", "3.2"),
    Column("distance_unit", "Unit of nearest_distance (mi or km)", "mi"),
    Column(
        "nearest_contact",
        "Contact listed for that site (or the trial's central contact)",
        "Jane Doe · 617-555-0100 · jane@example.org",
    ),
    Column("recruiting_sites", "Number of sites whose own status is recruiting", "12"),
    Column("last_update", "Date the registry record was last updated", "2025-10-01"),
    Column("status_verified", "Month the sponsor last verified the status", "2025-09"),
    Column(
        "data_retrieved",
        "When these data were fetched from the registry (UTC)",
        "2026-11-25 09:30 UTC",
    ),
    Column(
        "query",
        "The exact registry request that produced the list",
        "https://clinicaltrials.gov/api/v2/studies?query.cond=...",
    ),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
FACET_COLUMNS = tuple(name for name in FACET_NAMES if name != "categories")


def query_url(url: str, params: Mapping[str, str]) -> str:
    return f"{url}?{urlencode(dict(params))}" if url else urlencode(dict(params))


def _facet_text(value: Any) -> str:
    return LIST_SEP.join(value) if isinstance(value, tuple | list) else str(value)


def trial_row(
    m: TrialMatch,
    *,
    unit: str = "mi",
    data_retrieved: str = "",
    query: str = "",
    recruiting_sites: int | None = None,
) -> dict[str, str]:
    """One CSV row (raw values; `safe_cell` is applied when writing)."""
    t, f = m.trial, m.facets
    nearest = m.nearest
    site = getattr(nearest, "site", None)
    distance = getattr(nearest, "distance", None)
    contact = ""
    if site is not None and site.contacts:
        contact = site.contacts[0].label()
    elif t.central_contacts:
        contact = t.central_contacts[0].label()
    if recruiting_sites is None:
        recruiting_sites = recruiting_site_count(t.sites)
    evidence = [
        f"{name}: {' '.join(getattr(f, name).evidence.split())}"
        for name in FACET_COLUMNS
        if getattr(f, name).evidence
    ]
    row = {
        "nct_id": t.nct_id,
        "url": t.url,
        "brief_title": t.brief_title,
        "official_title": t.official_title,
        "overall_status": t.overall_status,
        "phases": LIST_SEP.join(t.phases),
        "sponsor": t.sponsor,
        "main_category": m.main_category,
        "categories": LIST_SEP.join(m.categories),
        **{name: _facet_text(getattr(f, name).value) for name in FACET_COLUMNS},
        "facet_evidence": " | ".join(evidence),
        "match_level": m.level,
        "cohort": m.cohort_note,
        "verdict_summary": m.summary(),
        "reasons_not_met": " | ".join(m.reasons(NOT_MET)),
        "reasons_unknown": " | ".join(m.reasons(ASK)),
        "nearest_site": site.facility if site else "",
        "nearest_city": site.city if site else "",
        "nearest_state": site.state if site else "",
        "nearest_country": site.country if site else "",
        "nearest_distance": f"{distance:.1f}" if distance is not None else "",
        "distance_unit": unit if distance is not None else "",
        "nearest_contact": contact,
        "recruiting_sites": str(recruiting_sites),
        "last_update": t.last_update,
        "status_verified": t.status_verified,
        "data_retrieved": data_retrieved,
        "query": query,
    }
    assert tuple(row) == COLUMN_NAMES
    return row


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = COLUMN_NAMES) -> str:
    """Every CSV cell goes through `safetext.safe_cell` (formulas, hidden characters, length)."""
    buffer = io.StringIO()
    write_csv(rows, buffer, columns)
    return buffer.getvalue()


def csv_bytes(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = COLUMN_NAMES) -> bytes:
    """UTF-8 with BOM: what Excel needs to show accents and non-Latin names correctly."""
    return csv_text(rows, columns).encode("utf-8-sig")


def markdown_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of export rows; registry text escaped as in the discussion sheet (it
    was written as is, so a title's <script> ran where the file was rendered). The column
    `title` is the brief title, or the official one when a record has no brief title."""

    def value(row: Mapping[str, Any], column: str) -> Any:
        if column == "title":
            return row.get("brief_title") or row.get("official_title") or ""
        value = row.get(column, "")
        return LIST_SEP.join(map(str, value)) if isinstance(value, list | tuple) else value

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(md_escape(value(r, c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_sites_csv(frame, path: str | Path) -> int:
    """The sites table (`geo.site_rows`) as a CSV, through the same neutraliser as the trials
    CSV (it was written by pandas as is: cells could start with =, + or @)."""
    from .output import write_output

    rows = frame.to_dict("records")
    buffer = io.StringIO()
    n = write_csv(rows, buffer, [str(c) for c in frame.columns])
    write_output(path, buffer.getvalue().encode("utf-8-sig"))
    return n


def sidecar(meta: Mapping[str, Any]) -> str:
    return json.dumps(
        {"trials_helper_version": __version__, **meta}, indent=2, ensure_ascii=False, default=str
    )


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".query.json")


# -------------------------------------------------------------------------------------------
# Diff of two exports


@dataclass(frozen=True)
class ExportDiff:
    added: tuple[dict[str, str], ...]
    removed: tuple[dict[str, str], ...]
    changed: tuple[tuple[str, str, str, str], ...]  # (nct_id, column, old, new)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def text(self) -> str:
        lines = [
            f"{len(self.added)} added, {len(self.removed)} removed, "
            f"{len({c[0] for c in self.changed})} changed"
        ]
        lines += [f"+ {r['nct_id']}  {r.get('brief_title', '')}" for r in self.added]
        lines += [f"- {r['nct_id']}  {r.get('brief_title', '')}" for r in self.removed]
        lines += [
            f"~ {nct}  {col}: {old or '(empty)'} -> {new or '(empty)'}"
            for nct, col, old, new in self.changed
        ]
        return "\n".join(lines) + "\n"


DIFF_COLUMNS = ("overall_status", "match_level", "recruiting_sites", "nearest_site", "last_update")


def read_export(path: Path) -> dict[str, dict[str, str]]:
    from .errors import DataFileError

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"{path} could not be read as a CSV export ({exc}).") from exc
    # A file without the header (empty, or not a CSV at all) used to read as an empty export,
    # so `diff` reported every trial as removed or added and exited 0.
    if "nct_id" not in header:
        raise DataFileError(
            f"{path} has no nct_id column; is it a CSV written by `trials-helper search`?"
        )
    unnamed = [n for n, r in enumerate(rows, 2) if not (r.get("nct_id") or "").lstrip("'")]
    if unnamed:
        raise DataFileError(
            f"{path} line {unnamed[0]} has no nct_id ({len(unnamed)} such rows); the file is "
            "damaged or not a trials-helper export."
        )
    return {r["nct_id"].lstrip("'"): r for r in rows}


def diff_exports(
    old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]
) -> ExportDiff:
    added = tuple(dict(new[k]) for k in sorted(set(new) - set(old)))
    removed = tuple(dict(old[k]) for k in sorted(set(old) - set(new)))
    changed = []
    for k in sorted(set(old) & set(new)):
        for col in DIFF_COLUMNS:
            a, b = old[k].get(col, ""), new[k].get(col, "")
            if a != b:
                changed.append((k, col, a, b))
    return ExportDiff(added, removed, tuple(changed))
