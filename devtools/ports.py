"""A free local port, and waiting for a started server (Streamlit) to listen on it; shared by
the browser tests and bench/app_scale.py."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Return once something listens on the port; fail early if the process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not listen on {port} within {timeout} s")


def streamlit_command(port: int, *extra: str) -> list[str]:
    """`streamlit run streamlit_app.py`, headless, on 127.0.0.1:port, no usage stats."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        *extra,
    ]


@contextlib.contextmanager
def streamlit_app(root, env: dict[str, str], *extra: str):
    """The app under `streamlit run` in `root` on a free port; yields its URL, stops it after."""
    port = free_port()
    proc = subprocess.Popen(
        streamlit_command(port, *extra),
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
