"""CLI arguments and output paths found wrong by probing (issue #16 points 5, 11, 13): each is
refused with a message (exit 1 or 2), never a traceback, and nothing is fetched first."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.standin import RegistryStandIn
from trials_helper.cli import main


@pytest.fixture
def registry(monkeypatch):
    with RegistryStandIn() as server:
        monkeypatch.setenv("TRIALS_HELPER_API_URL", server.api_url)
        monkeypatch.setenv("TRIALS_HELPER_RETRIES", "0")
        monkeypatch.setenv("TRIALS_HELPER_PAGE_SIZE", "10")
        yield server


def usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# -- point 5: --max -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["-1", "0", "1.5", "x"])
@pytest.mark.parametrize("command", ["fetch", "search"])
def test_max_must_be_one_or_more(registry, tmp_path, capsys, command, value):
    argv = [command, "--max", value] + (
        ["--out", str(tmp_path / "s.json")] if command == "fetch" else []
    )
    assert "--max" in usage_error(argv, capsys)
    assert registry.request_count == 0


def test_max_one_gives_one_study_and_says_how_many_exist(registry, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["fetch", "--out", str(out), "--max", "1"]) == 0
    assert len(json.loads(out.read_text())) == 1  # -1 used to drop the last one of the page
    assert "1 fetched (not all: a maximum was set)" in capsys.readouterr().err


# -- point 13: --radius ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "far"])
@pytest.mark.parametrize("command", ["fetch", "search"])
def test_bad_radius_is_refused_in_both_commands(registry, tmp_path, capsys, command, value):
    argv = [command, "--near", "Boston, MA", "--radius", value]
    if command == "fetch":
        argv += ["--out", str(tmp_path / "s.json")]
    err = usage_error(argv, capsys)
    assert "--radius" in err and "any" in err
    assert registry.request_count == 0


def test_radius_without_near_is_refused(registry, capsys):
    err = usage_error(["search", "--radius", "-5"], capsys)  # exited 0 before
    assert "--radius" in err
    assert "--radius needs --near" in usage_error(["search", "--radius", "50"], capsys)


@pytest.mark.parametrize("command", ["fetch", "search"])
def test_radius_any_is_accepted_and_sends_no_distance(registry, tmp_path, capsys, command):
    argv = [command, "--near", "Boston, MA", "--radius", "ANY"]
    argv += ["--out", str(tmp_path / "out.json" if command == "fetch" else tmp_path / "out.csv")]
    assert main(argv) == 0
    assert registry.log and all("filter.geo" not in r.params for r in registry.log)


@pytest.mark.parametrize("command", ["fetch", "search"])
def test_a_radius_beyond_half_the_earth_never_reaches_the_registry(
    registry, tmp_path, capsys, command
):
    argv = [command, "--near", "Boston, MA", "--radius", "1e308"]
    if command == "fetch":
        argv += ["--out", str(tmp_path / "s.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "half way round the Earth" in err and "'any'" in err
    assert registry.request_count == 0


# -- point 11: output paths -----------------------------------------------------------------------
BAD_OUTS = {
    "a folder": lambda tmp: str(tmp),
    "a missing folder": lambda tmp: str(tmp / "nonexistent" / "d" / "x.csv"),
    "an unwritable file": lambda tmp: "/proc/version",
}


@pytest.mark.parametrize("kind", sorted(BAD_OUTS))
@pytest.mark.parametrize(
    "command",
    [
        ["search", "--out"],
        ["search", "--sites-out"],
        ["fetch", "--out"],
        ["facets", "../shared/ctgov/studies/NCT05514054.json", "--out"],
    ],
)
def test_unwritable_outputs_are_a_message_not_a_traceback(
    registry, tmp_path, capsys, monkeypatch, kind, command
):
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    target = BAD_OUTS[kind](tmp_path)
    code = main([*command, target])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("trials-helper: ") and "Traceback" not in err
    assert target in err or str(tmp_path) in err
    if command[0] != "facets":
        assert registry.request_count == 0  # refused before fetching anything


def test_fetch_does_not_create_folders(registry, tmp_path, capsys):
    target = tmp_path / "nonexistent" / "x" / "y.json"
    assert main(["fetch", "--out", str(target)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nonexistent").exists()


def test_snapshot_files_get_the_usual_permissions(registry, tmp_path):
    """Issue #16.14: snapshots were written 0600 (mkstemp's mode)."""
    out = tmp_path / "s.json"
    old = os.umask(0o022)
    try:
        assert main(["fetch", "--out", str(out)]) == 0
    finally:
        os.umask(old)
    for path in (out, tmp_path / "s.meta.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_command_exits_with_the_code_of_its_work_and_leaves_the_rest_to_the_exit(
    monkeypatch,
):
    """`trials-helper` (cli.run) exits with main()'s code; the work runs without the cyclic
    collector and what it built stays frozen for the exit instead of being walked once more."""
    import gc

    from trials_helper import cli

    seen = []
    monkeypatch.setattr(cli, "main", lambda argv=None: seen.append(gc.isenabled()) or 3)
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.run()
        assert stopped.value.code == 3
        assert seen == [False]  # the work ran without the cyclic collector
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
