"""Facet reader accuracy on the hand-labelled dev set (../shared/ctgov/labels-dev.csv).

Prints per-facet accuracy (lists compared as sets; `?` cells are not scored) and every
disagreement with the evidence that produced the classifier's value; then the earlier-treatment
columns scored line by line on ../shared/ctgov/sentences-dev.csv: each line becomes a one-line
study (title and condition "metastatic breast cancer", the line under its own section heading);
lines with scope=subgroup or setting=early and `?` cells are not scored.
Run: python3 bench/facets_accuracy.py [--quiet]
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trials_helper.facets import FACET_NAMES, classify  # noqa: E402

CTGOV = ROOT.parent / "shared" / "ctgov"
LIST_COLUMNS = {"biomarkers", "categories"}


def same(column: str, expected: str, got: str) -> bool:
    if column in LIST_COLUMNS:
        return set(filter(None, expected.split(";"))) == set(filter(None, got.split(";")))
    return expected == got


def evaluate() -> tuple[dict[str, tuple[int, int]], list[tuple[str, str, str, str, str]]]:
    labels = list(csv.DictReader((CTGOV / "labels-dev.csv").open(encoding="utf-8")))
    scores: dict[str, list[int]] = {c: [0, 0] for c in FACET_NAMES if c in labels[0]}
    misses = []
    for label in labels:
        study = json.loads((CTGOV / "studies" / f"{label['nct_id']}.json").read_text())
        facets = classify(study)
        for column in FACET_NAMES:
            if column not in label:
                continue  # columns the labelled file does not have yet
            expected = label[column]
            if expected.strip() == "?":
                continue
            facet = getattr(facets, column)
            scores[column][1] += 1
            if same(column, expected, facet.text):
                scores[column][0] += 1
            else:
                misses.append((label["nct_id"], column, expected, facet.text, facet.evidence))
    return {c: (ok, n) for c, (ok, n) in scores.items()}, misses


SENTENCE_COLUMNS = {
    "endocrine": "prior_endocrine",
    "cdk46": "prior_cdk46",
    "chemo": "prior_chemo",
    "her2_directed": "prior_her2",
    "adc": "prior_adc",
    "immunotherapy": "prior_immunotherapy",
    "parp": "prior_parp",
}
_HEADINGS = {"inclusion": "Inclusion Criteria:\n\n", "exclusion": "Exclusion Criteria:\n\n"}


def one_line_study(line: dict[str, str]) -> dict:
    criteria = _HEADINGS.get(line["section"], "") + "* " + line["text"]
    return {
        "protocolSection": {
            "identificationModule": {
                "nctId": "NCT00000000",
                "briefTitle": "metastatic breast cancer",
            },
            "conditionsModule": {"conditions": ["metastatic breast cancer"]},
            "eligibilityModule": {"eligibilityCriteria": criteria},
        }
    }


def evaluate_sentences() -> tuple[dict[str, tuple[int, int, int, int]], list[tuple]]:
    """Per column: (right, scored, right among lines that set a rule, lines that set a rule)."""
    lines = list(csv.DictReader((CTGOV / "sentences-dev.csv").open(encoding="utf-8")))
    scores = {c: [0, 0, 0, 0] for c in SENTENCE_COLUMNS.values()}
    misses = []
    for line in lines:
        if line["scope"] == "subgroup" or line["setting"] == "early":
            continue
        facets = classify(one_line_study(line))
        for label_col, column in SENTENCE_COLUMNS.items():
            label = line[label_col].strip()
            if label == "?":
                continue
            expected = label if label in ("required", "excluded") else "any"
            got = getattr(facets, column).text
            s = scores[column]
            s[0] += got == expected
            s[1] += 1
            if expected != "any":
                s[2] += got == expected
                s[3] += 1
            if got != expected:
                misses.append((line["id"], column, expected, got, line["text"]))
    return {c: (a, n, b, m) for c, (a, n, b, m) in scores.items()}, misses


def main() -> int:
    scores, misses = evaluate()
    print(f"{'facet':<18} accuracy")
    for column, (ok, n) in scores.items():
        print(f"{column:<18} {ok}/{n} = {ok / n:.1%}")
    if "--quiet" not in sys.argv:
        print("\nDisagreements (study, facet, label, classifier, evidence):")
        for nct, column, expected, got, evidence in misses:
            print(f"- {nct} {column}: label={expected!r} got={got!r}\n    {evidence[:300]}")
    sentence_scores, sentence_misses = evaluate_sentences()
    print(f"\n{'line by line':<20} all lines          lines that set a rule")
    for column, (ok, n, ok_rule, n_rule) in sentence_scores.items():
        print(f"{column:<20} {ok}/{n} = {ok / n:.1%}   {ok_rule}/{n_rule} = {ok_rule / n_rule:.1%}")
    if "--quiet" not in sys.argv:
        print("\nLine disagreements (id, column, label, reader, line):")
        for sid, column, expected, got, text in sentence_misses:
            print(f"- {sid} {column}: label={expected!r} got={got!r}\n    {text[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
