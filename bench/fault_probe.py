"""Fault runs and bad inputs against the CLI, counted: tried / handled cleanly / tracebacks.

Why: issue #16 was found by probing as an attacker and a careless user would; this replays
that probing so the counts in docs/benchmarks.md can be checked again. Everything is local: the
registry is devtools/standin.py on 127.0.0.1, caches and files live in a temporary folder, and
Redis runs only if `redis-server` is installed.

"Handled cleanly": exit 0 with the complete recorded data (or an answer that says it came from
the cache, or that it is incomplete), or exit 1/2 with a one-line message. "Wrong": exit 0 with
data that differs from the registry's and is not labelled. "Lost": a fault on a refresh left a
cache that can no longer answer offline. "Traceback": an exception escaped, or "Traceback" on
stderr. (In-process runs: Python's last-resort log handler, which printed requests-cache's
traceback, is covered by tests/test_faults.py in a real process.)

Run: python3 bench/fault_probe.py   (about a minute)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.standin import RegistryStandIn  # noqa: E402
from trials_helper.cli import main  # noqa: E402

PAGE = 10
FAULTS = [
    "429:retry-after=1", "500", "502", "503", "504", "slow:3", "reset", "disconnect",
    "malformed", "truncated", "half", "missing-fields", "empty-with-token", "drop-token",
    "stopped",
]  # fmt: skip


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str, bool]:
    """main(argv) in this process with `env` set: (code, stdout, stderr, escaped)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    escaped = False
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = int(exit_.code or 0)
            except Exception:  # noqa: BLE001 - this is what is being counted
                escaped = True
                code = -1
                err.write(traceback.format_exc())
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out.flush()
    return code, out.buffer.getvalue().decode("utf-8"), err.getvalue(), escaped  # type: ignore


PROBLEMS: list[str] = []  # what was not clean, printed at the end


def verdict(code: int, err: str, escaped: bool, ok_data: bool | None = None, what: str = "") -> str:
    result = "clean"
    if escaped or "Traceback" in err or code not in (0, 1, 2):
        result = "traceback"
    elif code == 0 and ok_data is False:
        result = "wrong"
    if result != "clean":
        last = err.strip().splitlines()[-1:] or [""]
        PROBLEMS.append(f"{result}: {what} -> exit {code}: {last[0][:200]}")
    return result


def ids(studies: list[dict]) -> list[str]:
    return [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]


def fault_runs(work: Path) -> Counter:
    counts: Counter = Counter()
    with RegistryStandIn() as server:
        reference_path = work / "reference.json"
        base = {
            "TRIALS_HELPER_API_URL": server.api_url,
            "TRIALS_HELPER_PAGE_SIZE": str(PAGE),
            "TRIALS_HELPER_RETRIES": "1",
            "TRIALS_HELPER_BACKOFF": "0",
            "TRIALS_HELPER_READ_TIMEOUT": "1",
        }
        code, *_ = run_cli(
            ["fetch", "--out", str(reference_path)],
            {**base, "TRIALS_HELPER_CACHE_DIR": str(work / "ref-cache")},
        )
        assert code == 0
        reference = json.loads(reference_path.read_text())
        n = 0
        for fault in FAULTS:
            for where in ("page 1 once", "page 2 on"):
                for cached in (False, True):
                    n += 1
                    cache_dir = work / f"cache-{n}"
                    env = {**base, "TRIALS_HELPER_CACHE_DIR": str(cache_dir)}
                    server.faults.clear()
                    server.rule = None
                    if cached:
                        shutil.copytree(work / "ref-cache", cache_dir)
                    out = work / f"out-{n}.json"
                    if fault == "stopped":
                        server.stop()
                    elif where == "page 1 once":
                        server.faults.append(fault)
                    else:
                        server.rule = lambda req, f=fault: f if "pageToken" in req.params else None
                    argv = ["fetch", "--out", str(out)] + (["--refresh"] if cached else [])
                    code, _, err, escaped = run_cli(argv, env)
                    ok = None
                    if code == 0:
                        got = json.loads(out.read_text())
                        labelled = "from the cache" in err or "not all" in err
                        if fault == "missing-fields":  # lean records are what the registry sent
                            got, want = [ids(got)], [ids(reference)]
                        else:
                            want = reference
                        ok = got == want or labelled
                    what = f"{fault}, {where}, cached={cached}"
                    result = verdict(code, err, escaped, ok, what)
                    if cached and result == "clean" and fault != "stopped":
                        # The good cached answer must survive the fault (issue #16.1).
                        after, *_ = run_cli(["search", "--offline"], env)
                        if after != 0:
                            result = "lost"
                            PROBLEMS.append(f"lost: {what} -> the cache no longer answers")
                    counts[result] += 1
                    if fault == "stopped":
                        server.start()
                        base["TRIALS_HELPER_API_URL"] = server.api_url
        server.faults.clear()
        server.rule = None
        # cache damage: in the middle, at the header, the file replaced by garbage
        for kind in ("middle", "header", "garbage", "wal-only"):
            n += 1
            cache_dir = work / f"cache-{n}"
            shutil.copytree(work / "ref-cache", cache_dir)
            db = cache_dir / "http_cache.sqlite"
            with contextlib.closing(sqlite3.connect(db)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            data = bytearray(db.read_bytes())
            if kind == "middle":
                data[len(data) // 2 : len(data) // 2 + 8192] = bytes(range(256)) * 32
            elif kind == "header":
                data[:100] = b"x" * 100
            elif kind == "garbage":
                data = bytearray(b"not a database" * 1000)
            else:
                (cache_dir / "http_cache.sqlite-wal").write_bytes(b"\x00garbage" * 512)
            db.write_bytes(bytes(data))
            env = {**base, "TRIALS_HELPER_CACHE_DIR": str(cache_dir)}
            for argv in (["search", "--offline"], ["fetch", "--out", str(work / "d.json")]):
                code, _, err, escaped = run_cli(argv, env)
                counts[verdict(code, err, escaped, what=f"cache damaged ({kind}): {argv[0]}")] += 1
        counts.update(redis_runs(work, base))
    return counts


def redis_runs(work: Path, base: dict[str, str]) -> Counter:
    counts: Counter = Counter()
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server not installed: Redis runs skipped", file=sys.stderr)
        return counts
    from devtools.redis_server import RedisServer

    server = RedisServer(work / "redis").start()
    env = {**base, "TRIALS_HELPER_CACHE_BACKEND": server.url}
    try:
        for step in ("up", "stopped", "stopped again", "restarted"):
            if step == "stopped":
                server.stop()
            if step == "restarted":
                server.start()
            code, _, err, escaped = run_cli(["fetch", "--out", str(work / "r.json")], env)
            counts[verdict(code, err, escaped, what=f"redis {step}")] += 1
    finally:
        server.stop()
    return counts


def bad_inputs(work: Path) -> Counter:
    counts: Counter = Counter()
    snap = work / "reference.json"
    files = {
        "empty.json": "",
        "obj.json": '{"a": 1}',
        "list.json": json.dumps([{"x": n} for n in range(50_000)]),
        "num.json": "42",
        "text.json": "hello",
        "nul.json": "\x00\x00",
        "page.json": '{"studies": "no"}',
        "mixed.json": json.dumps([{"protocolSection": {}}]),
        "bad.csv": "hello\nworld\n",
        "empty.csv": "",
        "noid.csv": "nct_id,brief_title\n,lost\n",
        "keys.json": json.dumps({f"k{n}": n for n in range(50_000)}),
        "agetrue.toml": "age = true\n",
        "badtoml.toml": "hr = \n",
        "list.toml": "[[x]]\n",
    }
    for name, text in files.items():
        (work / name).write_text(text)
    argvs: list[list[str]] = []
    for value in ("-1", "0", "1.5", "x", "", "1e9", "99999999999999999999"):
        argvs += [
            ["search", "--max", value],
            ["fetch", "--out", str(work / "m.json"), "--max", value],
        ]
    for value in ("-5", "0", "nan", "inf", "any", "1e308", "far", "", "1e-300", "12451"):
        argvs += [
            ["search", "--radius", value],
            ["search", "--near", "Boston, MA", "--radius", value],
            ["fetch", "--near", "Boston, MA", "--radius", value, "--out", str(work / "r.json")],
        ]
    for target in ("/tmp", "/nonexistent/d/x.csv", "/proc/version", str(work / "x" / "y.json"), ""):
        argvs += [
            ["search", "--from", str(snap), "--out", target],
            ["search", "--from", str(snap), "--sites-out", target],
            ["fetch", "--out", target],
            ["facets", str(snap), "--out", target],
        ]
    for name in files:
        path = str(work / name)
        argvs += [["search", "--from", path], ["facets", path], ["diff", path, path]]
        if name.endswith((".toml", ".json")):
            argvs.append(["search", "--from", str(snap), "--profile", path])
    for place in ("99999", "Atlantis", "91,181", "nan,nan", "", "Portland"):
        argvs.append(["search", "--from", str(snap), "--near", place])
    for flags in (
        ["--age", "-3"],
        ["--age", "200"],
        ["--her2", "maybe"],
        ["--sex", "male", "--menopause", "pre"],
    ):
        argvs.append(["search", "--from", str(snap), *flags])
    env = {"TRIALS_HELPER_API_URL": "http://127.0.0.1:9/api/v2", "TRIALS_HELPER_RETRIES": "0",
           "TRIALS_HELPER_CACHE_DIR": str(work / "bad-cache")}  # fmt: skip
    for argv in argvs:
        code, _, err, escaped = run_cli(argv, env)
        counts[verdict(code, err, escaped, what=" ".join(argv))] += 1
    settings = {
        "TRIALS_HELPER_CACHE_EXPIRE_HOURS": ["1e12", "-1", "nan", "x"],
        "TRIALS_HELPER_API_URL": ["http://[::1", "ftp://x", "http://", "http://h:port"],
        "TRIALS_HELPER_RETRIES": ["99999999999", "-1", "1.5"],
        "TRIALS_HELPER_BACKOFF": ["1e308", "inf", "-1"],
        "TRIALS_HELPER_MAX_RETRY_WAIT": ["1e9", "-2"],
        "TRIALS_HELPER_CONNECT_TIMEOUT": ["0", "1e6"],
        "TRIALS_HELPER_READ_TIMEOUT": ["inf", "-1"],
        "TRIALS_HELPER_PAGE_SIZE": ["0", "5000", "x"],
        "TRIALS_HELPER_CACHE_BACKEND": ["mongo", "redis://[::1", "redis://127.0.0.1:9/0"],
        "TRIALS_HELPER_SNAPSHOT": [str(work / "obj.json"), "/nonexistent.json"],
    }
    for name, values in settings.items():
        for value in values:
            code, _, err, escaped = run_cli(["search", "--offline"], {**env, name: value})
            counts[verdict(code, err, escaped, what=f"{name}={value}")] += 1
    return counts


def line(title: str, counts: Counter) -> str:
    tried = sum(counts.values())
    return (
        f"{title}: {tried} tried, {counts['clean']} handled cleanly, "
        f"{counts['wrong']} wrong answers, {counts['lost']} lost the cached answer, "
        f"{counts['traceback']} tracebacks"
    )


def main_() -> int:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fault-probe-") as folder:
        work = Path(folder)
        faults = fault_runs(work)
        bad = bad_inputs(work)
    for problem in PROBLEMS:
        print(problem)
    print(line("fault runs", faults))
    print(line("bad inputs", bad))
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    print(f"({time.perf_counter() - start:.0f} s, commit {rev.stdout.strip()})")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
