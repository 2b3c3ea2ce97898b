"""Registry-sized study sets built from the real recorded records, for benchmarks at scale.

The recorded set holds 39 recruiting breast cancer studies; the live registry holds about a
thousand recruiting metastatic breast cancer studies, most listing many sites with coordinates.
`scaled_studies(n)` builds n studies as the registry would send them:

- study i is a copy of one of the recorded studies that the app's own query finds in the
  recorded set (cycled), with a new id NCT9xxxxxxx (and its sites renumbered to that id), so no
  two studies share an id and no real id is reused;
- four copies in five whose record lists no site with coordinates are given a window of real
  recorded locations (every `geoPoint` location of ../shared/ctgov/studies and
  ../shared/ctgov/sites, in file order; windows of 1 to 60 sites), so places and distances
  matter as they do on the live registry; the fifth keeps its own locations (often a country
  only, or none), so "sites with no map location" stay common;
- nothing else is changed: titles, criteria, arms and contacts are the recorded ones.

`write_studies(studies, folder)` writes one file per study, the layout the stand-in serves.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from devtools import CTGOV, STUDIES_DIR

SITES_DIR = CTGOV / "sites"
WINDOWS = (1, 2, 3, 5, 8, 12, 20, 30, 45, 60)  # sites given to a copy, cycled (mean about 19)


def _load(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def _locations(study: dict[str, Any]) -> list[dict[str, Any]]:
    module = study.get("protocolSection", {}).get("contactsLocationsModule") or {}
    found = module.get("locations")
    return found if isinstance(found, list) else []


def location_pool(folders: tuple[Path, ...] = (STUDIES_DIR, SITES_DIR)) -> list[dict[str, Any]]:
    """Every recorded location that has coordinates, in file order."""
    pool = []
    for folder in folders:
        for study in _load(folder):
            pool += [loc for loc in _locations(study) if isinstance(loc.get("geoPoint"), dict)]
    return pool


def base_studies(studies_dir: Path = STUDIES_DIR) -> list[dict[str, Any]]:
    """The recorded studies the app's registry query finds (recruiting, breast cancer, advanced
    disease words), asked of the stand-in's own search logic."""
    from devtools.standin import Registry
    from trials_helper.client import SearchQuery

    registry = Registry(studies_dir)
    return [r.study for r in registry.matching(SearchQuery().params(1000))]


def new_id(i: int) -> str:
    return f"NCT9{i:07d}"


def scaled_studies(n: int, studies_dir: Path = STUDIES_DIR) -> list[dict[str, Any]]:
    bases = base_studies(studies_dir)
    pool = location_pool()
    out = []
    for i in range(n):
        study = copy.deepcopy(bases[i % len(bases)])
        ps = study["protocolSection"]
        ps["identificationModule"]["nctId"] = new_id(i)
        has_coordinates = any(isinstance(loc.get("geoPoint"), dict) for loc in _locations(study))
        if not has_coordinates and i % 5 != 4:
            size = WINDOWS[i % len(WINDOWS)]
            start = (i * 37) % max(1, len(pool) - size)
            module = ps.setdefault("contactsLocationsModule", {})
            module["locations"] = copy.deepcopy(pool[start : start + size])
        out.append(study)
    return out


def write_studies(studies: list[dict[str, Any]], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for study in studies:
        nct = study["protocolSection"]["identificationModule"]["nctId"]
        (folder / f"{nct}.json").write_text(json.dumps(study), encoding="utf-8")
    return folder
