"""Helpers to serve real recorded studies as API v2 pages through `responses`.

The studies are the real records in ../shared/ctgov/studies/; only the page envelope
(`studies`, `nextPageToken`, `totalCount`) is built here, as the registry builds it.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import responses

from tests.conftest import all_study_paths

API = "https://clinicaltrials.gov/api/v2"
STUDIES_URL = f"{API}/studies"


def real_studies(status: str | None = None) -> list[dict]:
    out = []
    for path in all_study_paths():
        study = json.loads(path.read_text(encoding="utf-8"))
        overall = study.get("protocolSection", {}).get("statusModule", {}).get("overallStatus")
        if status is None or overall == status:
            out.append(study)
    return out


def paged(studies: list[dict], page_size: int) -> list[dict]:
    """Split studies into API v2 pages: totalCount on the first page, tokens between pages."""
    pages = []
    chunks = [studies[i : i + page_size] for i in range(0, len(studies), page_size)] or [[]]
    for n, chunk in enumerate(chunks):
        page: dict = {"studies": chunk}
        if n == 0:
            page["totalCount"] = len(studies)
        if n + 1 < len(chunks):
            page["nextPageToken"] = f"token-{n + 1}"
        pages.append(page)
    return pages


def serve_pages(rsps: responses.RequestsMock, pages: list[dict], url: str = STUDIES_URL):
    """Answer each request with the page its pageToken names (none = first page)."""

    def callback(request):
        token = parse_qs(urlparse(request.url).query).get("pageToken", [""])[0]
        index = int(token.split("-")[1]) if token else 0
        return 200, {"Content-Type": "application/json"}, json.dumps(pages[index])

    rsps.add_callback(responses.GET, url, callback=callback)
