"""Every error trials_helper raises on purpose, in one tree.

    TrialsHelperError              base: catch this in the app and the CLI
    ├── SettingsError              an environment variable holds a value that cannot be used
    ├── RegistryError              talking to ClinicalTrials.gov failed
    │   ├── RegistryUnreachable    no answer (offline, DNS, connection reset), no cache
    │   │   └── RegistryTimeout    the registry did not answer in time (connect or read)
    │   ├── RegistryHTTPError      the registry answered with an error status (after retries)
    │   └── RegistryDataError      the answer was not the JSON the API v2 documents
    ├── DataFileError              a study file / snapshot / profile file could not be read
    ├── GuidanceError              the packaged guidance data is invalid (names the entry)
    ├── ProfileError               a patient profile is impossible or malformed
    └── LocationError              a ZIP, city or coordinate could not be understood

Messages say what failed, where, and what the user can do next, so the UI can show them as is.
"""

from __future__ import annotations


class TrialsHelperError(Exception):
    """Base class: every message is meant to be shown to a person as is."""


class SettingsError(TrialsHelperError):
    pass


class RegistryError(TrialsHelperError):
    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class RegistryUnreachable(RegistryError):
    pass


class RegistryTimeout(RegistryUnreachable):
    """Asked, and no answer came within the connect or read time-out (after the retries). A
    kind of unreachable, so code that handles that handles this too; callers that care (a
    slow registry, not a missing network) can tell them apart."""


class RegistryHTTPError(RegistryError):
    pass


class RegistryDataError(RegistryError):
    pass


class DataFileError(TrialsHelperError):
    pass


class GuidanceError(TrialsHelperError):
    pass


class ProfileError(TrialsHelperError):
    pass


class LocationError(TrialsHelperError):
    def __init__(self, message: str, *, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates
