"""``capture``, ``merge`` and ``check``: the CLI that feeds platform pages and CI."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from sphinx_layertrace.capture import frozen as platforms
from sphinx_layertrace.capture.interpreters import current_label
from sphinx_layertrace.cli import main
from sphinx_layertrace.model import Capture
from sphinx_layertrace.sphinxext.session import snippet_id

ROOTS = Path(__file__).parent / "roots"
FIXTURES = Path(__file__).parent / "fixtures" / "captures"
SEED_ID = snippet_id("import smtplib\nsmtplib.SMTP('localhost', port=66000)\n", [], "repl")
EMPTY_HOST_ID = snippet_id("import smtplib\nsmtplib.SMTP('', port=66000)\n", [], "repl")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """Copies of the roots, with the working directory at their parent (paths print relative)."""
    for name in ("seed", "platforms"):
        shutil.copytree(ROOTS / f"test-{name}", tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_reports_the_seed_drift_with_file_and_line(tree, capsys):
    assert main(["check", "seed"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["seed/index.rst:15: expected ConnectionRefusedError, got no exception"]


def test_check_passes_when_everything_matches(tree, capsys):
    assert main(["check", "platforms"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "0 problems in 3 captures" in captured.err


def test_check_fails_on_a_hang_even_without_expect(tree, capsys):
    """A timeout warns in every build, so CI using ``check`` must fail on it too."""
    page = tree / "platforms" / "hang.rst"
    page.write_text(
        "Hang\n====\n\n.. layertrace::\n   :timeout: 1\n\n   while True:\n       pass\n"
    )
    assert main(["check", "platforms"]) == 1
    out = capsys.readouterr().out.splitlines()
    here = "{}.{}".format(*sys.version_info[:2])  # the tree also uses a label "build"
    assert out == [f"platforms/hang.rst:4: timeout: timed out after 1 s [Python {here}]"]


@pytest.mark.parametrize("conf", [None, "extensions = []\n"])
def test_a_tree_without_the_extension_is_one_usage_line(tree, capsys, conf):
    bare = tree / "bare"
    bare.mkdir()
    (bare / "index.rst").write_text("Bare\n====\n")
    if conf is not None:
        (bare / "conf.py").write_text(conf)
    assert main(["check", "bare"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "sphinx_layertrace" in err[0] or "no conf.py" in err[0]


def test_capture_writes_stable_files_and_merge_builds_a_set(tree, capsys):
    assert main(["capture", "seed", "-o", "linux"]) == 0
    key = f"{platforms.this_platform_key()}-py{current_label()}"
    names = sorted(p.name for p in (tree / "linux").iterdir())
    assert names == sorted([f"{SEED_ID}.{key}.json", f"{EMPTY_HOST_ID}.{key}.json"])
    first = {name: (tree / "linux" / name).read_bytes() for name in names}
    # a second run (from the cache) rewrites the very same bytes: diffs in git stay quiet
    assert main(["capture", "seed", "-o", "linux"]) == 0
    assert first == {name: (tree / "linux" / name).read_bytes() for name in names}
    capture = Capture.from_json(first[f"{SEED_ID}.{key}.json"])
    assert capture.exception.type == "ConnectionRefusedError"
    assert str(tree) not in first[f"{SEED_ID}.{key}.json"].decode()

    others = tree / "others"
    others.mkdir()
    for name in ("darwin", "win32"):
        data = json.loads((FIXTURES / f"seed-{name}.json").read_text(encoding="utf-8"))
        (others / f"{SEED_ID}.{name}.json").write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    assert main(["merge", "linux", "others", "-o", "merged"]) == 0
    assert "4 capture files in merged" in capsys.readouterr().out
    merged = sorted(p.name for p in (tree / "merged").iterdir())
    assert f"{SEED_ID}.darwin-py3.11.json" in merged
    assert f"{SEED_ID}.win32-py3.11.json" in merged


def test_merge_refuses_an_unknown_schema_in_one_line(tree, capsys):
    newer = tree / "newer"
    newer.mkdir()
    (newer / f"{SEED_ID}.linux-py3.14.json").write_text(
        json.dumps({"schema": 7, "code": "x", "outcome": "returned"}), encoding="utf-8"
    )
    assert main(["merge", "newer", "-o", "merged"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown capture schema 7" in err
    assert f"{SEED_ID}.linux-py3.14.json" in err
    assert not (tree / "merged").exists()


def test_capture_with_an_unknown_interpreter_is_a_usage_error(tree, capsys):
    assert main(["capture", "seed", "-o", "out", "--python", "9.9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sphinx-layertrace capture:")
    assert "9.9" in err
    assert "Traceback" not in err


def test_capture_clean_drops_this_platforms_files_of_removed_snippets(tree, capsys):
    assert main(["capture", "seed", "-o", "set"]) == 0
    key = f"{platforms.this_platform_key()}-py{current_label()}"
    kept, dropped = f"{SEED_ID}.{key}.json", f"{EMPTY_HOST_ID}.{key}.json"
    assert {kept, dropped} <= {p.name for p in (tree / "set").iterdir()}
    # another platform's file for the removed snippet, and a file not named by capture
    other = "win32" if platforms.this_platform_key() != "win32" else "linux"
    elsewhere = tree / "set" / f"{EMPTY_HOST_ID}.{other}-py3.11.json"
    elsewhere.write_text("{}", encoding="utf-8")
    (tree / "set" / "notes.json").write_text("{}", encoding="utf-8")

    # the empty-host snippet is deleted from the docs
    index = tree / "seed" / "index.rst"
    text = index.read_text(encoding="utf-8")
    start = text.index("smtplib.SMTP('', port=66000)")
    block = text.rfind(".. layertrace::", 0, start)
    end = text.find("\n\n", start)
    index.write_text(text[:block] + text[end:], encoding="utf-8")

    # without --clean nothing is deleted
    assert main(["capture", "seed", "-o", "set"]) == 0
    assert (tree / "set" / dropped).exists()
    capsys.readouterr()
    assert main(["capture", "seed", "-o", "set", "--clean"]) == 0
    out = capsys.readouterr().out
    assert dropped in out
    assert "1 stale removed" in out
    names = {p.name for p in (tree / "set").iterdir()}
    assert kept in names
    assert dropped not in names
    assert elsewhere.name in names  # another machine's capture: not ours to remove
    assert "notes.json" in names
