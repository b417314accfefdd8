"""``audit``: pasted ``>>>`` sessions run again in an engine child and judged block by block."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from children import children_command_lines

from sphinx_layertrace.audit.find import find_blocks
from sphinx_layertrace.cli import main

ROOTS = Path(__file__).parent / "roots"
HERE = "{}.{}".format(*sys.version_info[:2])

#: (file, line of the first >>>, status, reason or the pasted and now lines)
MIXED = [
    ("fences.md", 6, "current", None),
    (
        "fences.md",
        16,
        "rotted",
        ("TypeError: len() of unsized object", "TypeError: object of type 'int' has no len()"),
    ),
    ("fences.md", 26, "current", None),
    ("index.rst", 10, "current", None),
    (
        "index.rst",
        17,
        "rotted",
        (
            "TypeError: Can't convert 'int' object to str implicitly",
            'TypeError: can only concatenate str (not "int") to str',
        ),
    ),
    (
        "index.rst",
        24,
        "rotted",
        (
            "AttributeError: 'int' object has no attribute 'keys'",
            "TypeError: 'int' object is not iterable",
        ),
    ),
    ("index.rst", 31, "unchecked", "module 'yaml_is_not_installed_here' is not installed"),
    (
        "index.rst",
        38,
        "unchecked",
        "it needs the network (docs.example.invalid), which the audit does not reach "
        "(loopback only)",
    ),
    ("index.rst", 45, "unchecked", "name 'session' comes from outside the page"),
    ("index.rst", 57, "current", None),  # needs `prices` from the block at line 51
    ("index.rst", 64, "current", None),  # a literal block after a lone ::
    ("index.rst", 78, "current", None),  # a doctest directive
]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    shutil.copytree(ROOTS / "audit-mixed", tmp_path / "docs")
    return tmp_path / "docs"


def test_every_block_gets_its_status_line_and_reason(mixed: Path, capsys) -> None:
    assert main(["audit", str(mixed), "--json"]) == 1
    found = json.loads(capsys.readouterr().out)
    got = []
    for item in found:
        assert item["python"] == HERE
        detail = item.get("reason")
        if item["status"] == "rotted":
            detail = (item["pasted"], item["now"])
        got.append((item["file"], item["line"], item["status"], detail))
    assert got == MIXED
    exceptions = {(i["file"], i["line"]): i.get("exception") for i in found}
    assert exceptions[("index.rst", 38)] == "socket.gaierror"
    assert exceptions[("fences.md", 6)] == "json.decoder.JSONDecodeError"


def test_the_text_report_has_file_line_and_a_summary_per_file(mixed: Path, capsys) -> None:
    assert main(["audit", str(mixed)]) == 1
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[out.index("fences.md:16: rotted") + 1 :][:2] == [
        "    pasted: TypeError: len() of unsized object",
        "    now:    TypeError: object of type 'int' has no len()",
    ]
    assert "index.rst:45: unchecked: name 'session' comes from outside the page" in out
    assert "fences.md: 2 current, 1 rotted" in out
    assert "index.rst: 4 current, 2 rotted, 3 unchecked" in out
    assert "12 blocks in 2 files: 6 current, 3 rotted, 3 unchecked" in captured.err


def test_a_tree_with_nothing_rotted_exits_0(tmp_path: Path, capsys) -> None:
    (tmp_path / "page.rst").write_text(
        "Title\n=====\n\n>>> {}['k']\nTraceback (most recent call last):\nKeyError: 'k'\n"
    )
    assert main(["audit", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["page.rst:4: current", "page.rst: 1 current"]


def test_a_failed_definition_explains_the_names_after_it(tmp_path: Path, capsys) -> None:
    (tmp_path / "page.md").write_text(
        "# T\n\n```pycon\n>>> from not_installed_mod import thing\n```\n\n"
        "```pycon\n>>> thing()\nTraceback (most recent call last):\nValueError: boom\n```\n"
    )
    assert main(["audit", str(tmp_path), "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["line"] == 8
    assert item["reason"] == "name 'thing' is not defined: line 4, which defines it, failed"


def test_stdin_and_timeouts_are_unchecked(tmp_path: Path, capsys) -> None:
    (tmp_path / "page.rst").write_text(
        "T\n=\n\n>>> input('name? ')\nTraceback (most recent call last):\nValueError: x\n\n"
        ">>> while True: pass\nTraceback (most recent call last):\nKeyboardInterrupt\n"
    )
    assert main(["audit", str(tmp_path), "--json", "--timeout", "1"]) == 0
    reasons = [item["reason"] for item in json.loads(capsys.readouterr().out)]
    assert reasons == ["it reads standard input, which the audit does not provide", "it timed out"]


def test_an_unknown_interpreter_or_directory_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["audit", str(tmp_path / "nowhere")]) == 2
    assert main(["audit", str(tmp_path), "--python", "2.1"]) == 2
    assert "no installed interpreter for 2.1" in capsys.readouterr().err


def test_python_label_runs_under_that_interpreter(mixed: Path, capsys) -> None:
    assert main(["audit", str(mixed), "--json", "--python", HERE]) == 1
    assert {item["python"] for item in json.loads(capsys.readouterr().out)} == {HERE}


def test_nothing_runs_in_this_process_and_nothing_is_left_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran-here"
    # a duration no other process on this shared machine is sleeping for
    duration = f"299.{__import__('os').getpid()}"
    (tmp_path / "page.rst").write_text(
        "T\n=\n\n>>> import os, subprocess\n"
        f">>> _ = subprocess.Popen(['sleep', {duration!r}])\n"
        f">>> os.getpid() == {__import__('os').getpid()} or open({str(marker)!r}, 'w').close()\n"
        ">>> 1 / 0\nTraceback (most recent call last):\nZeroDivisionError: division by zero\n"
    )
    before = set(children_command_lines())
    assert main(["audit", str(tmp_path)]) == 0
    assert marker.exists()  # it ran, in another process (the pid differs)
    left = [cmd for cmd in children_command_lines() if cmd not in before]
    assert left == []
    everywhere = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                everywhere.append((proc / "cmdline").read_bytes().replace(b"\0", b" "))
            except OSError:
                continue
    assert not any(cmd.startswith(f"sleep {duration}".encode()) for cmd in everywhere)


def test_find_reads_every_kind_of_block() -> None:
    pages = find_blocks(ROOTS / "audit-mixed")
    kinds = [(b.rel, b.line, b.kind) for blocks in pages.values() for b in blocks]
    assert ("index.rst", 10, "doctest") in kinds
    assert ("index.rst", 17, "literal") in kinds
    assert ("index.rst", 31, "code") in kinds
    assert ("fences.md", 26, "fence") in kinds
    assert ("fences.md", 33, "fence") in kinds  # {doctest}: runs, shows no traceback
    assert ("index.rst", 78, "code") in kinds  # .. doctest::
    assert not any(line == 73 for _, line, _ in kinds)  # code-block:: text is not a session
    assert not any(rel == "fences.md" and line > 40 for rel, line, _ in kinds)  # {layertrace}


def test_the_cpython_tutorial_page_of_the_guide(capsys) -> None:
    """docs/guides/audit.md says what this page holds: two rotted blocks, the rest current."""
    assert main(["audit", str(ROOTS / "audit-cpython"), "--json"]) == 1
    found = json.loads(capsys.readouterr().out)
    rotted = {item["line"]: (item["pasted"], item["now"]) for item in found if "pasted" in item}
    assert rotted == {
        48: (
            "TypeError: Can't convert 'int' object to str implicitly",
            'TypeError: can only concatenate str (not "int") to str',
        ),
        147: ("RuntimeError", "RuntimeError: Failed to open database"),
    }
    assert [item["status"] for item in found].count("current") == 6
    assert [item["exception"] for item in found][:3] == [
        "SyntaxError",
        "ZeroDivisionError",
        "NameError",
    ]


def test_paths_and_addresses_match_any_path_and_address(tmp_path: Path, capsys) -> None:
    (tmp_path / "page.rst").write_text(
        "T\n=\n\n>>> open('/nonexistent-audit-dir/data.csv')\n"
        "Traceback (most recent call last):\n"
        "FileNotFoundError: [Errno 2] No such file or directory: '/home/alice/data.csv'\n\n"
        ">>> raise ValueError(object())\nTraceback (most recent call last):\n"
        "ValueError: <object object at 0x10f3a2b40>\n\n"
        ">>> raise ValueError('/usr/lib/python3.5/x.py')\nTraceback (most recent call last):\n"
        "ValueError: /home/bob/lib/x.py\n\n"
        ">>> import tempfile; raise OSError(tempfile.gettempdir())\n"
        "Traceback (most recent call last):\nOSError: /tmp\n"
    )
    assert main(["audit", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "page.rst: 4 current"


def test_an_example_that_ends_the_interpreter_leaves_the_rest_unchecked(tmp_path, capsys) -> None:
    (tmp_path / "page.rst").write_text(
        "T\n=\n\n>>> 1/0\nTraceback (most recent call last):\nZeroDivisionError: division by zero\n"
        ">>> import os; os._exit(3)\n\n"
        ">>> [].pop()\nTraceback (most recent call last):\nIndexError: pop from empty list\n"
    )
    assert main(["audit", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("page.rst:4: unchecked at line 7: it stopped the page's interpreter (")
    assert "os._exit" in out[0]
    assert out[1] == "page.rst:9: unchecked: the page's interpreter had stopped at line 7"


def test_fences_in_lists_tildes_yaml_options_and_list_item_literals(tmp_path, capsys) -> None:
    (tmp_path / "a.md").write_text(
        "# A\n\n- In a list:\n\n  ~~~pycon\n  >>> int('x')\n  Traceback (most recent call last):\n"
        "  ValueError: invalid literal for int() with base 10: 'x'\n  ~~~\n\n"
        "````{code-block} python\n---\ncaption: yaml options\n---\n>>> [][1]\n"
        "Traceback (most recent call last):\nIndexError: list index out of range\n````\n"
    )
    (tmp_path / "b.rst").write_text(
        "B\n=\n\n* Item text::\n\n    >>> {}['k']\n    Traceback (most recent call last):\n"
        "    KeyError: 'k'\n"
    )
    assert main(["audit", str(tmp_path), "--rewrite"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "a.md:6: current",
        "a.md:15: current",
        "a.md: 2 current",
        "b.rst:6: current",
        "b.rst: 1 current",
    ]
    assert (
        "\n  ```{layertrace}\n  :expect: ValueError\n  int('x')\n  ```\n"
        in (tmp_path / "a.md").read_text()
    )
    assert ":expect: IndexError\n:caption: yaml options\n[][1]\n" in (tmp_path / "a.md").read_text()
    assert (
        (tmp_path / "b.rst")
        .read_text()
        .endswith("* Item text:\n\n  .. layertrace::\n     :expect: KeyError\n\n     {}['k']\n")
    )
