"""Shared fixtures: paths to the real recorded data, and a guard against real network use."""

from __future__ import annotations

import ipaddress
import json
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CTGOV = SHARED / "ctgov"
STUDIES_DIR = CTGOV / "studies"
SEEDS_DIR = SHARED / "seeds"


class NetworkBlocked(RuntimeError):
    """A test tried to reach a machine other than this one."""


def _is_local(address) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch):
    """Fail any test that tries to open a connection beyond 127.0.0.0/8 / ::1."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self, address):
        if not _is_local(address):
            raise NetworkBlocked(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self, address):
        if not _is_local(address):
            raise NetworkBlocked(f"test tried to reach the network: {address!r}")
        return real_connect_ex(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost") and not _looks_local(host):
            raise NetworkBlocked(f"test tried to resolve a network host: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


def _looks_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_study(nct_id: str) -> dict:
    """A real recorded API v2 study from ../shared/ctgov/studies/."""
    return json.loads((STUDIES_DIR / f"{nct_id}.json").read_text(encoding="utf-8"))


def all_study_paths() -> list[Path]:
    return sorted(STUDIES_DIR.glob("*.json"))


@pytest.fixture(scope="session")
def real_studies() -> list[dict]:
    """Every real recorded study, as raw API v2 dicts."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in all_study_paths()]


@pytest.fixture(scope="module")
def files() -> dict[str, dict]:
    """The recorded studies by NCT id, read here independently of the stand-in."""
    out = {}
    for path in all_study_paths():
        study = json.loads(path.read_text(encoding="utf-8"))
        out[study["protocolSection"]["identificationModule"]["nctId"]] = study
    return out


@pytest.fixture
def server():
    """The local registry stand-in (tests/standin.py) serving the recorded studies."""
    from tests.standin import RegistryStandIn

    with RegistryStandIn() as s:
        yield s


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own cache directory, so no test sees another's cached answers."""
    monkeypatch.setenv("TRIALS_HELPER_CACHE_DIR", str(tmp_path / "cache"))


def summary_counts(at) -> list[int]:
    """The app's summary line as numbers: found, after the filters, possible, to check ([] when
    the page shows no summary)."""
    import re

    from app.render import SUMMARY_MARK

    for m in at.markdown:
        if m.value.startswith(SUMMARY_MARK):
            return [int(n.replace(",", "")) for n in re.findall(r"\*\*([\d,]+)\*\*", m.value)]
    return []
