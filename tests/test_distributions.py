"""A cached capture is served only while the distributions its snippet imported are unchanged:
after an upgrade exactly the snippets that imported the upgraded one run again, and the build
says which and why in one info line (not a warning: ``-W`` builds survive an upgrade)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from sphinx_layertrace.capture import distributions

INDEX = """\
    Title
    =====

    .. layertrace::

       import fakedist
       print("fakedist says", fakedist.VERSION)

    .. layertrace::

       print("no distribution here")
    """


def _install(site: Path, version: str, *, old: str | None = None) -> None:
    """A real (if tiny) installed distribution, as pip lays one out, at ``version``."""
    if old is not None:
        (site / f"fakedist-{old}.dist-info").rename(site / f"fakedist-{version}.dist-info")
    package = site / "fakedist"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(f"VERSION = {version!r}\n")
    info = site / f"fakedist-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakedist\nVersion: {version}\n")
    (info / "top_level.txt").write_text("fakedist\n")
    (info / "RECORD").write_text("fakedist/__init__.py,,\n")


def _build(tmp_path: Path, site: Path) -> str:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text(
        f'extensions = ["sphinx_layertrace"]\nlayertrace_cache_dir = {str(tmp_path / "cache")!r}\n'
    )
    (src / "index.rst").write_text(textwrap.dedent(INDEX))
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-N", "-W", "-b", "html", str(src), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(site)},  # the snippets' path (and Sphinx's)
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _page(tmp_path: Path) -> str:
    return (tmp_path / "out" / "index.html").read_text("utf-8")


def _upgrade_is_seen(tmp_path: Path, site: Path) -> None:
    log = _build(tmp_path, site)
    assert "0 snippets run, 2 from the cache" in log
    _install(site, "1.1", old="1.0")
    log = _build(tmp_path, site)
    assert "1 snippet run, 1 from the cache" in log
    lines = [line for line in log.splitlines() if "run again" in line]
    assert len(lines) == 1, log
    assert re.fullmatch(
        r"layertrace: 1 snippet run again, a distribution they imported changed "
        r"\(fakedist 1\.0 → 1\.1\): index\.rst:\d+",
        lines[0],
    ), lines
    assert "WARNING" not in log
    assert "fakedist says 1.1" in _page(tmp_path)
    log = _build(tmp_path, site)  # and the new capture is served from then on
    assert "0 snippets run, 2 from the cache" in log
    assert "run again" not in log


def test_an_upgraded_distribution_reruns_exactly_the_snippets_that_imported_it(tmp_path):
    site = tmp_path / "site"
    _install(site, "1.0")
    _build(tmp_path, site)
    _upgrade_is_seen(tmp_path, site)


# -- reading what is installed -----------------------------------------------------------------


def test_scan_reads_dist_info_and_egg_info_names_first_on_the_path_wins(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first / "Foo_Bar-2.0.dist-info", second / "foo.bar-1.0.dist-info"):
        folder.mkdir(parents=True)
    (second / "legacy-0.3-py3.11.egg-info").mkdir()
    (second / "notes.txt").write_text("")
    found = distributions.scan([str(first), str(second), str(tmp_path / "missing")])
    assert {name: item.version for name, item in found.items()} == {
        "foo-bar": "2.0",
        "legacy": "0.3",
    }


def test_a_folder_name_that_disagrees_is_checked_against_its_metadata(tmp_path):
    info = tmp_path / "oldtool-1.0_rc1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Name: oldtool\nVersion: 1.0-rc1\n")
    installed = distributions.scan([str(tmp_path)])
    assert distributions.changes([("OldTool", "1.0-rc1")], installed) == []
    [change] = distributions.changes([("oldtool", "0.9"), ("gone", "1")], installed)[:1]
    assert str(change) == "oldtool 0.9 → 1.0-rc1"
    assert str(distributions.changes([("gone", "1")], installed)[0]) == "gone 1 → not installed"


def test_sys_path_is_what_a_child_starts_with(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path)}
    path = distributions.sys_path(sys.executable, env)
    assert str(tmp_path) in path
    assert "" not in path
    assert distributions.sys_path(str(tmp_path / "no-python"), env) == ()
