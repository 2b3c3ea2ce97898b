"""A local stand-in for ClinicalTrials.gov API v2, serving the real recorded studies.

Why: the client's retries, timeouts, cache and pagination can only be trusted once they have met
real sockets, and the registry itself must never be touched by tests or benchmarks. The stand-in
answers `GET /api/v2/studies` (and `/api/v2/studies/NCT...`) from ../shared/ctgov/studies/ — it
never invents a study — and can be told to misbehave, one request at a time.

    with RegistryStandIn() as server:            # 127.0.0.1, a free port
        settings = load_settings({}, api_url=server.api_url)
        server.faults.extend(["429:retry-after=1", "503", "reset"])   # the next three requests
        server.rule = lambda req: "503" if "pageToken" in req.params else None  # a standing rule
        server.latency = 0.3                     # seconds added to every request
        server.request_count, server.bytes_sent  # for benchmarks

By hand (browser tests, benchmarks): `python -m devtools.standin --port 8765 [--latency 0.2]`.
Tests import it through `tests/standin.py`; benchmarks import it from here (bench/ never imports
tests/).

What is implemented, and how simply
- `query.cond`, `query.term`, `query.intr`: a small Essie subset — words, "quoted phrases", AND,
  OR, NOT, parentheses, implicit AND between neighbours. Matching is case-insensitive on whole
  words (a phrase is consecutive words) of the study's titles, acronym, conditions, keywords,
  summary, description, eligibility criteria and arms/interventions (`query.intr`: only the
  interventions). No stemming or synonyms, unlike the real registry. `AREA[...]`/`SEARCH[...]`
  answer 400.
- `filter.overallStatus` (comma list; empty means no filter), `filter.geo=distance(lat,lon,Nmi)`
  or `...,Nkm)` (any site's geoPoint within the distance, haversine), `filter.ids` (NCT ids).
  `filter.advanced` and `sort` are real parameters the stand-in does not implement: 400 saying so.
- `pageSize` (default 10; 0 means default; above 1000 is cut to 1000, as the registry does),
  `pageToken` (opaque: base64 of the offset and a hash of the query; a token from another query
  is a 400; `vary_tokens=True` adds a fresh nonce to each, as when the registry's data changed
  between two searches), `countTotal=true` (`totalCount` on the first page only), `fields`
  (comma list of dotted paths; only those subtrees are sent; a path found in no recorded study
  is a 400; piece names such as `NCTId` are not implemented),
  `format=json` only.
- Any other parameter: 400 with the registry's plain-text wording ("`x` is unknown parameter").
- Studies come in NCT id order.

Faults (strings, consumed one per request in order from `server.faults`; else `server.rule`):
    "NNN" / "429:retry-after=S"   that HTTP status (plain-text body), optional Retry-After
    "slow:S"                      wait S seconds, then answer normally (past a read timeout)
    "reset"                       close the connection with a TCP RST, no answer
    "disconnect"                  close the connection cleanly (FIN), no answer
    "malformed"                   200 with a body that is not JSON
    "truncated"                   200, Content-Length of the whole body, only half sent, closed
    "half"                        200, the first half of the body with a matching Content-Length
    "missing-fields"              the page's studies keep only identificationModule
    "empty-with-token"            no studies, and a new nextPageToken that asks for this page again
    "drop-token"                  the page without its nextPageToken (the walk ends early)
    "ok"                          no fault (to fault a later request in a script)
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import contextlib
import functools
import gzip
import hashlib
import itertools
import json
import math
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devtools import STUDIES_DIR

API_PREFIX = "/api/v2"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
STATUSES = frozenset(
    {
        "ACTIVE_NOT_RECRUITING",
        "COMPLETED",
        "ENROLLING_BY_INVITATION",
        "NOT_YET_RECRUITING",
        "RECRUITING",
        "SUSPENDED",
        "TERMINATED",
        "WITHDRAWN",
        "AVAILABLE",
        "NO_LONGER_AVAILABLE",
        "TEMPORARILY_NOT_AVAILABLE",
        "APPROVED_FOR_MARKETING",
        "WITHHELD",
        "UNKNOWN",
    }
)
KNOWN_PARAMS = frozenset(
    {
        "format",
        "query.cond",
        "query.term",
        "query.intr",
        "filter.overallStatus",
        "filter.geo",
        "filter.ids",
        "fields",
        "pageSize",
        "pageToken",
        "countTotal",
    }
)
# Real registry parameters the stand-in does not implement: a 400 that says so, not a silent
# answer that ignores them.
NOT_IMPLEMENTED = frozenset(
    {
        "filter.advanced",
        "sort",
        "query.locn",
        "query.titles",
        "query.outc",
        "query.spons",
        "query.lead",
        "query.id",
        "query.patient",
        "postFilter.overallStatus",
        "postFilter.geo",
        "postFilter.ids",
        "postFilter.advanced",
        "filter.synonyms",
        "postFilter.synonyms",
        "aggFilters",
        "geoDecay",
        "markupFormat",
    }
)
# Parameters that are not part of "the query" a page token belongs to.
_NOT_IN_QUERY = frozenset({"pageToken", "pageSize", "countTotal"})


class BadRequest(ValueError):
    """A request the registry would answer with HTTP 400 (the message is the plain-text body)."""


# -- the recorded studies -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Record:
    nct_id: str
    study: dict[str, Any]
    status: str | None
    words: Words  # the searchable text
    intr_words: Words  # the interventions only (query.intr)
    points: tuple[tuple[float, float], ...]  # site coordinates


_WORD = re.compile(r"[a-z0-9]+")


class Words:
    """A text as lower-case words, indexed by word so a phrase is found without a scan."""

    __slots__ = ("seq", "at")

    def __init__(self, seq: Iterable[str]) -> None:
        self.seq = tuple(seq)
        self.at: dict[str, list[int]] = {}
        for i, word in enumerate(self.seq):
            self.at.setdefault(word, []).append(i)


def _words(texts: Iterable[Any]) -> Words:
    out: list[str] = []
    for text in texts:
        if isinstance(text, str):
            out.extend(_WORD.findall(text.lower()))
            out.append("")  # a break, so a phrase never spans two fields
    return Words(out)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _intervention_texts(ps: Any) -> list[str]:
    texts: list[str] = []
    for item in _get(ps, "armsInterventionsModule", "interventions") or []:
        if isinstance(item, dict):
            texts += _strings(item.get("name")) + _strings(item.get("description"))
            texts += _strings(item.get("otherNames"))
    return texts


def _record(study: dict[str, Any]) -> _Record:
    ps = study.get("protocolSection") or {}
    ident = ps.get("identificationModule") or {}
    texts: list[str] = []
    for key in ("briefTitle", "officialTitle", "acronym"):
        texts += _strings(ident.get(key))
    texts += _strings(_get(ps, "conditionsModule", "conditions"))
    texts += _strings(_get(ps, "conditionsModule", "keywords"))
    texts += _strings(_get(ps, "descriptionModule", "briefSummary"))
    texts += _strings(_get(ps, "descriptionModule", "detailedDescription"))
    texts += _strings(_get(ps, "eligibilityModule", "eligibilityCriteria"))
    for arm in _get(ps, "armsInterventionsModule", "armGroups") or []:
        if isinstance(arm, dict):
            texts += _strings(arm.get("label")) + _strings(arm.get("description"))
            texts += _strings(arm.get("interventionNames"))
    intr = _intervention_texts(ps)
    points = []
    for loc in _get(ps, "contactsLocationsModule", "locations") or []:
        geo = loc.get("geoPoint") if isinstance(loc, dict) else None
        if (
            isinstance(geo, dict)
            and isinstance(geo.get("lat"), int | float)
            and isinstance(geo.get("lon"), int | float)
        ):
            points.append((float(geo["lat"]), float(geo["lon"])))
    status = _get(ps, "statusModule", "overallStatus")
    return _Record(
        nct_id=str(ident.get("nctId", "")),
        study=study,
        status=status if isinstance(status, str) else None,
        words=_words(texts + intr),
        intr_words=_words(intr),
        points=tuple(points),
    )


def _paths(obj: Any, prefix: str, out: set[str]) -> None:
    """Every dotted key path in a record (lists are looked through), for checking `fields`."""
    if isinstance(obj, list):
        for item in obj:
            _paths(item, prefix, out)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            _paths(value, path, out)


@functools.lru_cache(maxsize=4)
def _corpus(studies_dir: str) -> tuple[tuple[_Record, ...], frozenset[str]]:
    records = []
    paths: set[str] = set()
    for path in sorted(Path(studies_dir).glob("*.json")):
        study = json.loads(path.read_text(encoding="utf-8"))
        records.append(_record(study))
        _paths(study, "", paths)
    records.sort(key=lambda r: r.nct_id)
    return tuple(records), frozenset(paths)


# -- the Essie subset -----------------------------------------------------------------------------
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|([^\s()"]+))')


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise BadRequest(f"cannot read the search expression near {text[pos:]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(", None))
        elif m.group(2):
            out.append((")", None))
        elif m.group(3) is not None:
            out.append(("phrase", tuple(_WORD.findall(m.group(3).lower()))))
        else:
            word = m.group(4)
            if word in ("AND", "OR", "NOT"):
                out.append((word, None))
            elif "[" in word or "]" in word:
                raise BadRequest(
                    f"the stand-in does not implement Essie operators such as {word!r} "
                    "(AREA[], SEARCH[], ...); only words, phrases, AND, OR, NOT and parentheses"
                )
            else:
                out.append(("phrase", tuple(_WORD.findall(word.lower()))))
    return out


Matcher = Callable[[Words], bool]


def _phrase(words: tuple[str, ...]) -> Matcher:
    if not words:
        return lambda text: True
    n = len(words)

    def match(text: Words) -> bool:
        starts = text.at.get(words[0])
        if not starts:
            return False
        return n == 1 or any(text.seq[i : i + n] == words for i in starts)

    return match


def parse_essie(expression: str) -> Callable[[Words | Iterable[str]], bool]:
    """Compile a search expression into a predicate on a study's words (`Words` or a sequence).

    Grammar: or := and ("OR" and)*; and := not (["AND"] not)*; not := "NOT" not | atom;
    atom := "(" or ")" | word | "phrase". An empty expression matches everything.
    """
    toks = _tokens(expression)
    pos = 0

    def peek() -> str | None:
        return toks[pos][0] if pos < len(toks) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def or_expr() -> Matcher:
        parts = [and_expr()]
        while peek() == "OR":
            take()
            parts.append(and_expr())
        return parts[0] if len(parts) == 1 else (lambda t: any(p(t) for p in parts))

    def and_expr() -> Matcher:
        parts = [not_expr()]
        while peek() in ("AND", "NOT", "(", "phrase"):
            if peek() == "AND":
                take()
            parts.append(not_expr())
        return parts[0] if len(parts) == 1 else (lambda t: all(p(t) for p in parts))

    def not_expr() -> Matcher:
        if peek() == "NOT":
            take()
            inner = not_expr()
            return lambda t: not inner(t)
        return atom()

    def atom() -> Matcher:
        kind, value = take() if pos < len(toks) else ("end", None)
        if kind == "(":
            inner = or_expr()
            if peek() != ")":
                raise BadRequest(f"unbalanced parentheses in {expression!r}")
            take()
            return inner
        if kind == "phrase":
            return _phrase(value)
        raise BadRequest(f"unexpected {kind!r} in the search expression {expression!r}")

    if not toks:
        return lambda t: True
    result = or_expr()
    if pos != len(toks):
        raise BadRequest(f"unexpected {toks[pos][0]!r} in the search expression {expression!r}")
    return lambda text: result(text if isinstance(text, Words) else Words(text))


# -- filters, fields, tokens ----------------------------------------------------------------------
_GEO = re.compile(
    r"^distance\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*(mi|km)\s*\)$"
)
EARTH_KM = 6371.0088
KM_PER_MILE = 1.609344


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def parse_geo(value: str) -> tuple[tuple[float, float], float]:
    """`distance(lat,lon,50mi)` -> ((lat, lon), radius in km)."""
    m = _GEO.match(value.strip())
    if not m:
        raise BadRequest(
            f"filter.geo {value!r} is not valid; expected distance(lat,lon,50mi) or ...,80km)"
        )
    lat, lon, dist = float(m.group(1)), float(m.group(2)), float(m.group(3))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadRequest(f"filter.geo {value!r}: latitude or longitude out of range")
    return (lat, lon), dist * (KM_PER_MILE if m.group(4) == "mi" else 1.0)


def _copy_path(src: Any, dst: dict[str, Any], parts: list[str]) -> None:
    if not isinstance(src, dict) or parts[0] not in src:
        return
    key, rest, value = parts[0], parts[1:], src[parts[0]]
    if not rest:
        dst[key] = value
    elif isinstance(value, dict):
        if dst.get(key) is value:  # the whole subtree is already there
            return
        _copy_path(value, dst.setdefault(key, {}), rest)
    elif isinstance(value, list):
        have = dst.get(key)
        if have is value:
            return
        if not isinstance(have, list) or len(have) != len(value):
            have = dst[key] = [{} if isinstance(v, dict) else v for v in value]
        for i, item in enumerate(value):
            if isinstance(item, dict):
                _copy_path(item, have[i], rest)


def project(study: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """The study with only the given dotted-path subtrees (lists are looked through)."""
    out: dict[str, Any] = {}
    for path in paths:
        _copy_path(study, out, path.split("."))
    return out


def _query_hash(params: Mapping[str, str]) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in _NOT_IN_QUERY)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_token(offset: int, params: Mapping[str, str], nonce: str = "") -> str:
    """An opaque token: the offset, a hash of the query, and an optional nonce (ignored)."""
    data: dict[str, Any] = {"o": offset, "q": _query_hash(params)}
    if nonce:
        data["n"] = nonce
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def read_token(token: str, params: Mapping[str, str]) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        offset, qhash = int(data["o"]), str(data["q"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"pageToken {token!r} is not valid") from exc
    if qhash != _query_hash(params) or offset < 0:
        raise BadRequest(
            f"pageToken {token!r} does not belong to this query; start again without it"
        )
    return offset


# -- faults ---------------------------------------------------------------------------------------
_CONTENT_FAULTS = ("missing-fields", "empty-with-token", "drop-token")
_BODY_FAULTS = ("malformed", "truncated", "half")
_NO_ANSWER = ("reset", "disconnect")


@dataclass(frozen=True)
class Fault:
    """One misbehaviour; `Fault.parse("429:retry-after=1")`."""

    kind: str  # "status", "slow", "ok", or one of the named faults
    status: int = 200
    seconds: float = 0.0
    retry_after: str | None = None

    @classmethod
    def parse(cls, spec: str | Fault) -> Fault:
        if isinstance(spec, Fault):
            return spec
        name, _, arg = str(spec).strip().partition(":")
        if name.isdigit() and 400 <= int(name) <= 599:
            retry_after = None
            if arg:
                key, _, value = arg.partition("=")
                if key != "retry-after" or not value:
                    raise ValueError(f"fault {spec!r}: the only option is retry-after=SECONDS")
                retry_after = value
            return cls("status", status=int(name), retry_after=retry_after)
        if name == "slow":
            try:
                return cls("slow", seconds=float(arg))
            except ValueError:
                raise ValueError(f"fault {spec!r}: write slow:SECONDS") from None
        if name in ("ok", *_NO_ANSWER, *_BODY_FAULTS, *_CONTENT_FAULTS) and not arg:
            return cls(name)
        raise ValueError(
            f"unknown fault {spec!r}; use NNN, 429:retry-after=S, slow:S, ok, "
            + ", ".join((*_NO_ANSWER, *_BODY_FAULTS, *_CONTENT_FAULTS))
        )


class FaultQueue(collections.deque):
    """A deque of faults that checks each one when it is added (a typo fails the test at once)."""

    def append(self, spec):  # type: ignore[override]
        super().append(Fault.parse(spec))

    def extend(self, specs):  # type: ignore[override]
        super().extend(Fault.parse(s) for s in specs)

    def appendleft(self, spec):  # type: ignore[override]
        super().appendleft(Fault.parse(spec))


@dataclass
class RequestRecord:
    """One request as the stand-in saw it: what rules see, and what benchmarks count."""

    number: int  # 1-based, in arrival order
    path: str
    params: dict[str, str]
    started: float  # time.monotonic()
    fault: Fault | None = None
    status: int | None = None  # None when no answer was sent
    body_bytes: int = 0


Rule = Callable[[RequestRecord], "str | Fault | None"]


# -- the registry's logic (no sockets) ------------------------------------------------------------
@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _text_answer(status: int, message: str, **headers: str) -> Answer:
    return Answer(status, message.encode(), "text/plain; charset=utf-8", dict(headers))


class Registry:
    """The answers, as pure functions of the request; the HTTP layer is `RegistryStandIn`."""

    def __init__(self, studies_dir: str | Path = STUDIES_DIR, *, vary_tokens: bool = False) -> None:
        self.records, self.known_paths = _corpus(str(Path(studies_dir).resolve()))
        self.by_id = {r.nct_id: r for r in self.records}
        # True: every token carries a fresh nonce, as when the registry's data changed between
        # two searches (a cached page then names a token no cached page answers).
        self.vary_tokens = vary_tokens
        self._nonce = itertools.count(1)
        self._hits: dict[str, list[_Record]] = {}

    def answer(self, path: str, params: dict[str, str], fault: Fault | None = None) -> Answer:
        try:
            if path.rstrip("/") == f"{API_PREFIX}/studies":
                return self._search(params, fault)
            if path.startswith(f"{API_PREFIX}/studies/"):
                return self._one(path.rsplit("/", 1)[1], params)
        except BadRequest as exc:
            return _text_answer(400, str(exc))
        return _text_answer(404, f"{path} is not a path of the stand-in (try {API_PREFIX}/studies)")

    def _check_common(self, params: Mapping[str, str], allowed: Iterable[str]) -> list[str]:
        allowed = set(allowed)
        for name in params:
            if name in NOT_IMPLEMENTED:
                raise BadRequest(
                    f"`{name}` is a registry parameter the local stand-in does not implement"
                )
            if name not in allowed:
                raise BadRequest(f"`{name}` is unknown parameter")
        if params.get("format", "json") != "json":
            raise BadRequest(f"format {params['format']!r}: the stand-in serves only json")
        fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        for f in fields:
            if f not in self.known_paths:
                raise BadRequest(f"`fields` has an unknown field: {f}")
        return fields

    def _one(self, nct_id: str, params: dict[str, str]) -> Answer:
        fields = self._check_common(params, ("format", "fields"))
        record = self.by_id.get(nct_id.upper())
        if record is None:
            return _text_answer(404, f"{nct_id} is not in the stand-in's recorded studies")
        study = project(record.study, fields) if fields else record.study
        return Answer(200, json.dumps(study).encode())

    def matching(self, params: Mapping[str, str]) -> list[_Record]:
        """Every record the query and filters select, in NCT id order (kept per query)."""
        key = _query_hash(params)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._match(params)
            if len(self._hits) > 64:
                self._hits.clear()
            self._hits[key] = hits
        return hits

    def _match(self, params: Mapping[str, str]) -> list[_Record]:
        tests: list[Callable[[_Record], bool]] = []
        for name in ("query.cond", "query.term"):
            if params.get(name, "").strip():
                m = parse_essie(params[name])
                tests.append(lambda r, m=m: m(r.words))
        if params.get("query.intr", "").strip():
            m = parse_essie(params["query.intr"])
            tests.append(lambda r, m=m: m(r.intr_words))
        if params.get("filter.overallStatus", "").strip():  # empty: no filter
            wanted = {s.strip().upper() for s in params["filter.overallStatus"].split(",")}
            wanted.discard("")
            bad = sorted(wanted - STATUSES)
            if bad:
                raise BadRequest(f"filter.overallStatus has an unknown status: {', '.join(bad)}")
            tests.append(lambda r: r.status in wanted)
        if "filter.geo" in params:
            centre, radius = parse_geo(params["filter.geo"])
            tests.append(lambda r: any(haversine_km(centre, p) <= radius for p in r.points))
        if "filter.ids" in params:
            ids = {s.strip().upper() for s in params["filter.ids"].split(",") if s.strip()}
            tests.append(lambda r: r.nct_id in ids)
        return [r for r in self.records if all(t(r) for t in tests)]

    def _search(self, params: dict[str, str], fault: Fault | None) -> Answer:
        fields = self._check_common(params, KNOWN_PARAMS)
        size_text = params.get("pageSize", "") or "0"
        try:
            size = int(size_text)
        except ValueError:
            raise BadRequest(f"pageSize {size_text!r} is not a number") from None
        if size < 0:
            raise BadRequest(f"pageSize {size} must not be negative")
        size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        count_total = params.get("countTotal", "false").lower()
        if count_total not in ("true", "false"):
            raise BadRequest(f"countTotal {params['countTotal']!r} must be true or false")
        token = params.get("pageToken")
        offset = read_token(token, params) if token else 0
        hits = self.matching(params)

        chunk = hits[offset : offset + size]
        studies = [project(r.study, fields) if fields else r.study for r in chunk]
        next_offset = offset + size if offset + size < len(hits) else None
        nonce = f"v{next(self._nonce)}" if self.vary_tokens else ""
        kind = fault.kind if fault else None
        if kind == "missing-fields":
            studies = [project(s, ["protocolSection.identificationModule"]) for s in studies]
        elif kind == "empty-with-token":
            studies, next_offset = [], offset  # "ask again": a new token for this same page
            nonce = f"e{next(self._nonce)}"
        elif kind == "drop-token":
            next_offset = None
        page: dict[str, Any] = {"studies": studies}
        if next_offset is not None:
            page["nextPageToken"] = make_token(next_offset, params, nonce)
        if count_total == "true" and not token:
            page["totalCount"] = len(hits)
        return Answer(200, json.dumps(page).encode())


# -- the HTTP layer -------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real registry
    server_version = "RegistryStandIn/1"
    server: _HTTPServer

    def setup(self):
        super().setup()
        # Headers and body go out as two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every small answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # quiet: the log is `RegistryStandIn.log`
        pass

    def do_GET(self):  # the name http.server looks up
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (e.g. after its read timeout)

    def _serve(self) -> None:
        standin = self.server.standin
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        record = standin._begin(url.path, params)
        fault = record.fault
        if standin.latency > 0:
            standin._stopping.wait(standin.latency)
        kind = fault.kind if fault else "ok"
        if kind == "reset":
            self._reset()
            return
        if kind == "disconnect":
            self.close_connection = True
            return
        if kind == "status":
            assert fault is not None
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            reason = self.responses.get(fault.status, ("Error",))[0]
            self._send(record, _text_answer(fault.status, f"{fault.status} {reason}", **extra))
            return
        if kind == "slow":
            assert fault is not None
            standin._stopping.wait(fault.seconds)
        answer = standin.registry.answer(url.path, params, fault)
        if answer.status == 200 and kind == "malformed":
            answer.body = b'{"studies": [{"protocolSection": {"identificationModule": <html>'
        elif answer.status == 200 and kind == "half":
            answer.body = answer.body[: len(answer.body) // 2]
        self._send(record, answer, truncate=answer.status == 200 and kind == "truncated")

    def _send(self, record: RequestRecord, answer: Answer, *, truncate: bool = False) -> None:
        body = answer.body
        headers = dict(answer.headers)
        if self.server.standin.compress and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=6)
            headers["Content-Encoding"] = "gzip"
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        sent = body[: len(body) // 2] if truncate else body
        # Counted before writing: a client that has read the body must already see the count.
        self.server.standin._end(record, answer.status, len(sent))
        self.wfile.write(sent)
        self.wfile.flush()
        if truncate:
            self.close_connection = True

    def _reset(self) -> None:
        """Close with SO_LINGER 0, so the client sees a TCP RST instead of an answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the file holds a reference; the socket closes only when both go
        self.connection.close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, standin: RegistryStandIn) -> None:
        self.standin = standin
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Drop every kept-alive connection, so a stopped stand-in really answers nothing."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that hung up; nothing to report
        super().handle_error(request, client_address)


class RegistryStandIn:
    """The stand-in server; a context manager that starts and stops it on a background thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        studies_dir: str | Path = STUDIES_DIR,
        compress: bool = False,
        vary_tokens: bool = False,
    ) -> None:
        self.registry = Registry(studies_dir, vary_tokens=vary_tokens)
        self.host, self.port = host, port
        self.latency = latency
        self.compress = compress  # gzip when the client accepts it, as the real registry does
        self.faults: FaultQueue = FaultQueue()
        self.rule: Rule | None = None
        self.log: list[RequestRecord] = []
        self.request_count = 0
        self.bytes_sent = 0  # response bodies, as sent (after gzip, if any)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> RegistryStandIn:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"registry-standin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: the port is closed and every open connection dropped."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes slow faults and latency waits
        httpd.shutdown()
        httpd.close_all()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> RegistryStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def studies_url(self) -> str:
        return f"{self.api_url}/studies"

    # faults and counters
    def always(self, spec: str | Fault | None) -> None:
        """Give every request this fault (None: stop); the queue still goes first."""
        fault = None if spec is None else Fault.parse(spec)
        self.rule = None if fault is None else (lambda _req: fault)

    def reset_counters(self) -> None:
        with self._lock:
            self.log.clear()
            self.request_count = 0
            self.bytes_sent = 0

    def _begin(self, path: str, params: dict[str, str]) -> RequestRecord:
        with self._lock:
            self.request_count += 1
            record = RequestRecord(self.request_count, path, params, time.monotonic())
            self.log.append(record)
            fault = self.faults.popleft() if self.faults else None
        if fault is None and self.rule is not None:
            chosen = self.rule(record)
            fault = None if chosen is None else Fault.parse(chosen)
        record.fault = fault
        return record

    def _end(self, record: RequestRecord, status: int, body_bytes: int) -> None:
        with self._lock:
            record.status = status
            record.body_bytes = body_bytes
            self.bytes_sent += body_bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.standin",
        description="Serve the recorded studies as a local ClinicalTrials.gov API v2 stand-in.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--gzip", action="store_true", help="compress answers like the registry")
    parser.add_argument("--studies-dir", default=str(STUDIES_DIR))
    parser.add_argument(
        "--fault", action="append", default=[], help="a fault for the next request (repeatable)"
    )
    args = parser.parse_args(argv)
    server = RegistryStandIn(
        host=args.host,
        port=args.port,
        latency=args.latency,
        studies_dir=args.studies_dir,
        compress=args.gzip,
    )
    server.faults.extend(args.fault)
    with server:
        print(
            f"Serving {len(server.registry.records)} recorded studies at {server.api_url}\n"
            f"  e.g. TRIALS_HELPER_API_URL={server.api_url}   (Ctrl-C to stop)",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        print(f"{server.request_count} requests, {server.bytes_sent} body bytes sent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
