"""The capture cache seen through real builds: what runs, what is reused, what survives damage.

Every build here gets its own copy of a root under ``tmp_path`` (so editing a page never leaks
into another test) and the per-test cache directory from ``conftest.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from children import children_command_lines

from sphinx_layertrace.sphinxext import session as session_module

ROOTS = Path(__file__).parent / "roots"
SNIPPETS = 14  # tests/roots/test-cache: 7 pages of 2


def _copy_root(tmp_path: Path, name: str = "cache") -> Path:
    src = tmp_path / f"src-{name}"
    shutil.copytree(ROOTS / f"test-{name}", src)
    return src


_LIVE: list = []


def _new_app(make_app, src: Path, out: Path, **kwargs):
    """One app at a time: docutils' node and directive registry is global."""
    while _LIVE:
        _LIVE.pop().cleanup()
    app = make_app("html", srcdir=src, builddir=out, **kwargs)
    _LIVE.append(app)
    return app


def _build(make_app, src: Path, out: Path, **kwargs):
    warning = StringIO()
    app = _new_app(make_app, src, out, warning=warning, status=StringIO(), **kwargs)
    app.build()
    return app, warning.getvalue()


def _build_watching_workers(make_app, src: Path, out: Path, **kwargs):
    """Build, and list the worker processes alive when the build finishes (before they close)."""
    warning = StringIO()
    app = _new_app(make_app, src, out, warning=warning, status=StringIO(), **kwargs)
    seen: list[str] = []

    def look(_app, _exc):
        seen.extend(cmd for cmd in children_command_lines() if " serve" in cmd)

    app.connect("build-finished", look, priority=1)  # before the extension closes its workers
    app.build()
    return app, warning.getvalue(), seen


def _blocks(outdir: Path) -> dict[str, list[str]]:
    """Every rendered ``.layertrace`` element, per page."""
    found = {}
    for page in sorted(outdir.glob("*.html")):
        html = page.read_text(encoding="utf-8")
        found[page.name] = re.findall(
            r'<div class="layertrace[^"]*"[^>]*>.*?<p class="lt-meta">.*?</p>', html, re.S
        )
    return found


def _cache_entries() -> list[Path]:
    return sorted(Path(os.environ["LAYERTRACE_TEST_CACHE"]).glob("*.json"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_warm_rebuild_and_fresh_outdir_run_nothing(make_app, tmp_path):
    src = _copy_root(tmp_path)
    app, warnings, workers = _build_watching_workers(make_app, src, tmp_path / "out")
    assert workers, "the first build ran its snippets in no worker this test could see"
    assert (app.layertrace.executed, app.layertrace.from_cache) == (SNIPPETS, 0)
    assert warnings == ""
    first = _blocks(Path(app.outdir))
    assert sum(len(b) for b in first.values()) == SNIPPETS
    assert len(_cache_entries()) == SNIPPETS

    # the same app built again: Sphinx re-reads nothing, and nothing runs
    app.build()
    assert app.layertrace.executed == 0

    # a new process on the same outdir (what `make html` twice does)
    again, warnings = _build(make_app, src, tmp_path / "out")
    assert again.layertrace.executed == 0
    assert warnings == ""

    # `rm -rf _build`: every page is read and written again, every capture comes from the cache
    fresh, warnings, workers = _build_watching_workers(make_app, src, tmp_path / "fresh-out")
    assert (fresh.layertrace.executed, fresh.layertrace.from_cache) == (0, SNIPPETS)
    assert workers == []  # no worker was even started
    assert warnings == ""
    assert _blocks(Path(fresh.outdir)) == first


def test_editing_one_snippet_reruns_exactly_that_one(make_app, tmp_path):
    src = _copy_root(tmp_path)
    _build(make_app, src, tmp_path / "out")
    page = src / "page4.rst"
    page.write_text(
        page.read_text(encoding="utf-8").replace("# cache snippet 4.2", "edited = 42"),
        encoding="utf-8",
    )
    app, warnings = _build(make_app, src, tmp_path / "out")
    # page4 is re-read (two snippets): the untouched one comes from the cache
    assert (app.layertrace.executed, app.layertrace.from_cache) == (1, 1)
    assert warnings == ""
    assert "edited" in (Path(app.outdir) / "page4.html").read_text(encoding="utf-8")


def test_damaged_cache_entries_are_rerun_without_warning(make_app, tmp_path):
    src = _copy_root(tmp_path)
    app, _ = _build(make_app, src, tmp_path / "out")
    first = _blocks(Path(app.outdir))
    garbage, truncated, *_ = _cache_entries()
    garbage.write_bytes(b"\x00\xffnot json at all")
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])  # a writer killed mid-write, non-atomically
    # and the leftover of a writer killed between mkstemp and os.replace
    leftover = truncated.parent / f".{truncated.stem[:16]}-dead.part"
    leftover.write_bytes(data[:100])

    status = StringIO()
    warning = StringIO()
    again = _new_app(make_app, src, tmp_path / "out2", status=status, warning=warning)
    again.build()
    assert (again.layertrace.executed, again.layertrace.from_cache) == (2, SNIPPETS - 2)
    assert warning.getvalue() == ""
    assert "2 damaged cache entries" in status.getvalue()
    assert _blocks(Path(again.outdir)) == first
    # both entries were rewritten whole
    third, _ = _build(make_app, src, tmp_path / "out3")
    assert (third.layertrace.executed, third.layertrace.from_cache) == (0, SNIPPETS)


def test_parallel_builds_share_the_cache(tmp_path):
    src = _copy_root(tmp_path)
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sphinx",
                "-N",
                "-q",
                "-b",
                "html",
                str(src),
                str(tmp_path / out),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in ("a", "b")
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert err == "", err
    a, b = _blocks(tmp_path / "a"), _blocks(tmp_path / "b")
    assert sum(len(x) for x in a.values()) == SNIPPETS
    assert a == b
    assert len(_cache_entries()) == SNIPPETS


def test_parallel_jobs_render_the_same_pages(make_app, tmp_path):
    src = _copy_root(tmp_path)
    # enough documents that Sphinx reads in more chunks than processes: readers forked after
    # the first chunk's snippets were submitted must not touch the main process's worker
    extra = 20
    for i in range(extra):
        (src / f"extra{i:02d}.rst").write_text(
            f":orphan:\n\nExtra {i}\n========\n\n.. layertrace::\n"
            f"   :expect: ConnectionRefusedError\n\n   # extra {i}\n   import socket\n"
            '   socket.create_connection(("127.0.0.1", 9))\n',
            encoding="utf-8",
        )
    serial, warnings1 = _build(
        make_app, src, tmp_path / "j1", confoverrides={"layertrace_cache_dir": str(tmp_path / "c1")}
    )
    parallel, warnings2 = _build(
        make_app,
        src,
        tmp_path / "j2",
        parallel=2,
        confoverrides={"layertrace_cache_dir": str(tmp_path / "c2")},
    )
    assert warnings1 == warnings2 == ""
    assert parallel.layertrace.executed == SNIPPETS + extra
    assert parallel.layertrace.read_elsewhere  # the forked readers really did the reading
    assert _blocks(Path(serial.outdir)) == _blocks(Path(parallel.outdir))


def test_snippets_cannot_change_the_next_one(make_app, tmp_path):
    src = _copy_root(tmp_path, "cache-isolation")
    app, warnings = _build(make_app, src, tmp_path / "out")
    assert app.layertrace.executed == 3
    # the second snippet asserts a pristine socket module; a leak would be a drift warning
    assert warnings == ""


def test_execute_always_and_never(make_app, tmp_path):
    src = _copy_root(tmp_path)
    _build(make_app, src, tmp_path / "out")
    always, warnings = _build(
        make_app, src, tmp_path / "always", confoverrides={"layertrace_execute": "always"}
    )
    assert (always.layertrace.executed, always.layertrace.from_cache) == (SNIPPETS, 0)
    assert warnings == ""

    never, warnings, workers = _build_watching_workers(
        make_app,
        src,
        tmp_path / "never",
        confoverrides={"layertrace_execute": "never", "layertrace_cache_dir": str(tmp_path / "e")},
    )
    assert never.layertrace.executed == 0
    assert workers == []
    lines = warnings.strip().splitlines()
    assert len(lines) == SNIPPETS, warnings
    assert all("[layertrace.not-run]" in line for line in lines), warnings
    assert re.search(r"page1\.rst:\d+: WARNING: layertrace: no capture", warnings), warnings
    assert "not run" in (Path(never.outdir) / "page1.html").read_text(encoding="utf-8")


def test_cache_is_pruned_to_its_size_bound(make_app, tmp_path, monkeypatch):
    src = _copy_root(tmp_path)
    cache = Path(os.environ["LAYERTRACE_TEST_CACHE"])
    stale = cache / "ab" / ".abcdef-killed.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"{")
    os.utime(stale, (1, 1))  # a writer killed long ago
    monkeypatch.setattr(session_module, "CACHE_MAX_BYTES", 1)
    app, warnings = _build(make_app, src, tmp_path / "out")
    assert app.layertrace.executed == SNIPPETS
    assert warnings == ""
    assert not stale.exists()
    assert _cache_entries() == []  # a 1-byte bound keeps nothing

    # a build that writes nothing does not scan the cache at all
    calls = []
    monkeypatch.setattr(session_module.CaptureCache, "prune", lambda self: calls.append(1))
    _build(make_app, src, tmp_path / "out")
    assert calls == []


@pytest.fixture(autouse=True)
def _cleanup_apps():
    yield
    while _LIVE:
        _LIVE.pop().cleanup()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked -j readers exist only with fork")
def test_a_forked_reader_cannot_steal_the_workers_results(make_app, tmp_path):
    """Under -j N Sphinx forks readers after the main process has started the worker."""
    import signal
    import time

    src = _copy_root(tmp_path)
    app, _ = _build(make_app, src, tmp_path / "out")
    session = app.layertrace
    node = {
        "code": "import socket\nsocket.create_connection(('127.0.0.1', 9))  # fork test\n",
        "style": "repl",
        "setup": [],
        "timeout": 5,
        "caption": "",
    }
    [plan] = session.plan(node)
    session.submit(plan)
    time.sleep(0.5)  # the result now waits in the worker's pipe
    pid = os.fork()
    if pid == 0:  # what a forked reader's doctree-read does
        try:
            session.poll()
            assert session.capture(plan) is None
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

    def hung(*_):
        raise TimeoutError("the result went to the forked process")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        capture = session.capture(plan)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        session.close()
    assert capture is not None and capture.outcome == "raised"


def test_a_hang_still_says_where_without_a_watchdog_thread():
    """The forking worker asks faulthandler for the stack by signal, just before the deadline."""
    from sphinx_layertrace.capture.runner import Request, Runner

    with Runner(mode="fork") as runner:
        hung = runner.run(
            Request(code="import time\ndef wait():\n    time.sleep(30)\nwait()\n", timeout=1)
        )
        undone = runner.run(
            Request(
                code="import signal, time\nsignal.signal(signal.SIGUSR2, signal.SIG_DFL)\n"
                "time.sleep(30)\n",
                timeout=1,
            )
        )
    assert hung.outcome == "timeout"
    assert "in wait" in hung.stderr
    assert undone.outcome == "timeout", undone.detail


def _sphinx_project(tmp_path: Path, index: str, *, fresh_env: bool = False) -> list[str]:
    """A one-page project with its own cache; returns the sphinx-build command for it."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"extensions = ['sphinx_layertrace']\nlayertrace_cache_dir = {str(tmp_path / 'c')!r}\n"
    )
    (src / "index.rst").write_text(index)
    command = [sys.executable, "-m", "sphinx", "-N", "-b", "html", str(src), str(tmp_path / "o")]
    return [*command[:4], "-E", *command[4:]] if fresh_env else command


def test_a_page_rewritten_without_rereading_takes_its_capture_from_the_cache(tmp_path):
    """Changing another page's title rewrites the index (its toctree) without re-reading it."""
    command = _sphinx_project(
        tmp_path,
        "Index\n=====\n\n.. toctree::\n\n   other\n\n.. layertrace::\n"
        "   :expect: ConnectionRefusedError\n\n   import socket\n"
        "   socket.create_connection(('127.0.0.1', 9))\n",
    )
    other = tmp_path / "src" / "other.rst"
    other.write_text("Other\n=====\n")
    first = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert "1 snippet run" in first.stdout
    other.write_text("Another title\n=============\n")
    second = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert "WARNING" not in second.stderr, second.stderr
    assert "writing output... [" in second.stdout and "index" in second.stdout
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "ConnectionRefusedError: [Errno 111]" in html


def test_a_snippet_in_an_excluded_only_block_is_cached_for_the_next_build(tmp_path):
    """It runs (planned at read time) but no page collects it; the next build must not rerun it."""
    if sys.platform == "win32":
        pytest.skip("the block is not excluded on Windows")
    command = _sphinx_project(
        tmp_path,
        "Index\n=====\n\n.. only:: layertrace_win32\n\n   .. layertrace::\n\n      1 / 0\n",
        fresh_env=True,
    )
    first = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert "1 snippet run" in first.stdout, first.stdout
    second = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert "0 snippets run, 1 from the cache" in second.stdout, second.stdout
