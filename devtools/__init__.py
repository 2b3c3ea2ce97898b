"""Development tools shared by the tests and the benchmarks (never imported by the package).

- `standin.py`: a local ClinicalTrials.gov API v2 stand-in serving the real recorded studies;
- `redis_server.py`: a real `redis-server` on 127.0.0.1 for shared-cache runs;
- `scale.py`: registry-sized study sets built from the real records (new NCT ids).

The recorded data live in ../shared/ctgov beside the repository.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CTGOV = SHARED / "ctgov"
STUDIES_DIR = CTGOV / "studies"
