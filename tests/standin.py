"""The local registry stand-in, for tests: it lives in devtools/standin.py (the benchmarks use it
too and never import tests/); this module keeps the test-facing names and adds the fixture."""

from __future__ import annotations

import pytest

from devtools.standin import (  # noqa: F401 - re-exported for the tests
    Answer,
    BadRequest,
    Fault,
    FaultQueue,
    Registry,
    RegistryStandIn,
    RequestRecord,
    Words,
    haversine_km,
    main,
    make_token,
    parse_essie,
    parse_geo,
    project,
    read_token,
)


@pytest.fixture
def standin():
    """A fresh stand-in per test (import it into a test module, or list it in conftest)."""
    with RegistryStandIn() as server:
        yield server


if __name__ == "__main__":
    raise SystemExit(main())
