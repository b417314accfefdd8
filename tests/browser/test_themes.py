"""The block in the five themes people use, light and dark, at 1280 px and 390 px: labels
visible (folds opened) without sideways scrolling, the traceback in the theme's code font size,
axe clean, WCAG-AA contrast, and dark only where the theme itself is dark (screenshots in
build/screenshots/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT, build_site, instant_scrolling
from .test_quality import _axe, _serious

pytestmark = pytest.mark.browser

THEMES = ("alabaster", "furo", "pydata_sphinx_theme", "sphinx_rtd_theme", "sphinx_book_theme")
#: themes with a dark mode of their own, and how their switch is thrown
SWITCH = {
    "furo": "document.body.dataset.theme = arguments[0];",
    "pydata_sphinx_theme": "document.documentElement.dataset.mode = arguments[0];"
    "document.documentElement.dataset.theme = arguments[0];",
    "sphinx_book_theme": "document.documentElement.dataset.mode = arguments[0];"
    "document.documentElement.dataset.theme = arguments[0];",
}
AA = 4.5
#: the text inside a block whose contrast is measured: labels, frames, and the prose around them
TEXT = (
    ".lt-label",
    "pre.lt-traceback",
    ".lt-frame",
    ".lt-meta",
    ".lt-outcome",
    ".lt-stack-layer",
    ".lt-fold-label",
    ".lt-asked-word",
)
#: the widths a reader's window has: a laptop, and a phone held upright
WIDTHS = (1280, 390)


@pytest.fixture(scope="session")
def theme_sites(tmp_path_factory) -> dict[str, Path]:
    """The test-themes root built once per theme (the snippets run once: one shared cache)."""
    work = tmp_path_factory.mktemp("themes")
    sites = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERTRACE_TEST_CACHE", str(work / "cache"))
        for theme in THEMES:
            src = work / f"src-{theme}"
            shutil.copytree(ROOT / "tests" / "roots" / "test-themes", src)
            patch.setenv("LT_THEME", theme)
            build_site(src, work / theme, "-W")
            sites[theme] = work / theme
    return sites


@pytest.fixture
def os_scheme(driver):
    """Set the OS colour preference Chromium reports (prefers-color-scheme); reset afterwards."""

    def emulate(scheme: str) -> None:
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"media": "", "features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )

    yield emulate
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


@pytest.fixture
def themed(driver, serve, theme_sites, os_scheme):
    """Open the page of a theme with the theme's switch set to ``choice`` (None: untouched)
    while the OS prefers ``scheme``."""

    def open_page(theme: str, choice: str | None, scheme: str = "light") -> None:
        os_scheme(scheme)
        driver.get(serve(theme_sites[theme]) + "index.html")
        if choice is not None:
            driver.execute_script(SWITCH[theme], choice)
        instant_scrolling(driver)

    return open_page


def open_in_mode(themed, theme: str, mode: str) -> None:
    """Dark is the theme's own switch where it has one, else the OS's preference."""
    if theme in SWITCH:
        themed(theme, mode)
    else:
        themed(theme, None, scheme=mode)


#: For each element: its text colour and the background colours from it up to <html>, each as
#: [r, g, b, a] read back from a canvas, so any CSS colour syntax (color-mix included) is resolved.
COLOURS = """
const canvas = document.createElement('canvas'); canvas.width = canvas.height = 1;
const ctx = canvas.getContext('2d', {willReadFrequently: true});
function rgba(css) {
  ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = 'rgba(0, 0, 0, 0)'; ctx.fillStyle = css;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data; return [r, g, b, a / 255];
}
return Array.from(document.querySelectorAll(arguments[0])).map(el => {
  const backs = [];
  for (let node = el; node; node = node.parentElement) {
    backs.push(rgba(getComputedStyle(node).backgroundColor));
  }
  return {text: el.textContent.trim().slice(0, 40), fg: rgba(getComputedStyle(el).color), backs};
});
"""


def _over(top: list[float], bottom: list[float]) -> list[float]:
    alpha = top[3]
    return [top[i] * alpha + bottom[i] * (1 - alpha) for i in range(3)] + [1.0]


def _luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(entry: dict) -> float:
    """WCAG contrast of an element's text on what is really behind it (the canvas is white)."""
    back = [255.0, 255.0, 255.0, 1.0]
    for layer in reversed(entry["backs"]):
        back = _over(layer, back)
    fore = _over(entry["fg"], back)
    light, dark = sorted((_luminance(fore), _luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _block_background(driver) -> float:
    """Luminance of what is behind the first block's text: near 1 is light, near 0 dark."""
    entry = driver.execute_script(COLOURS, ".layertrace")[0]
    back = [255.0, 255.0, 255.0, 1.0]
    for layer in reversed(entry["backs"]):
        back = _over(layer, back)
    return _luminance(back)


def hidden_labels(driver) -> list[str]:
    """Labels that elementFromPoint at their centre does not find (covered, clipped, hidden)."""
    return driver.execute_script("""
        const hidden = [];
        for (const label of document.querySelectorAll('.layertrace .lt-label')) {
          label.scrollIntoView({block: 'center'});
          const box = label.getBoundingClientRect();
          const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
          if (!box.width || !hit || !(hit === label || label.contains(hit))) {
            hidden.push(label.textContent + ' under ' + (hit ? hit.outerHTML.slice(0, 80) : '-'));
          }
        }
        return hidden;
    """)


#: Open every folded run of frames, so that every label is on the page to be seen.
OPEN_FOLDS = """
for (const box of document.querySelectorAll('.layertrace .lt-fold-toggle')) { box.checked = true; }
return document.querySelectorAll('.layertrace .lt-fold-toggle').length;
"""

#: Parts of the blocks that carry labels (and the page) wider than their box: a sideways scroll.
#: The code above a traceback scrolls as every code block of the theme does; it has no labels.
SIDEWAYS = """
const out = [];
const page = document.scrollingElement;
if (page.scrollWidth > page.clientWidth + 1) {
  out.push('page ' + page.scrollWidth + ' > ' + page.clientWidth);
}
for (const el of document.querySelectorAll(
    '.layertrace, .layertrace pre.lt-traceback, .layertrace ul.lt-stack')) {
  if (el.scrollWidth > el.clientWidth + 1) {
    out.push(el.tagName + '.' + el.className + ' ' + el.scrollWidth + ' > ' + el.clientWidth);
  }
}
return out;
"""

#: The computed font size of the traceback and of the code above it, per block.
FONT_SIZES = """
return Array.from(document.querySelectorAll('.layertrace')).map(block => {
  const code = block.querySelector('.lt-code pre'), tb = block.querySelector('pre.lt-traceback');
  return code && tb ? [getComputedStyle(tb).fontSize, getComputedStyle(code).fontSize] : null;
}).filter(Boolean);
"""


@pytest.mark.parametrize(
    "view",
    [(mode, width) for mode in ("light", "dark") for width in WIDTHS],
    ids=lambda view: f"{view[0]}-{view[1]}px",
)
@pytest.mark.parametrize("theme", THEMES)
def test_block_in_theme(driver, themed, screenshots, theme, view):
    mode, width = view
    driver.set_window_size(width, 900)
    try:
        open_in_mode(themed, theme, mode)
        _check_block(driver, theme, mode)
        if width == WIDTHS[0]:
            block = driver.find_element("css selector", ".layertrace")
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", block)
            block.screenshot(os.fspath(screenshots / f"theme-{theme}-{mode}.png"))
    finally:
        driver.set_window_size(1280, 900)


def _check_block(driver, theme: str, mode: str) -> None:
    assert driver.find_elements("css selector", ".layertrace .lt-label"), "no label rendered"
    assert driver.execute_script(OPEN_FOLDS) > 0, "the requests block is expected to fold"
    assert hidden_labels(driver) == []
    sideways = driver.execute_script(SIDEWAYS)
    assert sideways == [], "; ".join(sideways)
    sizes = driver.execute_script(FONT_SIZES)
    assert sizes and all(tb == code for tb, code in sizes), sizes
    weak = []
    for selector in TEXT:
        for entry in driver.execute_script(COLOURS, f".layertrace {selector}"):
            ratio = contrast(entry)
            if ratio < AA:
                weak.append(f"{selector} {entry['text']!r}: {ratio:.2f}:1 {entry}")
    assert not weak, "\n".join(weak)
    serious = _serious(_axe(driver, {"include": [[".layertrace"]]}))
    assert not serious, serious
    # the block is dark exactly where the theme is dark; light-only themes stay light
    dark = _block_background(driver) < 0.2
    assert dark == (mode == "dark" and theme in SWITCH), (theme, mode, dark)


@pytest.mark.parametrize("theme", ["furo", "pydata_sphinx_theme"])
def test_the_theme_switch_wins_over_the_os(driver, themed, theme):
    """A reader who picked light in the theme gets a light block on a dark OS, and dark on light."""
    for chosen, other in (("light", "dark"), ("dark", "light")):
        themed(theme, chosen, scheme=other)
        assert (_block_background(driver) < 0.2) == (chosen == "dark"), (theme, chosen)


def test_furo_auto_follows_the_os(driver, themed):
    for scheme in ("light", "dark"):
        themed("furo", "auto", scheme=scheme)
        assert (_block_background(driver) < 0.2) == (scheme == "dark"), scheme


#: the computed colours that make up the block's look: labels, frame rules, stack rows
LOOK = """
return Array.from(document.querySelectorAll(
  '.layertrace, .layertrace .lt-label, .layertrace .lt-frame, .layertrace .lt-stack > li'
)).map(el => {
  const s = getComputedStyle(el);
  return [s.color, s.backgroundColor, s.borderLeftColor].join(' ');
});
"""


@pytest.mark.parametrize("theme", ["alabaster", "sphinx_rtd_theme"])
def test_light_only_theme_ignores_a_dark_os(driver, themed, theme):
    """The page of a light-only theme stays white on a dark OS: so does every colour of the
    block (no pale dark-mode palette on a light page)."""
    looks = {}
    for scheme in ("light", "dark"):
        themed(theme, None, scheme=scheme)
        looks[scheme] = driver.execute_script(LOOK)
    assert looks["light"], "no block found"
    changed = [(a, b) for a, b in zip(looks["light"], looks["dark"], strict=True) if a != b]
    assert not changed, changed[:5]
