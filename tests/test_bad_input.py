"""No input produces a traceback: property tests over profiles, places, radii and CLI flags."""

from __future__ import annotations

import contextlib

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.registry_fakes import STUDIES_URL
from trials_helper.cli import main
from trials_helper.errors import LocationError, ProfileError
from trials_helper.geo import LocationFilter, apply_location_filter, check_radius
from trials_helper.profile import CHOICES, Profile

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["yes", "no", "unknown", "positive", "low", "2+", "stable", "male"]),
)
field_names = st.sampled_from([*CHOICES, "age", "colour"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(field_names, values, max_size=8))
def test_profile_from_anything_is_a_profile_or_a_clear_error(data):
    try:
        p = Profile.from_dict(data)
    except ProfileError as exc:
        assert str(exc)
    else:
        assert p.validate() is p


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.floats(), st.integers(), st.text(max_size=8)))
def test_radius_is_a_number_or_a_clear_error(radius):
    with contextlib.suppress(LocationError):
        value = check_radius(radius)
        assert value is None or value > 0


def test_bad_unit_is_a_clear_error():
    with pytest.raises(LocationError, match="unit"):
        apply_location_filter([], LocationFilter(unit="parsecs"))


flag = st.sampled_from(
    [
        "--hr",
        "--her2",
        "--near",
        "--radius",
        "--unit",
        "--age",
        "--phase",
        "--category",
        "--format",
        "--status",
        "--chemo-lines",
        "--brain",
        "--country",
        "--state",
    ]
)
word = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["positive", "02115", "Portland", "-5", "csv", "nan", "PHASE3", "xyz", "1e9"]),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(flag, word), max_size=4))
def test_search_cli_never_tracebacks(capsys, pairs):
    argv = ["search", "--format", "json"]
    for f, w in pairs:
        argv += [f, w]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, STUDIES_URL, json={"studies": [], "totalCount": 0})
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse usage errors
            code = exit_.code
    assert code in (0, 1, 2)
    assert "Traceback" not in capsys.readouterr().err


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300), st.sampled_from(["p.toml", "p.json", "snap.json"]))
def test_loaded_files_are_read_or_refused_clearly(tmp_path, data, name):
    from trials_helper.errors import DataFileError
    from trials_helper.snapshot import load_snapshot

    path = tmp_path / name
    path.write_bytes(data)
    if name.startswith("p."):
        with contextlib.suppress(ProfileError):
            Profile.load(path)
    else:
        with contextlib.suppress(DataFileError):
            load_snapshot(path)
