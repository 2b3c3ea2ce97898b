"""End to end in real headless Chromium: `streamlit run` against the local registry stand-in."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.standin import RegistryStandIn

CHROMIUM = "/usr/bin/chromium"
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not listen on {port} within {timeout} s")


def test_profile_grouped_results_and_csv_download(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (CI installs it with apt: chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which("streamlit") is None and not (Path(sys.prefix) / "bin" / "streamlit").exists():
        pytest.skip("streamlit command not found")

    port = free_port()
    with RegistryStandIn() as server:
        env = {
            **os.environ,
            "TRIALS_HELPER_API_URL": server.api_url,
            "TRIALS_HELPER_CACHE_DIR": str(tmp_path / "cache"),
            "TRIALS_HELPER_RETRIES": "0",
        }
        proc = subprocess.Popen(
            [
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
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, proc)
            with sync_api.sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
                page = browser.new_page(
                    viewport={"width": 1400, "height": 1000}, accept_downloads=True
                )
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                page.get_by_text("Clinical trials for metastatic breast cancer").wait_for(
                    timeout=60_000
                )
                page.get_by_role("heading", name="CDK4/6 inhibitors").wait_for(timeout=60_000)

                # fill a profile: hormone receptors positive
                page.get_by_role("combobox", name="Hormone receptors (ER/PR)").click()
                page.get_by_role("option", name="Positive").click()
                page.get_by_text("likely not eligible").first.wait_for(timeout=60_000)
                assert page.get_by_role("heading", name="CDK4/6 inhibitors").is_visible()

                page.get_by_role("tab", name="Before you talk to your oncologist").click()
                button = page.get_by_role("button", name="Trials list (CSV)")
                button.wait_for(timeout=30_000)
                with page.expect_download(timeout=30_000) as info:
                    button.click()
                target = tmp_path / "trials.csv"
                info.value.save_as(target)
                header = target.read_bytes().decode("utf-8-sig").splitlines()[0]
                assert header.startswith("nct_id,url,brief_title")

                with page.expect_download(timeout=30_000) as info:
                    page.get_by_role("button", name="Discussion sheet (PDF)").click()
                sheet = tmp_path / "sheet.pdf"
                info.value.save_as(sheet)
                assert info.value.suggested_filename == "trial-discussion-sheet.pdf"
                assert sheet.read_bytes().startswith(b"%PDF-")

                shot = tmp_path / "app.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
