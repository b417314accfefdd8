"""CPython 3.13's traceback colours in a real browser: the exception type's computed colour is
the theme's (light and dark), every coloured run is WCAG-AA readable, and a copy is plain text.
Skips where CPython 3.13 is not installed (pyenv)."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT, build_site, instant_scrolling
from .test_site import SELECT_AND_COPY
from .test_themes import AA, COLOURS, SWITCH, contrast

_FOUND = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13.*/bin/python3")))
PY313 = _FOUND[-1] if _FOUND else None
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(PY313 is None, reason="no CPython 3.13 installed (pyenv)"),
]
#: what layertrace.css gives CPython's bold magenta (the exception type), light and dark
MAGENTA = {"light": [162, 28, 175, 1.0], "dark": [240, 171, 252, 1.0]}


@pytest.fixture(scope="session")
def colour_sites(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("colour")
    sites = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERTRACE_TEST_CACHE", str(work / "cache"))
        patch.setenv("LT_PYTHON313", str(PY313))
        for theme in ("alabaster", "furo", "pydata_sphinx_theme"):
            src = work / f"src-{theme}"
            shutil.copytree(ROOT / "tests" / "roots" / "test-colour", src)
            patch.setenv("LT_THEME", theme)
            build_site(src, work / theme, "-W")
            sites[theme] = work / theme
    return sites


@pytest.fixture
def colour_page(driver, serve, colour_sites):
    """Open the page built with ``theme``, its own switch and the OS preference set to ``mode``."""

    def open_page(theme: str, mode: str) -> None:
        # the OS preference too: a light-only theme must stay light on a dark OS
        features = [{"name": "prefers-color-scheme", "value": mode}]
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": features})
        driver.get(serve(colour_sites[theme]) + "index.html")
        if theme in SWITCH:
            driver.execute_script(SWITCH[theme], mode)
        instant_scrolling(driver)

    yield open_page
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("theme", ["alabaster", "furo", "pydata_sphinx_theme"])
def test_the_exception_type_shows_cpythons_colour(driver, colour_page, screenshots, theme, mode):
    colour_page(theme, mode)
    found = driver.execute_script(
        COLOURS, ".layertrace pre.lt-traceback .lt-ansi-magenta.lt-ansi-bold"
    )
    assert [entry["text"] for entry in found] == ["ValueError"]
    # alabaster is light-only: on a dark OS its block, colours included, stays light
    shown = "light" if theme not in SWITCH else mode
    assert found[0]["fg"] == MAGENTA[shown], found[0]
    weight = driver.execute_script(
        "return getComputedStyle(document.querySelector('.lt-ansi-bold')).fontWeight"
    )
    assert int(weight) >= 700
    weak = [
        f"{entry['text']!r}: {contrast(entry):.2f}:1"
        for entry in driver.execute_script(COLOURS, ".layertrace [class*='lt-ansi-']")
        if contrast(entry) < AA
    ]
    assert not weak, weak
    block = driver.find_element("css selector", ".layertrace")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", block)
    block.screenshot(os.fspath(screenshots / f"colour-{theme}-{mode}.png"))


def test_copying_a_coloured_traceback_gives_the_plain_text(driver, colour_page):
    colour_page("furo", "light")
    pre = driver.find_element("css selector", ".layertrace pre.lt-traceback")
    copied = driver.execute_script(SELECT_AND_COPY, pre)
    assert "\x1b" not in copied and "[35m" not in copied
    assert copied.rstrip().endswith(
        "ValueError: invalid literal for int() with base 10: 'not a number'"
    )
    assert '  File "example.py", line 4, in <module>\n    parse("not a number")\n' in copied
