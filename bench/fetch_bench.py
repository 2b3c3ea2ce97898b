"""Requests and bytes for a full fetch of recruiting MBC trials from the local stand-in.

Compares the project's query (`fields` limited to what the app reads, pageSize=1000) with the
API's defaults (pageSize=10, every field), at a simulated 300 ms per request, on the real
recorded studies served by devtools/standin.py. Prints one line per configuration.
Run: python3 bench/fetch_bench.py
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.standin import RegistryStandIn  # noqa: E402
from trials_helper.client import FIELDS, RegistryClient, SearchQuery  # noqa: E402
from trials_helper.config import load_settings  # noqa: E402

LATENCY = 0.3


def run(
    server: RegistryStandIn, *, page_size: int, fields: tuple[str, ...], everything: bool = False
) -> str:
    server.reset_counters()
    with tempfile.TemporaryDirectory() as cache:
        settings = load_settings(
            {}, api_url=server.api_url, cache_dir=cache, page_size=page_size, retries=0
        )
        client = RegistryClient(settings)
        start = time.perf_counter()
        query = (
            SearchQuery(condition="", terms="", statuses=(), fields=fields)
            if everything
            else SearchQuery(fields=fields)
        )
        result = client.fetch(query)
        elapsed = time.perf_counter() - start
        client.close()
    label = (
        f"{'all 64 records' if everything else 'recruiting MBC'}: pageSize={page_size}, "
        f"fields={'app list' if fields else 'all'}"
    )
    return (
        f"{label:<52} studies={result.fetched:>3} requests={server.request_count:>3} "
        f"bytes={server.bytes_sent:>9,} time={elapsed:5.2f}s"
    )


def main() -> int:
    print(
        f"stand-in latency {LATENCY * 1000:.0f} ms/request; Python {platform.python_version()}"
        f" on {platform.machine()}"
    )
    with RegistryStandIn(latency=LATENCY) as server:
        print(run(server, page_size=1000, fields=FIELDS))
        print(run(server, page_size=10, fields=()))
        print(run(server, page_size=1000, fields=()))
        print(run(server, page_size=1000, fields=FIELDS, everything=True))
        print(run(server, page_size=10, fields=(), everything=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
