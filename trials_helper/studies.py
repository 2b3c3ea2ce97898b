"""Pure parsing of ClinicalTrials.gov API v2 study JSON into plain records.

Real answers come in many shapes: full records, `fields`-limited partial records with whole
modules missing, and records converted from older formats. Parsing therefore never assumes a
key exists; a missing module gives empty values, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .safetext import clean

if TYPE_CHECKING:  # pandas is imported where a frame is built: it costs the CLI 0.3 s to start
    import pandas as pd

CTGOV_STUDY_URL = "https://clinicaltrials.gov/study/{nct_id}"


@dataclass(frozen=True)
class Contact:
    """A person or office to ask about a trial or a site."""

    name: str = ""
    role: str = ""
    phone: str = ""
    email: str = ""

    def label(self) -> str:
        """One line a navigator can read out or dial."""
        parts = [p for p in (self.name, self.phone, self.email) if p]
        return " · ".join(parts)


@dataclass(frozen=True)
class Site:
    """One location of a trial; its own status differs from the trial's overall status."""

    nct_id: str
    facility: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    status: str = ""
    lat: float | None = None
    lon: float | None = None
    contacts: tuple[Contact, ...] = ()

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def place(self) -> str:
        return ", ".join(p for p in (self.city, self.state, self.country) if p)


@dataclass(frozen=True)
class Intervention:
    type: str = ""
    name: str = ""
    description: str = ""
    other_names: tuple[str, ...] = ()
    arm_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arm:
    label: str = ""
    type: str = ""
    description: str = ""
    intervention_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trial:
    """The parts of a study record the app reads, with plain Python types."""

    nct_id: str
    brief_title: str = ""
    official_title: str = ""
    acronym: str = ""
    brief_summary: str = ""
    conditions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    study_type: str = ""
    allocation: str = ""
    masking: str = ""
    primary_purpose: str = ""
    overall_status: str = ""
    start_date: str = ""
    primary_completion_date: str = ""
    completion_date: str = ""
    first_posted: str = ""
    last_update: str = ""
    status_verified: str = ""
    sponsor: str = ""
    collaborators: tuple[str, ...] = ()
    enrollment: int | None = None
    interventions: tuple[Intervention, ...] = ()
    arms: tuple[Arm, ...] = ()
    eligibility_criteria: str = ""
    sex: str = ""
    minimum_age: str = ""
    maximum_age: str = ""
    healthy_volunteers: bool | None = None
    central_contacts: tuple[Contact, ...] = ()
    sites: tuple[Site, ...] = field(default=(), repr=False)

    @property
    def title(self) -> str:
        return self.brief_title or self.official_title or self.nct_id

    @property
    def url(self) -> str:
        """The registry page; the id is URL-quoted, so an id holding `) [x](https://…)` cannot
        end a Markdown link early and inject another."""
        return CTGOV_STUDY_URL.format(nct_id=quote(self.nct_id, safe=""))

    @property
    def phase_label(self) -> str:
        """Phases as people write them ("Phase 1/2"), "Not applicable" when none."""
        return phase_label(self.phases)


def phase_label(phases: Iterable[str]) -> str:
    nums = [p.replace("EARLY_PHASE1", "Early 1").replace("PHASE", "") for p in phases]
    nums = [n for n in nums if n and n != "NA"]
    return "Phase " + "/".join(nums) if nums else "Not applicable"


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    """Walk nested dicts; any missing or non-dict step gives the default."""
    for key in path:
        if not isinstance(obj, Mapping):
            return default
        obj = obj.get(key)
        if obj is None:
            return default
    return obj


def _mod(obj: Any, *path: str) -> Mapping[str, Any]:
    """Like `_get`, but always a mapping: a module that is missing or malformed reads as empty."""
    found = _get(obj, *path)
    return found if isinstance(found, Mapping) else {}


def _list(obj: Any, *path: str) -> list[Any]:
    found = _get(obj, *path)
    return found if isinstance(found, list) else []


def _text(value: Any) -> str:
    """Registry text without NUL, control characters or direction overrides (U+202E made a
    line read backwards in the page, the sheets and the CSV)."""
    if type(value) is str and value.isprintable():  # nearly every field: nothing to drop
        return value.strip()
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return clean(text).strip()


def _texts(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(t for t in (_text(v) for v in values) if t)


def _date(struct: Any) -> str:
    if isinstance(struct, Mapping):
        return _text(struct.get("date"))
    return _text(struct)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # drop NaN


def _contacts(items: Any) -> tuple[Contact, ...]:
    if not isinstance(items, list):
        return ()
    out = []
    for c in items:
        if not isinstance(c, Mapping):
            continue
        contact = Contact(
            name=_text(c.get("name")),
            role=_text(c.get("role")),
            phone=" ext. ".join(p for p in (_text(c.get("phone")), _text(c.get("phoneExt"))) if p),
            email=_text(c.get("email")),
        )
        if contact.label():
            out.append(contact)
    return tuple(out)


def study_id(study: Mapping[str, Any]) -> str:
    """The NCT id of a raw record, or "" when the record has none."""
    return _text(_get(study, "protocolSection", "identificationModule", "nctId"))


def parse_sites(study: Mapping[str, Any]) -> tuple[Site, ...]:
    nct_id = study_id(study)
    sites = []
    for loc in _list(study, "protocolSection", "contactsLocationsModule", "locations"):
        if not isinstance(loc, Mapping):
            continue
        point = loc.get("geoPoint")
        geo: Mapping[str, Any] = point if isinstance(point, Mapping) else {}
        sites.append(
            Site(
                nct_id=nct_id,
                facility=_text(loc.get("facility")),
                city=_text(loc.get("city")),
                state=_text(loc.get("state")),
                zip=_text(loc.get("zip")),
                country=_text(loc.get("country")),
                status=_text(loc.get("status")).upper(),
                lat=_float(geo.get("lat")),
                lon=_float(geo.get("lon")),
                contacts=_contacts(loc.get("contacts")),
            )
        )
    return tuple(sites)


def parse_study(study: Mapping[str, Any]) -> Trial:
    """One API v2 study record -> Trial. Unknown or missing parts become empty values."""
    if not isinstance(study, Mapping):
        raise TypeError(f"a study record must be a JSON object, not {type(study).__name__}")
    p = _mod(study, "protocolSection")
    ident = _mod(p, "identificationModule")
    status = _mod(p, "statusModule")
    design = _mod(p, "designModule")
    design_info = _mod(design, "designInfo")
    elig = _mod(p, "eligibilityModule")
    arms_mod = _mod(p, "armsInterventionsModule")

    interventions = []
    for item in _list(arms_mod, "interventions"):
        if isinstance(item, Mapping):
            interventions.append(
                Intervention(
                    type=_text(item.get("type")).upper(),
                    name=_text(item.get("name")),
                    description=_text(item.get("description")),
                    other_names=_texts(item.get("otherNames")),
                    arm_labels=_texts(item.get("armGroupLabels")),
                )
            )
    arms = []
    for item in _list(arms_mod, "armGroups"):
        if isinstance(item, Mapping):
            arms.append(
                Arm(
                    label=_text(item.get("label")),
                    type=_text(item.get("type")).upper(),
                    description=_text(item.get("description")),
                    intervention_names=_texts(item.get("interventionNames")),
                )
            )
    enrollment = _get(design, "enrollmentInfo", "count")
    healthy = elig.get("healthyVolunteers")

    return Trial(
        nct_id=study_id(study),
        brief_title=_text(ident.get("briefTitle")),
        official_title=_text(ident.get("officialTitle")),
        acronym=_text(ident.get("acronym")),
        brief_summary=_text(_mod(p, "descriptionModule").get("briefSummary")),
        conditions=_texts(_get(p, "conditionsModule", "conditions")),
        keywords=_texts(_get(p, "conditionsModule", "keywords")),
        phases=_texts(design.get("phases")),
        study_type=_text(design.get("studyType")).upper(),
        allocation=_text(design_info.get("allocation")).upper(),
        masking=_text(_mod(design_info, "maskingInfo").get("masking")).upper(),
        primary_purpose=_text(design_info.get("primaryPurpose")).upper(),
        overall_status=_text(status.get("overallStatus")).upper(),
        start_date=_date(status.get("startDateStruct")),
        primary_completion_date=_date(status.get("primaryCompletionDateStruct")),
        completion_date=_date(status.get("completionDateStruct")),
        first_posted=_date(status.get("studyFirstPostDateStruct")),
        last_update=_date(status.get("lastUpdatePostDateStruct"))
        or _text(status.get("lastUpdateSubmitDate")),
        status_verified=_text(status.get("statusVerifiedDate")),
        sponsor=_text(_mod(p, "sponsorCollaboratorsModule", "leadSponsor").get("name")),
        collaborators=tuple(
            _text(c.get("name"))
            for c in _list(p, "sponsorCollaboratorsModule", "collaborators")
            if isinstance(c, Mapping) and c.get("name")
        ),
        enrollment=int(enrollment) if isinstance(enrollment, int | float) else None,
        interventions=tuple(interventions),
        arms=tuple(arms),
        eligibility_criteria=_text(elig.get("eligibilityCriteria")),
        sex=_text(elig.get("sex")).upper(),
        minimum_age=_text(elig.get("minimumAge")),
        maximum_age=_text(elig.get("maximumAge")),
        healthy_volunteers=healthy if isinstance(healthy, bool) else None,
        central_contacts=_contacts(_get(p, "contactsLocationsModule", "centralContacts")),
        sites=parse_sites(study),
    )


def iter_studies(data: Any) -> Iterator[Mapping[str, Any]]:
    """Yield study records from a single study, a list of studies, or a search-response page."""
    if isinstance(data, Mapping) and "studies" in data:
        data = data["studies"]
    if isinstance(data, Mapping):
        yield data
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, Mapping):
                yield item


def load_studies(path: str | Path) -> list[dict[str, Any]]:
    """Read studies from a JSON file in any of the shapes `iter_studies` accepts."""
    from .errors import DataFileError

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataFileError(f"{path} does not exist. Check the file name.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(
            f"{path} could not be read as JSON ({exc}). Use a file written by "
            "`trials-helper fetch` or an API v2 answer saved as JSON."
        ) from exc
    items = data["studies"] if isinstance(data, Mapping) and "studies" in data else data
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        raise DataFileError(
            f"{path} holds no ClinicalTrials.gov study records (it holds a "
            f"{type(items).__name__}). Use a file written by `trials-helper fetch` or an API v2 "
            "answer saved as JSON."
        )
    # Anything else would be counted as a study and read into empty rows ({"a": 1} was
    # "1 studies"), so every entry must carry the record's identifier.
    bad = [n for n, item in enumerate(items, 1) if not is_study(item)]
    if bad:
        raise DataFileError(
            f"{path} is not a file of ClinicalTrials.gov studies: {len(bad)} of {len(items)} "
            f"entries have no protocolSection.identificationModule.nctId (the first is entry "
            f"{bad[0]}). Use a file written by `trials-helper fetch` or an API v2 answer saved "
            "as JSON."
        )
    return [dict(s) for s in items]


def is_study(item: Any) -> bool:
    """An API v2 study record: a mapping with an NCT id where the registry puts it."""
    return isinstance(item, Mapping) and bool(study_id(item))


@lru_cache(maxsize=256)  # a few dozen distinct ages ("18 Years"), read at every match
def _age_years(text: str) -> float | None:
    """'18 Years' -> 18.0, '6 Months' -> 0.5; None when absent or unreadable."""
    parts = text.split()
    if not parts:
        return None
    try:
        number = float(parts[0])
    except ValueError:
        return None
    unit = parts[1].lower() if len(parts) > 1 else "years"
    scale = {"year": 1, "month": 1 / 12, "week": 1 / 52, "day": 1 / 365, "hour": 1 / 8760}
    for key, factor in scale.items():
        if unit.startswith(key):
            return number * factor
    return number


def age_years(text: str) -> float | None:
    return _age_years(text or "")


def trials_frame(trials: Iterable[Trial]) -> pd.DataFrame:
    """One row per trial with list fields joined by '; ' (what researchers open in a sheet)."""
    import pandas as pd

    rows = []
    for t in trials:
        row = {k: v for k, v in asdict(t).items() if k not in {"interventions", "arms", "sites"}}
        for key in ("conditions", "keywords", "phases", "collaborators"):
            row[key] = "; ".join(row[key])
        row["central_contacts"] = "; ".join(c.label() for c in t.central_contacts)
        row["interventions"] = "; ".join(
            f"{i.type.title()}: {i.name}" if i.type else i.name for i in t.interventions
        )
        row["title"] = t.title
        row["url"] = t.url
        row["site_count"] = len(t.sites)
        rows.append(row)
    return pd.DataFrame(rows)


SITE_COLUMNS = (
    "nct_id",
    "title",
    "facility",
    "city",
    "state",
    "zip",
    "country",
    "status",
    "lat",
    "lon",
    "contacts",
)


def sites_frame(trials: Iterable[Trial]) -> pd.DataFrame:
    """One row per site, with the trial id and title so it can stand alone (e.g. on a map)."""
    import pandas as pd

    rows = []
    for t in trials:
        for s in t.sites:
            rows.append(
                {
                    "nct_id": t.nct_id,
                    "title": t.title,
                    "facility": s.facility,
                    "city": s.city,
                    "state": s.state,
                    "zip": s.zip,
                    "country": s.country,
                    "status": s.status,
                    "lat": s.lat,
                    "lon": s.lon,
                    "contacts": "; ".join(c.label() for c in s.contacts),
                }
            )
    return pd.DataFrame(rows, columns=list(SITE_COLUMNS))
