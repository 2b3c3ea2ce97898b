"""The patient's facts that the source documents and trial criteria talk about.

Every field may be "unknown", and unknown never rules a trial out. `Profile.from_dict` reads the
same profile from the app's form, CLI flags or a TOML/JSON file, and `validate()` stops only at
combinations that cannot be true, with a message that says which fields to change.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ProfileError

UNKNOWN = "unknown"
YES_NO = ("yes", "no", UNKNOWN)

CHOICES: dict[str, tuple[str, ...]] = {
    "hr": ("positive", "negative", UNKNOWN),
    "her2": ("positive", "low", "zero", UNKNOWN),
    "brca": YES_NO,
    "pdl1": ("positive", "negative", UNKNOWN),
    "pik3ca": YES_NO,
    "esr1": YES_NO,
    "akt1": YES_NO,
    "pten": YES_NO,
    "menopause": ("pre", "post", UNKNOWN),
    "sex": ("female", "male", UNKNOWN),
    "prior_endocrine": YES_NO,
    "prior_cdk46": YES_NO,
    "chemo_lines": ("0", "1", "2+", UNKNOWN),
    "prior_her2": YES_NO,
    "prior_tdxd": YES_NO,
    "prior_other_adc": YES_NO,
    "prior_immunotherapy": YES_NO,
    "prior_parp": YES_NO,
    "bone": YES_NO,
    "brain": ("none", "stable", "active", UNKNOWN),
    "liver": YES_NO,
    "lung": YES_NO,
    "other_sites": YES_NO,
}

# Plain-language labels and help, shared by the app's form, the CLI help and the sheet.
LABELS: dict[str, str] = {
    "hr": "Hormone receptors (ER/PR)",
    "her2": "HER2 status",
    "brca": "Inherited (germline) BRCA1/2 mutation",
    "pdl1": "PD-L1 (for triple-negative cancer)",
    "pik3ca": "PIK3CA mutation",
    "esr1": "ESR1 mutation",
    "akt1": "AKT1 mutation",
    "pten": "PTEN alteration",
    "menopause": "Menopausal status",
    "sex": "Sex",
    "age": "Age",
    "prior_endocrine": "Hormone (endocrine) therapy for advanced disease",
    "prior_cdk46": "CDK4/6 inhibitor (palbociclib, ribociclib, abemaciclib)",
    "chemo_lines": "Lines of chemotherapy for advanced disease",
    "prior_her2": "Anti-HER2 therapy (e.g. trastuzumab, pertuzumab)",
    "prior_tdxd": "Trastuzumab deruxtecan (Enhertu)",
    "prior_other_adc": "Another antibody-drug conjugate (e.g. sacituzumab govitecan)",
    "prior_immunotherapy": "Immunotherapy (e.g. pembrolizumab)",
    "prior_parp": "PARP inhibitor (olaparib, talazoparib)",
    "bone": "Spread to bone",
    "brain": "Spread to the brain",
    "liver": "Spread to the liver",
    "lung": "Spread to the lung",
    "other_sites": "Spread elsewhere",
}

HELP: dict[str, str] = {
    "hr": "Positive means the cancer grows with estrogen or progesterone (ER+ and/or PR+).",
    "her2": "HER2 is a protein on cancer cells. 'Low' means a little of it (IHC 1+, or 2+ with a "
    "negative ISH test); 'zero' means none found (IHC 0).",
    "brca": "An inherited change in the BRCA1 or BRCA2 gene, found by a blood or saliva test.",
    "pdl1": "A marker tested on triple-negative cancer to see if immunotherapy may help.",
    "pik3ca": "A change in the tumour found by a genomic test; some drugs target it.",
    "esr1": "A change in the estrogen receptor gene that can appear after hormone therapy.",
    "akt1": "A change in the tumour found by a genomic test.",
    "pten": "A change in the tumour found by a genomic test.",
    "menopause": "Women on ovarian-suppression injections are usually counted as premenopausal.",
    "prior_cdk46": "Tablets given with hormone therapy: palbociclib (Ibrance), ribociclib "
    "(Kisqali), abemaciclib (Verzenio).",
    "chemo_lines": "How many different chemotherapy treatments were given since the cancer "
    "spread. Chemotherapy before or after surgery for early cancer does not count here.",
    "prior_tdxd": "An antibody-drug conjugate used for HER2-positive and HER2-low cancer.",
    "brain": "'Stable' means treated (surgery or radiation) and not growing; 'active' means "
    "untreated or growing.",
}

# What each coded answer reads as, for people (the form, the sheet's "About me"); the codes
# stay the values everywhere else.
VALUE_WORDS: dict[str, str] = {
    UNKNOWN: "Not sure",
    "yes": "Yes",
    "no": "No",
    "positive": "Positive",
    "negative": "Negative",
    "low": "Low (HER2-low)",
    "zero": "Zero (IHC 0)",
    "pre": "Before menopause",
    "post": "After menopause",
    "female": "Female",
    "male": "Male",
    "none": "None",
    "stable": "Treated and stable",
    "active": "Active or untreated",
    "0": "None",
    "1": "One",
    "2+": "Two or more",
}


def describe(name: str, value: Any) -> str:
    """One answer in words: "HER2 status: Low (HER2-low)", "Age: 58"."""
    return f"{LABELS.get(name, name)}: {VALUE_WORDS.get(str(value), str(value))}"


ALTERATIONS = ("pik3ca", "esr1", "akt1", "pten")


@dataclass(frozen=True)
class Profile:
    """What is known about one person; "unknown" everywhere is a valid profile."""

    hr: str = UNKNOWN
    her2: str = UNKNOWN
    brca: str = UNKNOWN
    pdl1: str = UNKNOWN
    pik3ca: str = UNKNOWN
    esr1: str = UNKNOWN
    akt1: str = UNKNOWN
    pten: str = UNKNOWN
    menopause: str = UNKNOWN
    sex: str = UNKNOWN
    age: int | None = None
    prior_endocrine: str = UNKNOWN
    prior_cdk46: str = UNKNOWN
    chemo_lines: str = UNKNOWN
    prior_her2: str = UNKNOWN
    prior_tdxd: str = UNKNOWN
    prior_other_adc: str = UNKNOWN
    prior_immunotherapy: str = UNKNOWN
    prior_parp: str = UNKNOWN
    bone: str = UNKNOWN
    brain: str = UNKNOWN
    liver: str = UNKNOWN
    lung: str = UNKNOWN
    other_sites: str = UNKNOWN

    # -- derived facts ---------------------------------------------------------------------
    @property
    def triple_negative(self) -> bool | None:
        """True/False when HR and HER2 say so; None when either is unknown."""
        if self.hr == UNKNOWN or self.her2 == UNKNOWN:
            return None
        return self.hr == "negative" and self.her2 in ("low", "zero")

    @property
    def subtype_label(self) -> str:
        """Plain words for the subtype, e.g. "HR-positive, HER2-low"."""
        if self.triple_negative:
            return "triple-negative" + (" (HER2-low)" if self.her2 == "low" else "")
        hr = {"positive": "HR-positive", "negative": "HR-negative"}.get(self.hr, "HR unknown")
        her2 = {
            "positive": "HER2-positive",
            "low": "HER2-low",
            "zero": "HER2-zero",
        }.get(self.her2, "HER2 unknown")
        return f"{hr}, {her2}"

    def chemo_count(self) -> int | None:
        return (
            None
            if self.chemo_lines == UNKNOWN
            else (2 if self.chemo_lines == "2+" else int(self.chemo_lines))
        )

    def known(self) -> dict[str, Any]:
        """Only the fields that are not unknown (what the discussion sheet lists)."""
        return {k: v for k, v in asdict(self).items() if v not in (UNKNOWN, None)}

    def warnings(self) -> list[str]:
        """Unusual but possible combinations worth a second look (never block the search)."""
        notes = []
        if self.prior_cdk46 == "yes" and self.prior_endocrine == "no":
            notes.append(
                "CDK4/6 inhibitors are usually given together with hormone therapy; "
                "check the hormone therapy answer."
            )
        if self.pdl1 != UNKNOWN and self.triple_negative is False:
            notes.append(
                "PD-L1 is mostly tested for triple-negative cancer; trials use it mainly there."
            )
        if self.prior_her2 == "yes" and self.her2 in ("zero",):
            notes.append(
                "Anti-HER2 therapy is usually given for HER2-positive cancer; check the "
                "HER2 answer (results can change between biopsies)."
            )
        return notes

    # -- building and checking ----------------------------------------------------------
    def validate(self) -> Profile:
        """Raise ProfileError for values outside the choices or impossible combinations."""
        problems = []
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                problems.append(f"{LABELS[name]}: {value!r} is not one of {', '.join(allowed)}")
        if self.age is not None and not (isinstance(self.age, int) and 18 <= self.age <= 120):
            problems.append(
                f"Age: {self.age!r} must be a whole number from 18 to 120 "
                "(trials for metastatic breast cancer enrol adults), or left empty"
            )
        if self.sex == "male" and self.menopause in ("pre", "post"):
            problems.append("Menopausal status applies to women; set it to unknown for a man")
        if self.prior_tdxd == "yes" and self.prior_her2 == "no":
            problems.append(
                "Trastuzumab deruxtecan is an anti-HER2 treatment: answer 'yes' or "
                "'unknown' for anti-HER2 therapy"
            )
        if problems:
            raise ProfileError("The profile cannot be used: " + "; ".join(problems) + ".")
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Build from loose input (form, flags, file): case-insensitive, common synonyms."""
        names = {f.name for f in fields(cls)}
        unknown_keys = sorted(str(k) for k in set(data) - names)
        if unknown_keys:
            # A file with 50,000 unknown keys gave a 539 KB message: name the first few.
            shown = ", ".join(k[:40] for k in unknown_keys[:MAX_NAMED])
            more = len(unknown_keys) - MAX_NAMED
            raise ProfileError(
                f"Unknown profile field(s): {shown}"
                + (f" and {more:,} more" if more > 0 else "")
                + f". Known fields: {', '.join(sorted(names))}."
            )
        values: dict[str, Any] = {}
        for key, raw in data.items():
            if key == "age":
                values["age"] = _age(raw)
            else:
                values[key] = _choice(key, raw)
        return cls(**values).validate()

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a profile from a TOML or JSON file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except FileNotFoundError as exc:
            raise ProfileError(f"Profile file {path} does not exist.") from exc
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ProfileError(
                f"Profile file {path} could not be read ({exc}); use TOML or "
                'JSON with fields such as hr = "positive".'
            ) from exc
        if isinstance(data, Mapping) and isinstance(data.get("profile"), Mapping):
            data = data["profile"]
        if not isinstance(data, Mapping):
            raise ProfileError(f"Profile file {path} must hold a table of fields.")
        return cls.from_dict(data)


MAX_NAMED = 5  # unknown field names quoted in a message

_SYNONYMS = {
    "+": "positive",
    "pos": "positive",
    "positive": "positive",
    "-": "negative",
    "neg": "negative",
    "negative": "negative",
    "y": "yes",
    "true": "yes",
    "n": "no",
    "false": "no",
    "?": UNKNOWN,
    "": UNKNOWN,
    "unk": UNKNOWN,
    "not sure": UNKNOWN,
    "none": "none",
    "0": "0",
    "1": "1",
    "2": "2+",
    "3": "2+",
    "premenopausal": "pre",
    "postmenopausal": "post",
    "f": "female",
    "woman": "female",
    "m": "male",
    "man": "male",
    "her2-low": "low",
    "ultralow": "zero",
    "her2-0": "zero",
    "treated": "stable",
    "untreated": "active",
    "progressing": "active",
}


def _choice(key: str, raw: Any) -> str:
    if raw is None:
        return UNKNOWN
    text = ("yes" if raw else "no") if isinstance(raw, bool) else str(raw).strip().lower()
    if key == "chemo_lines" and text.isdigit():
        return "2+" if int(text) >= 2 else text
    if key == "brain" and text == "no":
        return "none"
    allowed = CHOICES.get(key, ())
    if text in allowed:
        return text
    mapped = _SYNONYMS.get(text, text)
    if key in ("hr", "pdl1") and mapped in ("yes", "no"):
        mapped = "positive" if mapped == "yes" else "negative"
    return mapped


def _age(raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if isinstance(raw, bool):  # `age = true` read as 1
        raise ProfileError(f"Age: {raw!r} is not a number of years.")
    try:
        number = float(raw)
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"Age: {raw!r} is not a number.") from exc
    if not math.isfinite(number):
        raise ProfileError(f"Age: {raw!r} is not a number of years.")
    if number != int(number):
        raise ProfileError(f"Age: {raw!r} must be a whole number of years.")
    return int(number)
