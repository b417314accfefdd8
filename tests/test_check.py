"""``check``: every warning a build gives about snippets, at its file:line, in four formats."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from sphinx_layertrace.capture import frozen as platforms
from sphinx_layertrace.checkformats import Finding, github_line
from sphinx_layertrace.cli import main
from sphinx_layertrace.model import Capture
from sphinx_layertrace.sphinxext.session import snippet_id

ROOTS = Path(__file__).parent / "roots"
FIXTURES = Path(__file__).parent / "fixtures" / "captures"
SEED = "import smtplib\nsmtplib.SMTP('localhost', port=66000)\n"
SEED_ID = snippet_id(SEED, [], "repl")

CONF = """\
import os

extensions = ["sphinx_layertrace"]
layertrace_cache_dir = os.environ.get("LAYERTRACE_TEST_CACHE", ".layertrace-cache")
layertrace_timeout = -5
"""

INDEX = """\
Broken
======

.. layertrace::
   :expcet: ZeroDivisionError

   1 / 0

.. layertrace::

Some text.

.. layertrace::
   :expect: ZeroDivisionError

   1 / 0

.. layertrace::
   :expect: ZeroDivisionError > ValueError(

   1 / 0
"""


@pytest.fixture
def broken(tmp_path, monkeypatch):
    """A tree with a typo'd option, an empty directive, a bad conf value and a malformed
    expectation; the working directory is its parent, so paths print relative."""
    tree = tmp_path / "broken"
    tree.mkdir()
    (tree / "conf.py").write_text(CONF, encoding="utf-8")
    (tree / "index.rst").write_text(INDEX, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tree


def test_text_names_each_problem_at_its_file_and_line(broken, capsys):
    assert main(["check", "broken"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("broken/conf.py:5: ")
    assert "layertrace_timeout" in out[0]
    assert out[1] == (
        "broken/index.rst:4: unknown option :expcet: (did you mean :expect:?); it is ignored"
    )
    assert out[2] == "broken/index.rst:9: the layertrace directive needs Python code as its content"
    assert out[3].startswith("broken/index.rst:18: option :expect: 'ValueError(' ")
    assert "empty link" not in out[3] and "is not an exception name" in out[3]
    assert len(out) == 4  # the snippet that met its expectation says nothing


def test_each_kind_alone_fails_check(tmp_path, monkeypatch, capsys):
    """A typo'd option, an empty directive and a bad conf value: each one alone exits 1."""
    monkeypatch.chdir(tmp_path)
    good = ".. layertrace::\n   :expect: ZeroDivisionError\n\n   1 / 0\n"
    cases = {
        "typo": (CONF.replace("layertrace_timeout = -5\n", ""), good.replace("expect", "expcet")),
        "empty": (CONF.replace("layertrace_timeout = -5\n", ""), good + "\n.. layertrace::\n"),
        "conf": (CONF, good),
    }
    for name, (conf, body) in cases.items():
        tree = tmp_path / name
        tree.mkdir()
        (tree / "conf.py").write_text(conf, encoding="utf-8")
        (tree / "index.rst").write_text(f"{name}\n{'=' * len(name)}\n\n{body}", encoding="utf-8")
        assert main(["check", name]) == 1, name
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 1, out
        assert re.match(rf"{name}/(index\.rst|conf\.py):\d+: ", out[0]), out
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "conf.py").write_text(cases["typo"][0], encoding="utf-8")
    (clean / "index.rst").write_text(f"Clean\n=====\n\n{good}", encoding="utf-8")
    assert main(["check", "clean"]) == 0
    assert capsys.readouterr().out == ""


def test_json_lists_every_finding(broken, capsys):
    assert main(["check", "broken", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(d["file"], d["line"], d["subtype"]) for d in data] == [
        ("broken/conf.py", 5, "config"),
        ("broken/index.rst", 4, "option"),
        ("broken/index.rst", 9, "option"),
        ("broken/index.rst", 18, "option"),
    ]


#: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
WORKFLOW_COMMAND = re.compile(
    r"^::(?P<level>warning|error|notice)"
    r"(?: (?P<props>(?:file|line|endLine|col|endColumn|title)=[^,:\r\n]*"
    r"(?:,(?:file|line|endLine|col|endColumn|title)=[^,:\r\n]*)*))?"
    r"::(?P<message>[^\r\n]*)$"
)


def test_github_format_is_workflow_commands(broken, capsys):
    assert main(["check", "broken", "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line in lines:
        match = WORKFLOW_COMMAND.match(line)
        assert match, line
        assert match["level"] == "warning"
        props = dict(p.split("=", 1) for p in match["props"].split(","))
        assert props["file"].startswith("broken/")
        assert props["line"].isdigit()
        assert props["title"].startswith("layertrace.")
    assert lines[1].startswith("::warning file=broken/index.rst,line=4,title=layertrace.option::")


def test_github_escapes_what_would_end_the_command():
    line = github_line(Finding("a,b:c.rst", 3, "drift", "50% off\nsecond line", "x, y"))
    assert WORKFLOW_COMMAND.match(line), line
    assert "file=a%2Cb%3Ac.rst" in line
    assert line.endswith("::50%25 off%0Asecond line [x, y]")


def test_junit_has_a_case_per_snippet_and_platform_and_parses(broken, capsys, tmp_path):
    """Read back with junitparser: one case per snippet and interpreter, the others too."""
    assert main(["check", "broken", "--format", "junit"]) == 1
    report = tmp_path / "report.xml"
    report.write_text(capsys.readouterr().out, encoding="utf-8")
    xml = JUnitXml.fromfile(str(report))
    cases = [case for suite in xml for case in suite]
    failed = {case.name: case for case in cases if not case.is_passed}
    passed = [case.name for case in cases if case.is_passed]
    # the three snippets with code run and raise; none has an expectation it misses
    assert len(passed) == 3, passed
    assert all(name.startswith("broken/index.rst:") for name in passed)
    assert len(failed) == 4
    kinds = sorted(
        r.type for case in failed.values() for r in case.result if isinstance(r, Failure)
    )
    assert kinds == [
        "layertrace.config",
        "layertrace.option",
        "layertrace.option",
        "layertrace.option",
    ]
    assert xml.failures == 4 or sum(s.failures for s in xml) == 4


# -- frozen captures of other platforms ------------------------------------------------------------


@pytest.fixture
def platforms_tree(tmp_path, monkeypatch):
    """The platforms root with a merged capture set as its layertrace_captures: this machine's
    own capture (``capture``) merged with the macOS and Windows fixtures (``merge``)."""
    tree = tmp_path / "platforms"
    shutil.copytree(ROOTS / "test-platforms", tree)
    monkeypatch.chdir(tmp_path)
    assert main(["capture", "platforms", "-o", "here"]) == 0
    others = tmp_path / "others"
    others.mkdir()
    for name in ("darwin", "win32"):
        capture = Capture.from_json((FIXTURES / f"seed-{name}.json").read_bytes())
        shutil.copy(FIXTURES / f"seed-{name}.json", others / platforms.file_name(SEED_ID, capture))
    assert main(["merge", "here", "others", "-o", "platforms/_captures"]) == 0
    with (tree / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write('\nlayertrace_captures = "_captures"\n')
    monkeypatch.chdir(tmp_path)
    return tree


def test_frozen_captures_meet_a_symbolic_code(platforms_tree, capsys):
    """WinError 10061 and errno 61 are ECONNREFUSED as much as Linux's 111."""
    index = platforms_tree / "index.rst"
    text = index.read_text(encoding="utf-8")
    index.write_text(
        text.replace(
            ":expect: ConnectionRefusedError\n", ":expect: ConnectionRefusedError(ECONNREFUSED)\n"
        ),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["check", "platforms", "--format", "junit"]) == 0
    out = capsys.readouterr().out
    assert "<failure" not in out
    report = platforms_tree / "report.xml"
    report.write_text(out, encoding="utf-8")
    names = [case.name for suite in JUnitXml.fromfile(str(report)) for case in suite]
    # one case per snippet and tab: live + macOS + Windows, live + macOS (:platforms: darwin),
    # and the live one alone (:platforms: none); frozen tabs name their platform
    assert [name.split(":")[1].split(" ")[0] for name in names] == ["6"] * 3 + ["14"] * 2 + ["23"]
    frozen = [name.split("[", 1)[1] for name in names if "not recorded" in name]
    assert [tab.split(" ")[0] for tab in frozen] == ["macOS", "Windows", "macOS"]


def test_check_names_the_platform_of_a_frozen_drift(platforms_tree, capsys):
    """Only the Windows capture drifts: Linux's refusal is 111, macOS's 61, Windows' 10061."""
    index = platforms_tree / "index.rst"
    text = index.read_text(encoding="utf-8")
    first = text.index(":expect: ConnectionRefusedError\n")
    index.write_text(
        text[:first]
        + ":expect: ConnectionRefusedError(ECONNREFUSED)\n   :platforms: windows\n"
        + text[first + len(":expect: ConnectionRefusedError\n") :],
        encoding="utf-8",
    )
    windows = platforms_tree / "_captures" / f"{SEED_ID}.win32-py3.11.json"
    data = json.loads(windows.read_text(encoding="utf-8"))
    data["exception"]["winerror"] = 10060  # WSAETIMEDOUT: no longer a refusal
    data["exception"]["errno"] = 10060
    data["exception"]["errno_name"] = "WSAETIMEDOUT"
    for key in ("message", "header", "formatted", "strerror"):
        data["exception"][key] = data["exception"][key].replace("10061", "10060")
    windows.write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    assert main(["check", "platforms"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1, out
    assert out[0].startswith("platforms/index.rst:6: expected ConnectionRefusedError(ECONNREFUSED)")
    assert "got ConnectionRefusedError (ETIMEDOUT): [WinError 10060]" in out[0]
    assert out[0].endswith("[Windows · CPython 3.11.7, not recorded]")


def test_a_missing_interpreter_and_a_malformed_myst_expectation(tmp_path, monkeypatch, capsys):
    """The other kinds, in MyST: a :python: label nothing provides, a chain with an empty link."""
    tree = tmp_path / "md"
    tree.mkdir()
    (tree / "conf.py").write_text(
        CONF.replace('["sphinx_layertrace"]', '["myst_parser", "sphinx_layertrace"]').replace(
            "layertrace_timeout = -5\n", ""
        ),
        encoding="utf-8",
    )
    (tree / "index.md").write_text(
        "# Page\n\n"
        "```{layertrace}\n:python: 9.1\n1 / 0\n```\n\n"
        "Text.\n\n"
        "```{layertrace}\n:expect: ZeroDivisionError >\n1 / 0\n```\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["check", "md", "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert [(f["file"], f["line"], f["subtype"]) for f in found] == [
        ("md/index.md", 3, "missing-interpreter"),
        ("md/index.md", 10, "option"),
    ]
    assert "'9.1'" in found[0]["message"]
    assert "empty link" in found[1]["message"]


def test_a_misspelt_directive_name_is_reported(tmp_path, monkeypatch, capsys):
    """``.. layertrac::`` is docutils' error in a build, and the snippet is silently unchecked:
    check names it too, in rST and MyST, at its line. Other unknown directives are not ours."""
    tree = tmp_path / "typo"
    tree.mkdir()
    (tree / "conf.py").write_text(
        CONF.replace('["sphinx_layertrace"]', '["myst_parser", "sphinx_layertrace"]').replace(
            "layertrace_timeout = -5\n", ""
        ),
        encoding="utf-8",
    )
    (tree / "index.rst").write_text(
        "Typo\n====\n\n.. toctree::\n\n   page\n\n"
        ".. layertrac::\n   :expect: OSError\n\n   1 / 0\n\n"
        ".. frobnicate::\n\n   x\n",
        encoding="utf-8",
    )
    (tree / "page.md").write_text(
        "# Page\n\n```{layertraces}\n:expect: OSError\n1 / 0\n```\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["check", "typo"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "typo/index.rst:8: unknown directive 'layertrac' (did you mean layertrace?)",
        "typo/page.md:3: unknown directive 'layertraces' (did you mean layertrace?)",
    ]
