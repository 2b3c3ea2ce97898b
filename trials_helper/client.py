"""Search ClinicalTrials.gov API v2 for metastatic breast cancer studies.

`RegistryClient.pages()` is a generator over `nextPageToken`; `fetch()` walks it to the end and
says where the data came from. The client never silently caps: with `max_studies` the result says
how many exist and how many were fetched. When the registry cannot be reached, the last cached
answer is served with its date; with no cache a `RegistryError` says what to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .config import Settings, load_settings
from .errors import (
    RegistryDataError,
    RegistryError,
    RegistryHTTPError,
    RegistryTimeout,
    RegistryUnreachable,
)

if TYPE_CHECKING:
    import requests

    from .cache import CacheStatus

# requests (a tenth of a second to import) and .cache (requests-cache and its backends, a fifth)
# are imported where they are used: a search from a snapshot file never needs them.

log = logging.getLogger(__name__)

RECRUITING = "RECRUITING"
MAX_EMPTY_PAGES = 3  # empty pages that still carry a token, in a row, before giving up
NOT_YET_RECRUITING = "NOT_YET_RECRUITING"

# The condition and the words that make a breast cancer study one about advanced disease. The
# registry's search expands synonyms; the facet reader later checks each study really admits
# metastatic disease, so this errs on the side of finding too much rather than too little.
DEFAULT_CONDITION = "breast cancer"
METASTATIC_TERMS = '(metastatic OR advanced OR "stage IV" OR unresectable OR recurrent)'

# Only the modules the app reads: results, outcomes and references are most of a record's size.
FIELDS: tuple[str, ...] = (
    "protocolSection.identificationModule",
    "protocolSection.statusModule",
    "protocolSection.sponsorCollaboratorsModule",
    "protocolSection.descriptionModule.briefSummary",
    "protocolSection.conditionsModule",
    "protocolSection.designModule",
    "protocolSection.armsInterventionsModule",
    "protocolSection.eligibilityModule",
    "protocolSection.contactsLocationsModule",
)


class DataSource(StrEnum):
    """Where a set of studies came from (the values are the words the query records keep)."""

    REGISTRY = "registry"  # live, just now
    CACHE = "cache"  # a fresh cached answer
    STALE_CACHE = "stale cache"  # the last cached answer, because the registry failed
    SNAPSHOT = "snapshot"  # a file written by `trials-helper fetch`


@dataclass(frozen=True)
class SearchQuery:
    """What to ask the registry for; `params()` is exactly what is sent (minus the page token)."""

    condition: str = DEFAULT_CONDITION
    terms: str = METASTATIC_TERMS
    extra_terms: str = ""
    statuses: tuple[str, ...] = (RECRUITING,)
    geo: str | None = None  # e.g. "distance(42.35,-71.06,100mi)"
    advanced: str | None = None  # Essie filter.advanced, e.g. "AREA[Phase]PHASE3"
    fields: tuple[str, ...] = FIELDS

    @classmethod
    def recruiting(cls, *, include_not_yet: bool = False, **kwargs: Any) -> SearchQuery:
        statuses = (RECRUITING, NOT_YET_RECRUITING) if include_not_yet else (RECRUITING,)
        return cls(statuses=statuses, **kwargs)

    def params(self, page_size: int) -> dict[str, str]:
        term = " AND ".join(t for t in (self.terms, self.extra_terms.strip()) if t)
        params = {
            "format": "json",
            "query.cond": self.condition,
            "filter.overallStatus": ",".join(self.statuses),
            "countTotal": "true",
            "pageSize": str(page_size),
        }
        if term:
            params["query.term"] = term
        if self.geo:
            params["filter.geo"] = self.geo
        if self.advanced:
            params["filter.advanced"] = self.advanced
        if self.fields:
            params["fields"] = ",".join(self.fields)
        return params


@dataclass
class Page:
    studies: list[dict[str, Any]]
    next_token: str | None
    total_count: int | None
    from_cache: bool
    retrieved_at: datetime
    stale: bool  # served from the cache because the registry failed
    reason: str = ""  # why the registry's answer was not used, when stale


@dataclass
class FetchResult:
    """Studies plus everything a user needs to trust them: count, completeness, source, date."""

    studies: list[dict[str, Any]]
    total_count: int | None
    complete: bool
    source: DataSource
    retrieved_at: datetime
    url: str
    params: dict[str, str]
    pages: int = 0
    notes: list[str] = field(default_factory=list)
    stale_reason: str = ""  # why the cache answered instead of the registry

    @property
    def fetched(self) -> int:
        return len(self.studies)

    @property
    def from_cache(self) -> bool:
        return self.source in (DataSource.CACHE, DataSource.STALE_CACHE)

    @property
    def stale(self) -> bool:
        return self.source == DataSource.STALE_CACHE

    def data_date(self) -> str:
        return self.retrieved_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def source_line(self) -> str:
        """The sentence the CLI prints and the app shows under the results."""
        total = "an unknown number of" if self.total_count is None else f"{self.total_count}"
        base = f"The registry reports {total} studies; {self.fetched} fetched"
        if not self.complete:
            base += (
                " (not all: the registry stopped early; try again later)"
                if self.notes and "stopped" in self.notes[0]
                else " (not all: a maximum was set)"
            )
        if self.source == DataSource.REGISTRY:
            return f"{base}, live from the registry at {self.data_date()}."
        if self.source == DataSource.SNAPSHOT:
            return f"{base}, from a snapshot; results as of {self.data_date()}."
        if self.source == DataSource.STALE_CACHE:
            return (
                f"{base}, from the cache because {self.stale_reason or UNREACHABLE}; "
                f"results as of {self.data_date()}."
            )
        return f"{base}, from the cache; results as of {self.data_date()}."


ProgressFn = Callable[[int, int | None], None]

UNREACHABLE = "the registry could not be reached"
TIMED_OUT = "the registry did not answer in time"
UNREADABLE = "the registry's answer could not be read"
PARSED_ATTR = "_trials_helper_page"  # the parsed body, kept on the response that was checked


def page_json(content: bytes, url: str) -> dict[str, Any]:
    """The body of a search page as a dict with a list of studies, or a RegistryDataError."""
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryDataError(
            f"The registry's answer from {url} was not valid JSON ({exc}). This is usually "
            "a passing fault: try again in a few minutes.",
            url=url,
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("studies", []), list):
        raise RegistryDataError(
            f"The registry's answer from {url} has no list of studies. Check "
            "TRIALS_HELPER_API_URL points at the API v2 (ending in /api/v2).",
            url=url,
        )
    return data


def _readable(response: requests.Response) -> bool:
    """Whether a new answer may be cached: only a search page that parses (a bad answer must
    never replace the last good one). The parsed body is kept so it is read once."""
    if response.status_code != 200:
        return True  # only 200s are cached; errors are not this check's business
    try:
        data = page_json(response.content, response.url or "")
    except RegistryDataError:
        return False
    setattr(response, PARSED_ATTR, data)
    # An empty page that asks for another is a fault (it loops: see MAX_EMPTY_PAGES); stored,
    # it would replace that page's good copy and break every later offline walk.
    return bool(data.get("studies")) or not data.get("nextPageToken")


class RegistryClient:
    """The one way the package talks to ClinicalTrials.gov. Creating it makes no request."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._session = None
        self._cache_status: CacheStatus | None = None

    @property
    def session(self):
        if self._session is None:
            from .cache import make_session

            self._session, self._cache_status = make_session(self.settings, _readable)
        return self._session

    @property
    def cache_status(self) -> CacheStatus:
        """The cache in use, with the note as it is now (a shared cache can stop and return)."""
        self.session  # noqa: B018 - opening the session fills the status
        assert self._cache_status is not None
        status = self._cache_status
        return dataclasses.replace(status, note=status.current_note(), health=None)

    @property
    def cache_note(self) -> str:
        """What to say about the cache, or "" when this client never opened it (a snapshot
        run does not need the HTTP cache, and opening it costs a start-up)."""
        return self.cache_status.note if self._session is not None else ""

    @property
    def studies_url(self) -> str:
        return f"{self.settings.api_url}/studies"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def clear_cache(self) -> None:
        from .cache import clear_cache

        clear_cache(self.session)

    # -- one page -------------------------------------------------------------------------
    def _get(self, params: Mapping[str, str], *, refresh: bool, cache_only: bool) -> Page:
        """One page: from the cache when fresh, else from the registry; when the registry
        fails, from the cached copy (however old), marked stale with the reason."""
        import requests

        session = self.session
        request = session.prepare_request(
            requests.Request("GET", self.studies_url, params=dict(params))
        )
        url = request.url or ""
        if cache_only:
            cached = self._cached(request)
            if cached is None:
                raise RegistryUnreachable(f"No cached answer for {url}.", url=url)
            return self._page(cached, url, stale=True)
        try:
            response = self._send(request, refresh)
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            damaged = RegistryDataError(
                f"The registry's answer from {url} was cut off or damaged in transit "
                f"({type(exc).__name__}). Try again in a few minutes.",
                url=url,
            )
            return self._fallback(request, damaged, exc, UNREADABLE)
        except requests.RequestException as exc:
            if _timed_out(exc):
                late = RegistryTimeout(self._unreachable_message(exc), url=url)
                return self._fallback(request, late, exc, TIMED_OUT)
            unreachable = RegistryUnreachable(self._unreachable_message(exc), url=url)
            return self._fallback(request, unreachable, exc, UNREACHABLE)
        from_cache = bool(getattr(response, "from_cache", False))
        if response.status_code != 200:
            error = RegistryHTTPError(
                self._http_message(response), url=url, status=response.status_code
            )
            if from_cache:
                raise error
            return self._fallback(
                request, error, None, f"the registry answered with an error (HTTP {error.status})"
            )
        stale = from_cache and bool(getattr(response, "is_expired", False))
        try:
            return self._page(response, url, stale=stale)
        except RegistryDataError as exc:
            if from_cache:
                # A stored answer that cannot be read (kept before answers were checked):
                # drop it so the next try asks the registry again.
                with contextlib.suppress(Exception):
                    session.cache.delete(session.cache.create_key(request))
                raise
            # A new answer that cannot be read was not stored (see `_readable`), so the last
            # good copy is still there.
            return self._fallback(request, exc, exc.__cause__, UNREADABLE)

    def _fallback(
        self,
        request: requests.PreparedRequest,
        error: RegistryError,
        cause: BaseException | None,
        reason: str,
    ) -> Page:
        """The cached copy of this page, marked stale because of `reason`; else raise `error`."""
        url = request.url or ""
        cached = self._cached(request)
        if cached is not None:
            with contextlib.suppress(RegistryDataError):
                page = self._page(cached, url, stale=True)
                page.reason = reason
                log.info("%s; using the cached answer for %s", reason, url)
                return page
        raise error from cause

    def _cached(self, request: requests.PreparedRequest):
        """The stored answer for this request, however old, or None."""
        from .cache import cached_answer

        try:
            return cached_answer(self.session, request)
        except sqlite3.DatabaseError as exc:  # damaged file (cached_answer passes on only that)
            self._repair(exc)
            return None

    def _send(self, request: requests.PreparedRequest, refresh: bool):
        """session.send, once more on a fresh cache file if the file turns out damaged."""
        try:
            return self.session.send(request, timeout=self.settings.timeout, force_refresh=refresh)
        except sqlite3.DatabaseError as exc:
            from .cache import is_damaged

            if not is_damaged(exc):
                raise
            self._repair(exc)
            return self.session.send(request, timeout=self.settings.timeout, force_refresh=refresh)

    def _repair(self, exc: BaseException) -> None:
        """Set a damaged SQLite cache aside and start a new one, keeping the note for the user
        (damage the start-up check missed, or that happened while running)."""
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.close()
            self._session = None
        from .cache import set_aside_damaged

        note = set_aside_damaged(self.settings, exc)
        self.session  # noqa: B018 - reopen on a new file
        assert self._cache_status is not None
        self._cache_status.note = " ".join(x for x in (self._cache_status.note, note) if x)

    def _page(self, response, url: str, *, stale: bool) -> Page:
        data = getattr(response, PARSED_ATTR, None)
        if data is None:
            data = page_json(response.content, url)
        from_cache = bool(getattr(response, "from_cache", False))
        created = getattr(response, "created_at", None)  # when the answer was received
        retrieved = created or datetime.now(UTC)
        if retrieved.tzinfo is None:
            retrieved = retrieved.replace(tzinfo=UTC)
        total = data.get("totalCount")
        token = data.get("nextPageToken")
        return Page(
            studies=[s for s in data.get("studies") or [] if isinstance(s, dict)],
            next_token=token if isinstance(token, str) and token else None,
            total_count=total if isinstance(total, int) else None,
            from_cache=from_cache or stale,
            retrieved_at=retrieved,
            stale=stale,
        )

    def _unreachable_message(self, exc: Exception) -> str:
        kind = "timed out" if _timed_out(exc) else "could not be reached"
        return (
            f"ClinicalTrials.gov {kind} at {self.settings.api_url} "
            f"({type(exc).__name__}) and nothing is cached for this search yet. Check the "
            "internet connection and try again, or use a saved snapshot "
            "(trials-helper fetch / TRIALS_HELPER_SNAPSHOT)."
        )

    def _http_message(self, response) -> str:
        status = response.status_code
        detail = (response.text or "").strip().splitlines()[0:1]
        detail_text = f": {detail[0][:200]}" if detail else ""
        if status == 429:
            wait = response.headers.get("Retry-After")
            when = f" in {wait} seconds" if wait else " in a few minutes"
            return (
                f"ClinicalTrials.gov is limiting requests (HTTP 429){detail_text}. Try again{when}."
            )
        if status >= 500:
            return (
                f"ClinicalTrials.gov had a server error (HTTP {status}) after "
                f"{self.settings.retries} retries{detail_text}. Try again later."
            )
        return (
            f"ClinicalTrials.gov rejected the search (HTTP {status}){detail_text}. "
            "Check the search options (and TRIALS_HELPER_API_URL)."
        )

    # -- all pages --------------------------------------------------------------------------
    def pages(
        self, query: SearchQuery, *, refresh: bool = False, cache_only: bool = False
    ) -> Iterator[Page]:
        """Yield every page of the search, following nextPageToken until the registry stops."""
        params = query.params(self.settings.page_size)
        token: str | None = None
        seen: set[str] = set()
        empty_in_a_row = 0
        while True:
            page_params = dict(params)
            if token:
                page_params["pageToken"] = token
            page = self._get(page_params, refresh=refresh, cache_only=cache_only)
            yield page
            if page.stale:
                # The registry failed on this page after its retries: the later pages come
                # from the cache at once instead of waiting out the retry budget again.
                cache_only = True
            token = page.next_token
            if not token:
                return
            empty_in_a_row = 0 if page.studies else empty_in_a_row + 1
            if empty_in_a_row >= MAX_EMPTY_PAGES:
                raise RegistryDataError(
                    f"The registry sent {empty_in_a_row} empty pages in a row that each asked "
                    "for another page; stopping so the search does not loop forever. Try again "
                    "later.",
                    url=self.studies_url,
                )
            if token in seen:
                raise RegistryDataError(
                    "The registry sent the same page token twice; stopping so the search does "
                    "not loop forever. Try again later.",
                    url=self.studies_url,
                )
            seen.add(token)

    def fetch(
        self,
        query: SearchQuery | None = None,
        *,
        max_studies: int | None = None,
        refresh: bool = False,
        offline: bool = False,
        progress: ProgressFn | None = None,
    ) -> FetchResult:
        """Every study of the search (or the first `max_studies`), with where and when from.

        `offline` answers from the cache only (any age) and never contacts the registry.
        """
        if max_studies is not None and max_studies < 1:
            raise ValueError(f"max_studies must be 1 or more, not {max_studies}")
        query = query or SearchQuery()
        if offline:
            try:
                result = self._walk(query, max_studies, False, True, progress)
            except RegistryUnreachable as exc:
                note = self.cache_status.note
                raise RegistryUnreachable(
                    "Nothing is cached for this search, so it cannot be answered offline. "
                    "Run it once while online, or use a snapshot (--from FILE)."
                    + (f" {note}" if note else ""),
                    url=exc.url,
                ) from None
            result.source = DataSource.CACHE
            return result
        # A live walk rewrites the cached first page before later pages are fetched. When it
        # will go to the registry (refresh, or an expired first page), keep the cached chain
        # in hand first, so a failure on a later page can still fall back to a whole answer.
        previous: FetchResult | None = None
        if refresh or self._first_page_expired(query):
            with contextlib.suppress(RegistryError):
                previous = self._walk(query, max_studies, False, True, None)
        try:
            return self._walk(query, max_studies, refresh, False, progress)
        except RegistryError as first:
            if previous is None:
                # the cached chain may still be complete (a fresh page 1 can carry a token
                # the cache never saw)
                try:
                    previous = self._walk(query, max_studies, False, True, progress)
                except RegistryError:
                    raise first from None
            previous.source = DataSource.STALE_CACHE
            previous.stale_reason = _reason(first)
            return previous

    def _first_page_expired(self, query: SearchQuery) -> bool:
        import requests

        request = self.session.prepare_request(
            requests.Request("GET", self.studies_url, params=query.params(self.settings.page_size))
        )
        cached = self._cached(request)
        return cached is not None and bool(getattr(cached, "is_expired", False))

    def _walk(self, query, max_studies, refresh, cache_only, progress) -> FetchResult:
        studies: list[dict[str, Any]] = []
        total: int | None = None
        sources: set[DataSource] = set()
        oldest: datetime | None = None
        complete = True
        pages = 0
        reason = ""
        for page in self.pages(query, refresh=refresh, cache_only=cache_only):
            pages += 1
            reason = reason or page.reason
            if total is None:
                total = page.total_count
            studies.extend(page.studies)
            sources.add(
                DataSource.STALE_CACHE
                if page.stale
                else DataSource.CACHE
                if page.from_cache
                else DataSource.REGISTRY
            )
            if oldest is None or page.retrieved_at < oldest:
                oldest = page.retrieved_at
            if progress:
                progress(len(studies), total)
            if max_studies is not None and len(studies) >= max_studies:
                complete = page.next_token is None and len(studies) == max_studies
                studies = studies[:max_studies]
                break
        stopped_early = total is not None and complete and len(studies) < total
        if stopped_early:
            log.warning("registry reported %s studies but sent %s", total, len(studies))
            complete = False
        source = (
            DataSource.STALE_CACHE
            if DataSource.STALE_CACHE in sources
            else DataSource.CACHE
            if DataSource.CACHE in sources
            else DataSource.REGISTRY
        )
        return FetchResult(
            studies=studies,
            total_count=total,
            complete=complete,
            source=source,
            retrieved_at=oldest or datetime.now(UTC),
            url=self.studies_url,
            params=query.params(self.settings.page_size),
            pages=pages,
            notes=["The registry stopped sending pages before the number it reported."]
            if stopped_early
            else [],
            stale_reason=reason,
        )


def _reason(error: RegistryError) -> str:
    """Why the cache answered, in the words of `FetchResult.source_line`."""
    if isinstance(error, RegistryHTTPError) and error.status:
        return f"the registry answered with an error (HTTP {error.status})"
    if isinstance(error, RegistryDataError):
        return UNREADABLE
    if isinstance(error, RegistryTimeout):
        return TIMED_OUT
    return UNREACHABLE


def _timed_out(exc: BaseException) -> bool:
    """A time-out (connect or read, or a retry budget spent on them), not a refusal."""
    import requests

    return (
        isinstance(exc, requests.Timeout)
        or "timed out" in str(exc).lower()
        or isinstance(exc.__context__, TimeoutError)
    )
