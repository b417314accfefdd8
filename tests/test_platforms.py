"""Platform pages: several interpreters on a page; frozen Linux/macOS/Windows captures as tabs.

The macOS and Windows captures are the hand-written fixtures in tests/fixtures/captures (marked
``_fixture``: written from domain facts, not recorded on those systems).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sphinx_layertrace.capture import frozen as platforms
from sphinx_layertrace.model import Capture, Platform, PythonInfo
from sphinx_layertrace.render import tabs
from sphinx_layertrace.render.tabs import Shown, what_differs
from sphinx_layertrace.render.words import caption
from sphinx_layertrace.sphinxext import collect
from sphinx_layertrace.sphinxext.session import snippet_id

ROOTS = Path(__file__).parent / "roots"
FIXTURES = Path(__file__).parent / "fixtures" / "captures"
SEED_CODE = "import smtplib\nsmtplib.SMTP('localhost', port=66000)\n"
SEED_ID = snippet_id(SEED_CODE, [], "repl")


def fixture(name: str) -> Capture:
    return Capture.from_json((FIXTURES / f"seed-{name}.json").read_bytes())


def copy_root(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(ROOTS / f"test-{name}", target)
    return target


# -- files: names, bytes, merge ------------------------------------------------------------------


def test_file_name_and_deterministic_json(tmp_path):
    darwin = fixture("darwin")
    assert platforms.file_name(SEED_ID, darwin) == f"{SEED_ID}.darwin-py3.11.json"
    assert platforms.file_name("x", fixture("win32")) == "x.win32-py3.11.json"
    # the same capture gives the same bytes, whatever the run took
    slow = darwin.replace(duration=2.5)
    assert platforms.dumps(slow) == platforms.dumps(darwin.replace(duration=0.1))
    text = platforms.dumps(darwin)
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path = platforms.write(tmp_path, SEED_ID, darwin)
    assert Capture.from_json(path.read_bytes()) == darwin.replace(duration=0.0)


def test_merge_renames_from_content_and_later_inputs_win(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    a.mkdir()
    b.mkdir()
    # a file with a misleading suffix is renamed from what it contains
    (a / f"{SEED_ID}.whatever.json").write_text(fixture("darwin").to_json(), encoding="utf-8")
    platforms.write(a, SEED_ID, fixture("win32"))
    newer = fixture("win32").replace(stdout="newer")
    platforms.write(b, SEED_ID, newer)
    report = platforms.merge([a, b], out)
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{SEED_ID}.darwin-py3.11.json", f"{SEED_ID}.win32-py3.11.json"]
    assert report.replaced == [f"{SEED_ID}.win32-py3.11.json"]
    assert Capture.from_json((out / names[1]).read_bytes()).stdout == "newer"


def test_merge_refuses_unknown_schema_before_writing(tmp_path):
    good, bad, out = tmp_path / "good", tmp_path / "bad", tmp_path / "out"
    platforms.write(good, SEED_ID, fixture("darwin"))
    bad.mkdir()
    data = json.loads(fixture("win32").to_json())
    data["schema"] = 2
    (bad / f"{SEED_ID}.win32-py3.11.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(platforms.MergeError) as info:
        platforms.merge([good, bad], out)
    message = str(info.value)
    assert "\n" not in message
    assert f"{SEED_ID}.win32-py3.11.json" in message
    assert "unknown capture schema 2" in message
    assert not out.exists()


def beside(*args: object) -> list[Shown]:
    """Tabs as a Linux build machine shows them."""
    return tabs.beside(*args, here="linux")  # type: ignore[arg-type]


def test_platforms_filter_and_live_first():
    linux = Capture(
        "x", platform=Platform(system="Linux"), python=PythonInfo(version="3.12.1", label="3.12")
    )
    darwin, win = fixture("darwin"), fixture("win32")
    assert tabs.wanted(darwin, [])
    assert tabs.wanted(darwin, ["darwin"])
    assert tabs.wanted(darwin, ["macOS"])
    assert tabs.wanted(win, ["windows", "linux"])
    assert tabs.wanted(win, ["win32-py3.11"])
    assert not tabs.wanted(win, ["win32-py3.12", "darwin-py3.10"])
    assert tabs.wanted(linux, ["3.12"])
    assert not any(tabs.wanted(c, ["none"]) for c in (linux, darwin, win))
    # a frozen capture of this machine's platform and label fills a live slot that was not run
    here = Capture(
        "x", platform=Platform(system="Linux"), python=PythonInfo(version="3.12.1", label="3.12")
    )
    shown = beside([Shown("3.12", None, "not run")], [("3.12",)], [here, darwin, win], [])
    assert [s.capture for s in shown] == [here, *[c for c in (darwin, win) if c is not here]][:3]
    # ... and is not shown twice when the live one exists; :platforms: filters the others
    live = Shown("live", here.replace(stdout="live"))
    shown = beside([live], [("3.12",)], [here, darwin, win], ["win32"])
    assert [s.capture for s in shown] == [live.capture, win]
    # :platforms: none keeps to the live capture (a stand-in for a live one not run still counts)
    shown = beside([live], [("3.12",)], [here, darwin, win], ["none"])
    assert [s.capture for s in shown] == [live.capture]
    shown = beside([Shown("3.12", None, "not run")], [("3.12",)], [here, darwin], ["none"])
    assert [s.capture for s in shown] == [here]
    # a label of the build's own (``build``) finds the capture of its interpreter's X.Y ...
    slot = Shown("build", None, "not run")
    shown = beside([slot], [("build", "3.12")], [here], ["none"])
    assert [s.capture for s in shown] == [here]
    # ... and only that one
    shown = beside([slot], [("build", "3.11")], [here], ["none"])
    assert [s.capture for s in shown] == [None]
    # three labels of one Python (``build, oldest, newest`` on a machine with one CPython): the
    # capture fills all three tabs, and is not shown a fourth time
    slots = [Shown(name, None, "not run") for name in ("build", "oldest", "newest")]
    names = [(name, "3.12") for name in ("build", "oldest", "newest")]
    shown = beside(slots, names, [here], [])
    assert [s.capture for s in shown] == [here, here, here]
    # the same X.Y fits before the same label: a label "3.13" that runs a 3.12 here
    labelled = here.replace(python=PythonInfo(version="3.13.0", label="3.13"))
    shown = beside([Shown("3.13", None, "not run")], [("3.13", "3.12")], [labelled, here], [])
    assert [s.capture for s in shown] == [here, labelled]  # the 3.13 capture is still a tab


# -- the "what differs" line ----------------------------------------------------------------------


def shown(*captures: Capture) -> list[Shown]:
    return [Shown(caption(c), c) for c in captures]


def test_what_differs_lists_only_what_differs():
    linux, darwin, win = fixture("linux"), fixture("darwin"), fixture("win32")
    assert what_differs(shown(linux)) == ""
    assert what_differs(shown(linux, darwin, win)) == (
        "What differs: errno 111 ECONNREFUSED (Linux) · errno 61 ECONNREFUSED (macOS) · "
        "WinError 10061 (Windows). Same on every tab: ConnectionRefusedError, 6 frames, "
        "layers user → application → transport → os."
    )
    assert what_differs(shown(linux, linux)).startswith(
        "Same result everywhere: ConnectionRefusedError, errno 111 ECONNREFUSED, 6 frames"
    )


def test_what_differs_names_a_whole_platform_or_version_briefly():
    linux, darwin = fixture("linux"), fixture("darwin")
    exc = linux.exception
    old = linux.replace(
        python=PythonInfo(implementation="CPython", version="3.8.18", label="3.8"),
        exception=dataclasses.replace(exc, frames=exc.frames[:5]),
    )
    new = linux.replace(python=PythonInfo(implementation="CPython", version="3.13.0", label="3.13"))
    # errno holds for every Linux tab; the frame count for every tab of a version
    assert what_differs(shown(linux, old, new, darwin)) == (
        "What differs: errno 111 ECONNREFUSED (Linux) · errno 61 ECONNREFUSED (macOS); "
        "6 frames (CPython 3.11.7, CPython 3.13.0) · 5 frames (CPython 3.8.18). "
        "Same on every tab: ConnectionRefusedError, layers user → application → transport → os."
    )
    # one platform: tabs are named by version only
    assert what_differs(shown(linux, old)).startswith(
        "What differs: 6 frames (CPython 3.11.7) · 5 frames (CPython 3.8.18). Same on every tab: "
    )
    # a tab that raised nothing has no errno or frames to compare; equal names fall back to labels
    quiet = linux.replace(outcome="returned", exception=None)
    tabs = [Shown("first", linux), Shown("second", quiet)]
    assert what_differs(tabs) == (
        "What differs: ConnectionRefusedError (first) · no exception (second)."
    )


# -- capture -> merge -> build, nothing executed --------------------------------------------------


@pytest.fixture
def merged(tmp_path) -> Path:
    """The live Linux capture set of the platforms root merged with the macOS/Windows fixtures."""
    live = tmp_path / "live"
    collected = collect.collect(copy_root("platforms", tmp_path / "src-capture"))
    written = collect.write_captures(collected, live)
    assert [p.name.split(".")[0] for p in written] == [SEED_ID]
    others = tmp_path / "others"
    for name in ("darwin", "win32"):
        capture = fixture(name)
        others.mkdir(exist_ok=True)
        shutil.copy(FIXTURES / f"seed-{name}.json", others / platforms.file_name(SEED_ID, capture))
    out = tmp_path / "merged"
    platforms.merge([live, others], out)
    return out


def frozen_app(make_app, tmp_path, merged, builder):
    src = copy_root("platforms", tmp_path / f"src-{builder}")
    return make_app(
        builder,
        srcdir=src,
        confoverrides={
            "layertrace_captures": os.fspath(merged),
            "layertrace_execute": "never",
            "layertrace_cache_dir": os.fspath(tmp_path / f"empty-cache-{builder}"),
        },
    )


class Element:
    """A parsed HTML element: enough of a DOM to find the tabs whatever attributes they carry."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None = None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (tag is None or child.tag == tag) and (cls is None or cls in child.classes):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def parse_html(text: str) -> Element:
    """The page as an :class:`Element` tree (html.parser; void elements never get children)."""

    class Builder(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.root = self.current = Element("#document", {})

        def handle_starttag(self, tag, attrs):
            element = Element(tag, dict(attrs), self.current)
            self.current.children.append(element)
            if tag not in VOID:
                self.current = element

        def handle_startendtag(self, tag, attrs):
            self.current.children.append(Element(tag, dict(attrs), self.current))

        def handle_endtag(self, tag):
            node = self.current
            while node is not None and node.tag != tag:
                node = node.parent
            if node is not None and node.parent is not None:  # a stray end tag is ignored
                self.current = node.parent

        def handle_data(self, data):
            self.current.children.append(data)

    builder = Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def tab_labels(tabs: Element) -> list[str]:
    return [label.text() for label in tabs.find_all("label", "lt-tab-label")]


def test_frozen_platform_tabs_without_running_anything(make_app, tmp_path, merged):
    app = frozen_app(make_app, tmp_path, merged, "html")
    app.build()
    assert app.layertrace.executed == 0
    assert "WARNING" not in app._warning.getvalue(), app._warning.getvalue()
    page = parse_html((Path(app.outdir) / "index.html").read_text(encoding="utf-8"))
    blocks = page.find_all("div", "layertrace")
    assert len(blocks) == 3
    # the capture taken under the default label serves ``:python: build`` too: same interpreter
    assert "[Errno 111] Connection refused" in blocks[2].text()
    assert "not run" not in blocks[2].text().lower()
    everywhere, only_darwin = (block.find_all("div", "lt-tabs") for block in blocks[:2])
    assert len(everywhere) == len(only_darwin) == 1
    everywhere, only_darwin = everywhere[0], only_darwin[0]
    assert everywhere.attrs.get("role") == "radiogroup"
    assert everywhere.attrs.get("aria-label")

    labels = tab_labels(everywhere)
    assert [label.split(" ")[0] for label in labels] == ["Linux", "macOS", "Windows"]
    assert all("CPython 3.11.7" in label for label in labels)
    panels = everywhere.find_all("div", "lt-panel")
    assert len(panels) == 3
    for panel, label, text in zip(
        panels,
        labels,
        ("[Errno 111] Connection refused", "[Errno 61] Connection refused", "[WinError 10061]"),
        strict=True,
    ):
        assert panel.find_all("p", "lt-panel-title")[0].text() == label
        (traceback,) = panel.find_all("pre", "lt-traceback")
        assert text in traceback.text()
    # the hand-written macOS and Windows captures say so in their tab, visibly
    assert [label.endswith("· not recorded") for label in labels] == [False, True, True]
    notes = [panel.find_all("p", "lt-reconstructed") for panel in panels]
    assert [len(found) for found in notes] == [0, 1, 1]
    for found, system in zip(notes[1:], ("macOS", "Windows"), strict=True):
        assert found[0].text().startswith(f"Not recorded. No {system} machine has run this")
        assert "assumption" in found[0].text()
    (differs,) = blocks[0].find_all("p", "lt-differs")
    assert differs.text() == (
        "What differs: errno 111 ECONNREFUSED (Linux) · errno 61 ECONNREFUSED (macOS) · "
        "WinError 10061 (Windows). Same on every tab: ConnectionRefusedError, 6 frames, "
        "layers user → application → transport → os."
    )

    # tabs are real radio inputs with labels: focusable, arrow keys switch, no JavaScript
    inputs = everywhere.find_all("input")
    assert len(inputs) == 3
    assert all(i.attrs.get("type") == "radio" for i in inputs)
    names = {i.attrs["name"] for i in inputs}
    assert len(names) == 1
    ids = [i.attrs["id"] for i in inputs]
    assert "checked" in inputs[0].attrs
    assert not any("checked" in i.attrs for i in inputs[1:])
    assert [label.attrs["for"] for label in everywhere.find_all("label", "lt-tab-label")] == ids
    assert not everywhere.find_all("script")

    # :platforms: darwin keeps the live tab and shows only macOS beside it
    assert [label.split(" ")[0] for label in tab_labels(only_darwin)] == ["Linux", "macOS"]
    assert names.isdisjoint(i.attrs["name"] for i in only_darwin.find_all("input"))


def test_frozen_platforms_one_after_another_in_text(make_app, tmp_path, merged):
    app = frozen_app(make_app, tmp_path, merged, "text")
    app.build()
    assert app.layertrace.executed == 0
    text = (Path(app.outdir) / "index.txt").read_text(encoding="utf-8")
    first = text.split("Only beside macOS")[0]
    positions = [first.index(s) for s in ("[Errno 111]", "[Errno 61]", "[WinError 10061]")]
    assert positions == sorted(positions)
    # each panel starts with its platform as a line of its own, in tab order
    titles = [
        line for line in first.splitlines() if re.search(r"· CPython 3\.11\.7( · not|$)", line)
    ]
    assert [t.split(" ")[0] for t in titles[::2]] == ["Linux", "macOS", "Windows"]
    assert [t.endswith("· not recorded") for t in titles[::2]] == [False, True, True]
    # and each reconstructed one says, in words, that it is not a recording
    flat = " ".join(first.replace("**", "").split())
    assert flat.count("Not recorded. No ") == 2
    assert flat.index("Not recorded. No macOS") < flat.index("[Errno 61]")
    assert flat.index("Not recorded. No Windows") < flat.index("[WinError 10061]")
    assert flat.index("[Errno 111]") < flat.index("Not recorded. No macOS")


# -- several interpreters on one page ------------------------------------------------------------


def pyenv(version: str) -> str | None:
    found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
    return found[-1] if found else None


PY310, PY313 = pyenv("3.10"), pyenv("3.13")
needs_both = pytest.mark.skipif(
    not (PY310 and PY313), reason="needs CPython 3.10 and 3.13 under ~/.pyenv/versions"
)


@needs_both
@pytest.mark.parametrize("form", ["auto", "dict"])
def test_python_labels_give_one_capture_each(make_app, tmp_path, form):
    interpreters = "auto" if form == "auto" else {"3.10": PY310, "3.13": PY313}
    app = make_app(
        "html",
        srcdir=copy_root("pythons", tmp_path),
        confoverrides={"layertrace_interpreters": interpreters},
    )
    app.build()
    warnings = app._warning.getvalue()
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    labels = tab_labels(parse_html(html))
    versions = [re.search(r"CPython (3\.\d+\.\d+)", label).group(1) for label in labels]
    assert [v.rsplit(".", 1)[0] for v in versions] == ["3.10", "3.13"]
    for version in versions:
        assert f"https://github.com/python/cpython/blob/v{version}/Lib/smtplib.py#L" in html
        assert f"https://github.com/python/cpython/blob/v{version}/Lib/socket.py#L" in html
    assert "index.rst" not in warnings, warnings  # both raised ConnectionRefusedError


def test_missing_interpreter_is_one_warning_and_a_note(make_app, tmp_path):
    app = make_app("html", srcdir=copy_root("pythons", tmp_path))
    app.build()
    warnings = [w for w in app._warning.getvalue().splitlines() if "9.9" in w]
    assert len(warnings) == 1, warnings
    assert re.search(r"missing\.rst:4: WARNING: .*\[layertrace\.missing-interpreter\]", warnings[0])
    html = (Path(app.outdir) / "missing.html").read_text(encoding="utf-8")
    assert "Python 9.9 is not available on this machine." in html
    assert "Traceback" not in warnings[0]


def test_what_differs_says_which_tab_has_no_capture():
    seed = fixture("linux")
    line = what_differs(
        [Shown("Python 3.7", None, "older than 3.8"), Shown("live", seed), Shown("again", seed)]
    )
    assert line.startswith("Same result on every tab that ran: ConnectionRefusedError")
    assert line.endswith("No capture: Python 3.7.")


def test_a_damaged_frozen_capture_is_one_warning_and_the_rest_still_shows(
    make_app, tmp_path, merged
):
    (merged / f"{SEED_ID}.linux-py9.9.json").write_text("{ not json")
    app = frozen_app(make_app, tmp_path, merged, "html")
    app.build()
    warnings = [w for w in app._warning.getvalue().splitlines() if "WARNING" in w]
    assert len(warnings) == 1, warnings
    assert f"{SEED_ID}.linux-py9.9.json: malformed" in warnings[0] or "not JSON" in warnings[0]
    assert "[layertrace.captures]" in warnings[0]
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    assert "[WinError 10061]" in html


# -- the project's own committed captures ------------------------------------------------------

DOCS = Path(__file__).parent.parent / "docs"


def test_every_hand_written_capture_of_the_docs_says_it_is_not_recorded():
    """A capture file nobody recorded must carry ``reconstructed``, so its tab says so."""
    files = sorted((DOCS / "_captures").glob("*.json"))
    assert files
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        capture = Capture.from_json(path.read_bytes())
        if "_fixture" in data or capture.platform.key != "linux":
            # no macOS or Windows machine has run these docs yet (docs/_captures/README.txt)
            assert capture.reconstructed, path.name


def test_the_docs_macos_tab_keeps_to_what_is_documented(make_app, tmp_path):
    """The seed's macOS tab, as the docs build it: marked not recorded, and showing only what a
    macOS transcript documents (gaierror [Errno 8] from getaddrinfo), no refused connect to 464,
    no invented release; no Windows tab, since nothing documents that one."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        "import os\n"
        'extensions = ["sphinx_layertrace"]\n'
        'layertrace_cache_dir = os.environ["LAYERTRACE_TEST_CACHE"]\n'
        f"layertrace_captures = {os.fspath(DOCS / '_captures')!r}\n",
        encoding="utf-8",
    )
    page = (DOCS / "tutorial" / "platforms.md").read_text(encoding="utf-8")
    block = page[
        page.index("```{layertrace}") : page.index("```\n", page.index("```{layertrace}") + 3) + 4
    ]
    block = block.replace(":python: build, oldest, newest\n", "")
    (src / "index.rst").write_text(
        "Seed\n====\n\n.. layertrace::\n"
        + "".join(
            f"   {line}\n" if line.startswith(":") else "" for line in block.splitlines()[1:-1]
        )
        + "\n   import smtplib\n   smtplib.SMTP('localhost', port=66000)\n",
        encoding="utf-8",
    )
    app = make_app("html", srcdir=src)
    app.build()
    assert "WARNING" not in app._warning.getvalue(), app._warning.getvalue()
    html = parse_html((Path(app.outdir) / "index.html").read_text(encoding="utf-8"))
    (tabs_,) = html.find_all("div", "lt-tabs")
    labels = tab_labels(tabs_)
    assert [label.split(" ")[0] for label in labels] == ["Linux", "macOS"]
    assert labels[1] == "macOS · CPython 3.11.7 · not recorded"
    live, mac = tabs_.find_all("div", "lt-panel")
    assert not live.find_all("p", "lt-reconstructed")
    (note,) = mac.find_all("p", "lt-reconstructed")
    assert note.text().startswith("Not recorded. No macOS machine has run this snippet yet")
    assert "third-party tutorial" in note.text()
    (traceback,) = mac.find_all("pre", "lt-traceback")
    text = traceback.text()
    assert text.rstrip().endswith(
        "socket.gaierror: [Errno 8] nodename nor servname provided, or not known"
    )
    assert "sock.connect" not in text
    assert "464" not in mac.text() and "ECONNREFUSED" not in mac.text()
    assert "EAI_NONAME" in mac.text()
