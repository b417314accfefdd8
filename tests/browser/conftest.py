"""Fixtures for the browser tests: the built docs, a loopback HTTP server, headless Chromium.

Everything runs offline: Debian's /usr/bin/chromium driven by /usr/bin/chromedriver (installed by
``tests/browser/ensure-chromium.sh``), the site served from ``docs/_build/html`` on 127.0.0.1, and
axe-core from the copy bundled in axe-selenium-python.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("LAYERTRACE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LAYERTRACE_CHROMEDRIVER", "/usr/bin/chromedriver")

#: The page that tells the project's founding story; screenshots and copy tests use it.
SEED_PAGE = "tutorial/seed.html"
LAYERS = ("user", "application", "tls", "transport", "os", "library")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def build_site(srcdir: Path, outdir: Path, *extra: str) -> None:
    """sphinx-build with the interpreter running the tests; raises with the log on failure."""
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-N",
        "-q",
        "-b",
        "html",
        *extra,
        str(srcdir),
        str(outdir),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="session")
def site() -> Path:
    """The built docs; built here if `make docs` has not run (e.g. `pytest -m browser` alone)."""
    if not (SITE / SEED_PAGE).is_file():
        build_site(DOCS, SITE)
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def serve():
    """Return a function that serves a directory on 127.0.0.1 and gives its base URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def base_url(site: Path, serve) -> str:
    return serve(site)


def start_chromium(profile: Path, *, logs: bool = False, javascript: bool = True) -> Any:
    """Headless Chromium as these machines allow it: no sandbox (root), no background
    networking (the network is closed), 1280 x 900 at scale 1, a profile of its own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if logs:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    service = Service(CHROMEDRIVER, log_output=subprocess.DEVNULL)
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_page_load_timeout(30)
    return browser


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(path) or Path(path).is_file()):
            pytest.fail(f"{path} is missing: run `bash tests/browser/ensure-chromium.sh`")
    browser = start_chromium(tmp_path_factory.mktemp("chromium-profile"), logs=True)
    browser.set_script_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def page(driver, base_url):
    """Open a docs page (path relative to the site root); return the console entries of the load.

    ``theme`` is furo's switch: "light" or "dark" (``document.body.dataset.theme``).
    """

    def open_page(path: str, theme: str = "light") -> list[dict]:
        driver.get_log("browser")  # drop whatever an earlier page left behind
        driver.get(base_url + path)  # returns once the load event has fired
        console = driver.get_log("browser")
        driver.execute_script(
            "localStorage.setItem('theme', arguments[0]);"
            "document.body.dataset.theme = arguments[0];",
            theme,
        )
        instant_scrolling(driver)
        return console

    return open_page


def instant_scrolling(driver) -> None:
    """furo scrolls smoothly; tests need the page where they put it, at once."""
    driver.execute_script("document.documentElement.style.scrollBehavior = 'auto'")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def all_pages(site: Path) -> list[str]:
    """Every page of the docs (no search/genindex boilerplate, no _static or _sources)."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel.startswith(("_", ".")) or rel in ("search.html", "genindex.html"):
            continue
        pages.append(rel)
    return pages
