"""Real network stacks in the built docs: the gallery's long tracebacks fold without JavaScript,
and every gallery page has screenshots in light and dark (build/screenshots/gallery-*.png)."""

from __future__ import annotations

import os

import pytest

from .conftest import instant_scrolling, start_chromium

pytestmark = pytest.mark.browser

#: ``layertrace_fold`` of the docs (the default)
FOLD = 12
GALLERY = (
    "requests",
    "urllib3",
    "httpx",
    "httpx-async",
    "aiohttp",
    "websockets",
    "paramiko",
    "dnspython",
    "grpc",
)

#: For each traceback of the page: how many frames (the kernel's row not counted) a reader sees,
#: and how many there are. A closed fold is clipped to a pixel: nothing in it can be seen.
SHOWN = """
return Array.from(document.querySelectorAll('.layertrace pre.lt-traceback')).map(pre => {
  const frames = Array.from(pre.querySelectorAll('.lt-frame:not(.lt-kernel)'));
  const seen = frames.filter(frame => {
    const fold = frame.closest('.lt-folded');
    return frame.getClientRects().length > 0 && (!fold || fold.getBoundingClientRect().height > 2);
  });
  return [seen.length, frames.length];
});
"""


@pytest.fixture(scope="module")
def nojs(tmp_path_factory):
    """Chromium with JavaScript off for the page (WebDriver's own scripts still run)."""
    browser = start_chromium(tmp_path_factory.mktemp("chromium-nojs"), javascript=False)
    try:
        yield browser
    finally:
        browser.quit()


def test_the_requests_block_folds_and_opens_without_javascript(nojs, base_url):
    nojs.get(base_url + "gallery/requests.html")
    instant_scrolling(nojs)
    # furo's script would set data-theme on the body: it did not run
    assert nojs.execute_script("return document.body.dataset.theme") is None
    shown, total = nojs.execute_script(SHOWN)[0]
    assert total > FOLD, "the requests traceback is expected to be longer than layertrace_fold"
    assert 0 < shown <= FOLD, (shown, total)
    block = nojs.find_elements("css selector", ".layertrace")[0]
    toggles = block.find_elements("css selector", "pre.lt-traceback .lt-fold-label")
    assert toggles, "no fold toggle in the requests block"
    for toggle in toggles:
        nojs.execute_script("arguments[0].scrollIntoView({block: 'center'})", toggle)
        toggle.click()  # a <label> for a checkbox: HTML alone opens the run
    assert nojs.execute_script(SHOWN)[0] == [total, total]
    toggles[0].click()
    assert nojs.execute_script(SHOWN)[0][0] < total  # and closes it again


def test_copying_a_folded_traceback_still_gives_every_line(page, driver):
    page("gallery/requests.html")
    pre = driver.find_elements("css selector", ".layertrace pre.lt-traceback")[0]
    copied = driver.execute_script(
        """
        const range = document.createRange(); range.selectNodeContents(arguments[0]);
        const selection = window.getSelection(); selection.removeAllRanges();
        selection.addRange(range); const text = selection.toString();
        selection.removeAllRanges(); return text;
        """,
        pre,
    )
    frames = [line for line in copied.splitlines() if line.startswith('  File "')]
    assert len(frames) == len(pre.find_elements("css selector", ".lt-frame:not(.lt-kernel)"))
    assert "more frame" not in copied and "→" not in copied
    # exactly the text CPython printed: the block's text without our labels and the kernel row
    printed = driver.execute_script(
        """
        const copy = arguments[0].cloneNode(true);
        copy.querySelectorAll('.lt-label, .lt-fold-label, .lt-kernel').forEach(e => e.remove());
        return copy.textContent;
        """,
        pre,
    )
    assert copied.rstrip("\n") == printed.rstrip("\n")


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_gallery_screenshots(page, driver, screenshots, mode):
    """One screenshot per gallery page and mode, for the docs and for reviewers."""
    for name in GALLERY:
        page(f"gallery/{name}.html", mode)
        instant_scrolling(driver)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(max(height, 900), 12000))
        try:
            path = screenshots / f"gallery-{name}-{mode}.png"
            driver.save_screenshot(os.fspath(path))
            assert path.stat().st_size > 10_000
        finally:
            driver.set_window_size(1280, 900)
