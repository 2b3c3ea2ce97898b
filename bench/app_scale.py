"""The app at the registry's real size, in a real browser: first results, a profile change, a
place change and page size with 1,000 and 2,000 studies (issue #15).

How: `devtools.scale` builds N studies from the real records in ../shared/ctgov (new ids, real
locations; see its docstring), the local stand-in (`devtools.standin`, 300 ms per request)
serves them, `streamlit run streamlit_app.py` runs the app against it with an empty HTTP cache,
and headless Chromium (Playwright, /usr/bin/chromium) opens it as a person would:

- cold: the first page after the server starts with an empty cache folder (nothing fetched,
  nothing read yet);
- warm: a second page (a new session) while the server holds the data;
- after a restart: the first page of a new server process on the same cache folder;
- profile change: hormone receptors set to Positive;
- place: "Boston, MA" within 100 miles entered, then changed to "Chicago, IL" (registry requests
  made during the change are counted on the stand-in);
- page size: characters of the page's HTML (`outerHTML`) and trial cards drawn, after the warm
  load;
- the CLI: `trials-helper search --from` the same studies as a snapshot, on an empty cache
  folder and again.

Each time is measured in the browser from the action to the last change of the page (a
MutationObserver; the page counts as settled after 1.5 s without a change and with the app no
longer running). "first results" is the time until the first trial card (or the no-results
message) shows. `--app-root` runs another copy of the app (e.g. an older commit) with this
script. Timing stays out of the tests.

Run: python3 bench/app_scale.py [--sizes 1000,2000] [--app-root DIR] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.ports import streamlit_app  # noqa: E402
from devtools.scale import scaled_studies, write_studies  # noqa: E402
from devtools.standin import RegistryStandIn  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
LATENCY = 0.3
QUIET = 1500  # ms without a change of the page before it counts as settled
CARD = "Add to my discussion sheet"  # every trial card has this checkbox

OBSERVER = """
window.__lastChange = performance.now();
new MutationObserver(() => { window.__lastChange = performance.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
RUNNING = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'


def settle(page, t0: float, timeout: float = 600.0) -> float:
    """Seconds from t0 (browser clock, ms) to the last change of the page, once settled; NaN
    when it has not settled within `timeout` seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"""() => !document.querySelector('{RUNNING}')
                  && performance.now() - window.__lastChange > {QUIET}""",
            timeout=timeout * 1000,
            polling=100,
        )
    except PlaywrightTimeout:
        return math.nan
    return (page.evaluate("window.__lastChange") - t0) / 1000


def first_results(page, t0: float, timeout: float = 600.0) -> float:
    page.wait_for_function(
        f"""() => {{
            const body = document.body ? document.body.innerText : "";
            return body.includes({json.dumps(CARD)}) || body.includes("No trials match");
        }}""",
        timeout=timeout * 1000,
        polling=50,
    )
    return (page.evaluate("performance.now()") - t0) / 1000


def open_app(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(OBSERVER)
    page.goto("about:blank")
    t0 = page.evaluate("performance.timeOrigin + performance.now()")
    page.goto(url, wait_until="commit")
    # the new document's clock starts at its own timeOrigin
    origin = page.evaluate("performance.timeOrigin")
    start = t0 - origin
    found = first_results(page, start)
    settled = settle(page, start)
    return page, found, settled


def page_size(page) -> tuple[int, int]:
    chars = page.evaluate("document.documentElement.outerHTML.length")
    cards = page.get_by_text(CARD, exact=True).count()
    return chars, cards


def choose(page, label: str, option: str) -> float:
    """One click on a one-click answer (a radio group), or a pick in a select box (the app
    before #17 used select boxes for the profile)."""
    group = page.get_by_role("radiogroup", name=label)
    if group.count():
        target = group.get_by_role("radio", name=option)
    else:
        page.get_by_role("combobox", name=label).click()
        target = page.get_by_role("option", name=option, exact=True)
    target.wait_for()
    t0 = page.evaluate("performance.now()")
    target.click()
    return settle(page, t0)


def type_place(page, text: str) -> float:
    box = page.get_by_label("ZIP code, city, or 'lat, lon'")
    box.fill(text)
    t0 = page.evaluate("performance.now()")
    box.press("Enter")
    return settle(page, t0)


@contextlib.contextmanager
def app_server(app_root: Path, env: dict[str, str]):
    """`streamlit run` on a free port; yields the URL, stops the server after."""
    env = {**os.environ, **env, "PYTHONPATH": str(app_root)}
    with streamlit_app(app_root, env, "--server.fileWatcherType", "none") as url:
        yield url


def measure(n: int, app_root: Path, work: Path) -> dict:
    from playwright.sync_api import sync_playwright

    studies = write_studies(scaled_studies(n), work / f"studies-{n}")
    out: dict = {"studies": n}
    with RegistryStandIn(latency=LATENCY, studies_dir=studies) as server, sync_playwright() as pw:
        env = {
            "TRIALS_HELPER_API_URL": server.api_url,
            "TRIALS_HELPER_CACHE_DIR": str(work / f"cache-{n}"),
            "TRIALS_HELPER_RETRIES": "0",
        }
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        with app_server(app_root, env) as url:
            page, found, settled = open_app(browser, url)
            out["cold_first_results"], out["cold_settled"] = found, settled
            out["requests_cold"] = server.request_count
            page.close()
            if math.isnan(settled):
                return out  # the page never settled: the rest would not either
            page, found, settled = open_app(browser, url)
            out["warm_first_results"], out["warm_settled"] = found, settled
            out["page_chars"], out["cards"] = page_size(page)
            out["profile_change"] = choose(page, "Hormone receptors (ER/PR)", "Positive")
            out["place_first"] = type_place(page, "Boston, MA")
            before = server.request_count
            out["place_change"] = type_place(page, "Chicago, IL")
            out["place_change_requests"] = server.request_count - before
            out["page_chars_after_place"], out["cards_after_place"] = page_size(page)
            page.close()
        # a new server process on the same cache folder (a restart or a second replica): the
        # HTTP cache answers and, where the app keeps them, the stored readings too
        with app_server(app_root, env) as url:
            before = server.request_count
            page, found, settled = open_app(browser, url)
            out["restart_first_results"], out["restart_settled"] = found, settled
            out["requests_restart"] = server.request_count - before
            page.close()
        browser.close()
    return out


def cli_times(n: int, app_root: Path, work: Path) -> tuple[float, float]:
    """`trials-helper search --from` the same N studies as a snapshot: the first run on an empty
    cache folder, then a second run (stored readings, where the app keeps them)."""
    snapshot = work / f"snapshot-{n}.json"
    snapshot.write_text(json.dumps(scaled_studies(n)), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(app_root),
        "TRIALS_HELPER_CACHE_DIR": str(work / f"cli-cache-{n}"),
    }
    argv = [sys.executable, "-m", "trials_helper.cli", "search", "--from", str(snapshot)]
    times = []
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run(
            [*argv, "--out", str(work / f"cli-{n}.csv")],
            cwd=app_root,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def line(r: dict) -> str:
    if "warm_first_results" not in r:
        return (
            f"{r['studies']:>5} studies: first card cold {r['cold_first_results']:5.1f} s; "
            "the page did not settle within 10 minutes (nothing else measured)"
        )
    return (
        f"{r['studies']:>5} studies: first results cold {r['cold_first_results']:5.1f} s "
        f"(settled {r['cold_settled']:5.1f} s, {r['requests_cold']} requests), "
        f"warm {r['warm_first_results']:5.1f} s (settled {r['warm_settled']:5.1f} s), "
        f"after a restart {r['restart_first_results']:5.1f} s "
        f"({r['requests_restart']} requests); "
        f"profile change {r['profile_change']:5.2f} s; place set {r['place_first']:5.2f} s, "
        f"changed {r['place_change']:5.2f} s ({r['place_change_requests']} requests); "
        f"page {r['page_chars'] / 1e6:5.2f} MB, {r['cards']} cards "
        f"(after place: {r['page_chars_after_place'] / 1e6:.2f} MB, "
        f"{r['cards_after_place']} cards); "
        f"CLI search --from: {r['cli_first']:.1f} s, again {r['cli_again']:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,2000")
    parser.add_argument("--app-root", type=Path, default=ROOT)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"stand-in latency {LATENCY * 1000:.0f} ms/request; app {args.app_root}"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="app-scale-") as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            r = measure(n, args.app_root.resolve(), Path(tmp))
            if "warm_first_results" in r:
                r["cli_first"], r["cli_again"] = cli_times(n, args.app_root.resolve(), Path(tmp))
            results.append(r)
            print(line(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
