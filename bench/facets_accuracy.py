"""Facet reader accuracy on the hand-labelled dev set (../shared/ctgov/labels-dev.csv).

Prints per-facet accuracy (lists compared as sets; `?` cells are not scored) and every
disagreement with the evidence that produced the classifier's value.
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
    scores: dict[str, list[int]] = {c: [0, 0] for c in FACET_NAMES}
    misses = []
    for label in labels:
        study = json.loads((CTGOV / "studies" / f"{label['nct_id']}.json").read_text())
        facets = classify(study)
        for column in FACET_NAMES:
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


def main() -> int:
    scores, misses = evaluate()
    print(f"{'facet':<18} accuracy")
    for column, (ok, n) in scores.items():
        print(f"{column:<18} {ok}/{n} = {ok / n:.1%}")
    if "--quiet" not in sys.argv:
        print("\nDisagreements (study, facet, label, classifier, evidence):")
        for nct, column, expected, got, evidence in misses:
            print(f"- {nct} {column}: label={expected!r} got={got!r}\n    {evidence[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
