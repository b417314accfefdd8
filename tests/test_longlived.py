"""A long-lived process (the way ``sphinx-autobuild`` or an editor's preview drives Sphinx): one
``Sphinx`` application built 20 times, a snippet edited between builds so every build runs one.
What the process holds (open files, threads, child processes) must not grow with the builds."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import children
import pytest
from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace, patch_docutils

REBUILDS = 20
PAGE = """Page {n}
=======

.. layertrace::

   n = {n}
   raise ValueError("page {n}, build %d" % {build})
"""


def _held() -> dict[str, int]:
    """Open descriptors, threads and live child processes of this process."""
    kids = [line for line in children.children_command_lines() if line]
    return {
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": len(os.listdir("/proc/self/task")),
        "python threads": threading.active_count(),
        "children": len(kids),
    }


def _write(src: Path, build: int) -> None:
    for n in range(3):
        page = src / f"page{n}.rst"
        edited = n == build % 3  # one page a build, with a snippet that is new to the cache
        if edited or not page.exists():
            page.write_text(PAGE.format(n=n, build=build), encoding="utf-8")


def _rebuild(src: Path, tmp_path: Path) -> tuple[dict[str, int], list[dict[str, int]], io.StringIO]:
    status, warning = io.StringIO(), io.StringIO()
    app = Sphinx(src, src, tmp_path / "out", tmp_path / "doctrees", "html", status=status,
                 warning=warning, freshenv=True)  # fmt: skip
    app.build()
    first = _held()
    seen = []
    for build in range(1, REBUILDS):
        _write(src, build)
        app.build()
        assert app.statuscode == 0, warning.getvalue()
        assert app.layertrace.executed == 1  # the edited snippet ran, in a worker of this build
        seen.append(_held())
    return first, seen, warning


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_twenty_rebuilds_hold_nothing_more(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        "import os\nextensions = ['sphinx_layertrace']\n"
        "layertrace_cache_dir = os.environ['LAYERTRACE_TEST_CACHE']\n",
        encoding="utf-8",
    )
    (src / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   page0\n   page1\n   page2\n")
    _write(src, 0)
    # as sphinx-build does, so the directives registered do not outlive the test
    with patch_docutils(src), docutils_namespace():
        first, seen, warning = _rebuild(src, tmp_path)
    page = (tmp_path / "out" / f"page{(REBUILDS - 1) % 3}.html").read_text(encoding="utf-8")
    assert f"build {REBUILDS - 1}" in page
    assert warning.getvalue() == ""
    assert first["children"] == 0  # the worker stops at the end of each build
    assert all(held == first for held in seen), (first, seen)
    print(f"after each of {REBUILDS} builds: {first}")
