"""One process, many builds (how sphinx-autobuild and editors' live previews run Sphinx): the
extension must not grow the process by a file descriptor, a thread or a child per build."""

from __future__ import annotations

import contextlib
import html
import os
import re
import threading
from pathlib import Path

import pytest
from sphinx.application import Sphinx

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")

REBUILDS = 20
_TAG = re.compile(r"<[^>]+>")
PAGE = """Live
====

.. layertrace::

   raise ValueError("build {n}")

.. layertrace::

   import socket
   socket.create_connection(("127.0.0.1", 9))
"""


def _children() -> int:
    count = 0
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            count += len(Path(f"/proc/self/task/{task}/children").read_text().split())
    return count


def _resources() -> dict[str, int]:
    return {
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
        "tasks": len(os.listdir("/proc/self/task")),
        "children": _children(),
    }


def test_twenty_rebuilds_in_one_process_keep_fds_threads_and_children(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text("extensions = ['sphinx_layertrace']\n", encoding="utf-8")
    index = src / "index.rst"
    app = Sphinx(
        src, src, tmp_path / "out", tmp_path / "doctrees", "html", status=None, warning=None
    )
    seen = []
    for n in range(REBUILDS):
        # an edit, as the watcher sees one: a new snippet (run in a child) and a cached one
        index.write_text(PAGE.format(n=n), encoding="utf-8")
        app.build()
        assert app.statuscode == 0
        page = html.unescape(_TAG.sub("", (tmp_path / "out" / "index.html").read_text()))
        assert f"ValueError: build {n}" in page  # the edit was built, its snippet really ran
        seen.append(_resources())
    assert app.layertrace.executed == 1  # each rebuild ran exactly the edited snippet
    first = seen[0]
    assert first["children"] == 0, "a worker outlived its build"
    grown = [(n, r) for n, r in enumerate(seen[1:], 2) if r != first]
    assert not grown, f"after build 1: {first}; later: {grown[:3]}"
