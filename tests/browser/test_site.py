"""The built documentation in a real browser: console, layer labels, copying, screenshots.

Selectors are deliberately tolerant of the renderer's details: a snippet is an element with class
``layertrace``; a frame is an element carrying ``data-layer`` with the layer's name visible in it;
the traceback is the ``<pre>`` inside the block whose text starts with "Traceback".
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from .conftest import LAYERS, SEED_PAGE, all_pages

pytestmark = pytest.mark.browser

#: JS: the traceback <pre> elements of every .layertrace block on the page.
TRACEBACK_PRES = """
return Array.from(document.querySelectorAll('.layertrace pre')).filter(
    pre => pre.textContent.trimStart().startsWith('Traceback'));
"""

#: JS: select an element's contents the way a reader's mouse would, and return the copied text.
SELECT_AND_COPY = """
const el = arguments[0];
const range = document.createRange();
range.selectNodeContents(el);
const selection = window.getSelection();
selection.removeAllRanges();
selection.addRange(range);
const text = selection.toString();
selection.removeAllRanges();
return text;
"""


def pages_with_blocks(site) -> list[str]:
    return [p for p in all_pages(site) if 'class="layertrace' in (site / p).read_text("utf-8")]


def test_site_was_built(site):
    assert (site / SEED_PAGE).is_file()
    assert len(pages_with_blocks(site)) >= 8


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_console_errors(site, page, theme):
    problems = {}
    for path in all_pages(site):
        console = page(path, theme)
        severe = [entry["message"] for entry in console if entry["level"] == "SEVERE"]
        if severe:
            problems[path] = severe
    assert not problems, problems


def test_seed_blocks_visible_with_layer_labels(site, page, driver):
    page(SEED_PAGE)
    blocks = driver.find_elements("css selector", ".layertrace")
    assert blocks, "no .layertrace block on the seed page"
    seen_layers: set[str] = set()
    for block in blocks:
        assert block.is_displayed()
        assert block.size["height"] > 20 and block.size["width"] > 200
        for frame in block.find_elements("css selector", "pre [data-layer]"):
            layer = frame.get_attribute("data-layer")
            assert layer in LAYERS, layer
            # Each frame shows its layer as visible text (a label), not only as a colour.
            if "label" not in (frame.get_attribute("class") or ""):
                assert layer in frame.text, (layer, frame.text)
                labels = [
                    el
                    for el in frame.find_elements("css selector", "[data-layer]")
                    if el.text.strip().split(" · ")[0] == layer  # "application · smtplib"
                ]
                assert labels and all(el.is_displayed() for el in labels), frame.text
            seen_layers.add(layer)
    # The refused smtplib connection crosses every layer from the user down to the kernel.
    assert {"user", "application", "transport", "os"} <= seen_layers


#: What a reader must see for each outcome a block can have (its ``data-outcome``).
VISIBLE_OUTCOME = {
    "raised": r"Traceback \(most recent call last\)|\w+(Error|Exception|Exit)\b",
    "returned": r"No exception: the snippet ran to the end\.",
    "timeout": r"Timed out after \d",
    "crashed": r"The interpreter (crashed|the process exited)",
    "missing": r"not run|no capture",
}


def test_every_block_on_every_page_is_visible(site, page, driver):
    for path in pages_with_blocks(site):
        page(path)
        for block in driver.find_elements("css selector", ".layertrace"):
            if block.find_elements("xpath", "ancestor::*[contains(@class,'lt-panel')]"):
                continue  # an inactive tab panel is hidden on purpose
            assert block.is_displayed(), path
            text = block.text
            outcome = block.get_attribute("data-outcome")
            shown = VISIBLE_OUTCOME.get(outcome)
            assert shown is not None, (path, outcome)  # every block says how its snippet ended
            assert re.search(shown, text), (path, outcome, text[:300])


def test_stack_diagram_is_a_list_of_layers(page, driver):
    page(SEED_PAGE)
    block = driver.find_element("css selector", "#seed-refused .layertrace")
    items = block.find_elements("css selector", "ul > li, ol > li")
    named = [item.text.split(":")[0].split(" · ")[0].strip() for item in items]
    assert [n for n in named if n in LAYERS] == ["user", "application", "transport", "os"]
    assert all(item.is_displayed() for item in items)


def _expected_seed_traceback() -> str:
    """What CPython itself prints for the seed at the >>> prompt, with the stdlib dir shortened.

    Computed independently of the extension: each statement compiled as "<stdin>" in "single"
    mode, exactly like the interactive interpreter, and formatted by the traceback module.
    """
    driver_code = textwrap.dedent(
        r"""
        import ast, os, sys, sysconfig, traceback
        src = "import smtplib\nsmtplib.SMTP('localhost', port=66000)\n"
        lines = src.splitlines(True)
        ns = {"__name__": "__main__"}
        try:
            for node in ast.parse(src).body:
                text = "".join(lines[node.lineno - 1 : node.end_lineno])
                exec(compile(text, "<stdin>", "single"), ns)
        except BaseException as exc:
            out = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
            stdlib = sysconfig.get_paths()["stdlib"]
            sys.stdout.write(out.replace(stdlib + os.sep, "<stdlib>/"))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", driver_code], capture_output=True, text=True, check=True
    )
    return proc.stdout


def test_copying_the_seed_traceback_gives_cpythons_text(page, driver):
    page(SEED_PAGE)
    pres = [
        pre
        for pre in driver.execute_script(TRACEBACK_PRES)
        if "smtplib.py" in pre.text and "ConnectionRefusedError" in pre.text
    ]
    assert pres, "no rendered traceback of the refused smtplib connection"
    copied = driver.execute_script(SELECT_AND_COPY, pres[0])
    expected = _expected_seed_traceback()
    assert expected.startswith("Traceback (most recent call last):")
    assert copied.rstrip("\n") == expected.rstrip("\n")


def test_copying_any_traceback_is_clean(site, page, driver):
    """No layer labels, no kernel annotations, no prompts and no blank lines in copied text."""
    for path in pages_with_blocks(site):
        page(path)
        for pre in driver.execute_script(TRACEBACK_PRES):
            if not pre.is_displayed():
                continue
            copied = driver.execute_script(SELECT_AND_COPY, pre)
            lines = copied.rstrip("\n").split("\n")
            assert lines[0] == "Traceback (most recent call last):", (path, copied)
            chained = ("During handling of the above exception", "The above exception was")
            for n, line in enumerate(lines):
                # CPython itself frames a chain separator with blank lines; nothing else is blank
                near_separator = any(
                    lines[m].startswith(chained) for m in (n - 1, n + 1) if 0 <= m < len(lines)
                )
                assert line.strip() or near_separator, (path, "blank line in copy", copied)
                if not line.strip():
                    continue
                assert not line.startswith((">>> ", "... ")), (path, line)
                assert line.split()[-1] not in LAYERS or not line.startswith("  File "), (
                    path,
                    "layer label copied",
                    line,
                )
                assert "→" not in line, (path, "annotation copied", line)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_seed_screenshots(page, driver, screenshots, theme):
    page(SEED_PAGE, theme)
    driver.execute_script("window.scrollTo(0, 0)")
    background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
    # furo really switched: a light page is bright, a dark page is dark.
    assert (sum(channels) > 600) if theme == "light" else (sum(channels) < 200), background

    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 900), 12000))
    try:
        full = screenshots / f"seed-{theme}.png"
        assert driver.save_screenshot(str(full))
        block = driver.find_element("css selector", "#seed-refused")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", block)
        element = screenshots / f"seed-block-{theme}.png"
        block.screenshot(str(element))
    finally:
        driver.set_window_size(1280, 900)
    for shot in (full, element):
        assert shot.stat().st_size > 10_000, shot
