"""Pipeline timings: warm start from cache, classify + match per 1,000 trials, filter change.

- warm start: a client whose cache already holds the answer (stand-in, real recorded studies)
  -> fetch -> analyse (parse + classify) -> select (match + group) for one profile;
- classify and match: 1,000 real studies (the 947 corpus texts + recorded studies, cycled);
- filter change: `select` again with other filters on the already analysed 1,000 (what the app
  recomputes when a widget changes);
- peak memory of the process (ru_maxrss).
Run: python3 bench/pipeline_bench.py
"""

from __future__ import annotations

import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from facets_throughput import studies  # noqa: E402

from devtools.standin import RegistryStandIn  # noqa: E402
from trials_helper.client import RegistryClient, SearchQuery  # noqa: E402
from trials_helper.config import load_settings  # noqa: E402
from trials_helper.match import match_all  # noqa: E402
from trials_helper.profile import Profile  # noqa: E402
from trials_helper.search import SearchOptions, analyse, select  # noqa: E402

PROFILE = Profile(
    hr="positive",
    her2="zero",
    prior_endocrine="yes",
    prior_cdk46="yes",
    chemo_lines="0",
    brain="none",
    menopause="post",
)


def best(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    print(f"Python {platform.python_version()} on {platform.machine()}, one process")
    with RegistryStandIn() as server, tempfile.TemporaryDirectory() as cache:
        settings = load_settings({}, api_url=server.api_url, cache_dir=cache, retries=0)
        RegistryClient(settings).fetch(SearchQuery())  # fill the cache

        def warm() -> None:
            client = RegistryClient(settings)
            result = client.fetch(SearchQuery())
            assert result.source == "cache"
            select(analyse(result.studies), PROFILE)

        print(
            f"warm start (cache -> grouped result, {len(SearchQuery().statuses)} status, "
            f"recorded set): {best(warm) * 1000:.0f} ms"
        )

    pool = studies(1000)
    t_analyse = best(lambda: analyse(pool), 1)
    analysed = analyse(pool)
    trials = [a.trial for a in analysed]
    facets = {a.trial.nct_id: a.facets for a in analysed}
    t_match = best(lambda: match_all(PROFILE, trials, facets))
    t_filter = best(lambda: select(analysed, PROFILE, None, SearchOptions(metastatic_only=False)))
    print(
        f"parse + classify {len(pool)} studies: {t_analyse:.2f} s ({len(analysed)} distinct trials)"
    )
    print(f"match {len(trials)} trials against one profile: {t_match * 1000:.0f} ms")
    print(f"filter change (select on {len(analysed)} analysed trials): {t_filter * 1000:.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
