"""Throughput of the facet reader: classify 1,000 real studies on one core.

Uses the 947 real eligibility texts of ../shared/ctgov/corpus plus the recorded studies (wrapped
as they come), cycling to 1,000. The criteria splitter keeps an LRU cache keyed by text, so the
run clears it (and the lower-case and sentence caches) first, so every text is read for real.
Run: python3 bench/facets_throughput.py
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trials_helper.eligibility import _split_cached  # noqa: E402
from trials_helper.facets import (  # noqa: E402
    _lower,
    _norm_lines,
    classify_trial,
    her2_spelling,
    hr_spelling,
    sentences,
)
from trials_helper.reading.context import cue_book  # noqa: E402
from trials_helper.reading.document import read_clauses  # noqa: E402
from trials_helper.reading.lexicon import _names_a_class, _word_classes  # noqa: E402
from trials_helper.reading.prior import _read_sentence  # noqa: E402
from trials_helper.reading.rules import _decide  # noqa: E402
from trials_helper.reading.text import clear_masks  # noqa: E402
from trials_helper.studies import parse_study  # noqa: E402

CTGOV = ROOT.parent / "shared" / "ctgov"


def studies(n: int = 1000) -> list[dict]:
    corpus = json.loads((CTGOV / "corpus" / "nli4ct-breast-criteria.json").read_text())
    recorded = [json.loads(p.read_text()) for p in sorted((CTGOV / "studies").glob("*.json"))]
    pool = corpus + recorded
    return [pool[i % len(pool)] for i in range(n)]


def main() -> int:
    trials = [parse_study(s) for s in studies()]
    best = float("inf")
    for _ in range(3):
        caches = (_split_cached, _lower, sentences, read_clauses, _read_sentence, _word_classes)
        caches += (her2_spelling, hr_spelling, _decide, _norm_lines, _names_a_class)
        for cache in caches:
            cache.cache_clear()
        clear_masks()
        cue_book().scanner.memo.clear()  # the cue scanner's patterns-by-first-letters memo
        start = time.perf_counter()
        for t in trials:
            classify_trial(t)
        best = min(best, time.perf_counter() - start)
    print(
        f"classified {len(trials)} studies in {best:.3f} s (best of 3, one core, "
        f"Python {platform.python_version()}, {platform.machine()})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
