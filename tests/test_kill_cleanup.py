"""The pieces the kill test (tests/test_faults.py, ``make test-faults``) relies on, one by one and
fast: a worker that is told to go cleans up, one that is SIGKILLed is swept by the next runner,
and a torn ``.buildinfo`` is dropped (a dead writer's ``.part`` file: test_cache.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from children import alive

from sphinx_layertrace.capture import procs
from sphinx_layertrace.capture.runner import Request, Runner
from sphinx_layertrace.sphinxext.torn import drop_torn_buildinfo

pytestmark = pytest.mark.skipif(not procs.CAN_FORK, reason="the forking worker (Linux)")
SLEEPER = Request("import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(60)", timeout=30)


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    return gone.pid


def _worker_dirs(pid: int) -> list[Path]:
    return [p for base in procs.temp_bases() for p in Path(base).glob(f"layertrace-{pid}-*")]


def _started(runner: Runner) -> int:
    """Submit a sleeper; the worker's pid once the sleeper is running."""
    runner.submit(SLEEPER)
    worker = next(iter(runner._workers.values()))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        dirs = _worker_dirs(worker.proc.pid)
        if dirs and any(d.is_dir() for d in dirs[0].iterdir()):
            return worker.proc.pid
        time.sleep(0.05)
    raise AssertionError("the sleeper never started")


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def test_a_worker_told_to_go_kills_its_snippets_and_removes_its_directory():
    runner = Runner(mode="fork", parallel=1)
    try:
        pid = _started(runner)
        snippets = _descendants(pid)
        assert snippets
        os.kill(pid, signal.SIGTERM)  # what its parent-death signal sends when Sphinx dies
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (_worker_dirs(pid) or any(map(alive, snippets))):
            time.sleep(0.05)
        assert _worker_dirs(pid) == []
        assert not any(map(alive, snippets))
    finally:
        runner.abort()


def test_a_sigkilled_workers_directory_is_swept_by_the_next_runner():
    runner = Runner(mode="fork", parallel=1)
    try:
        pid = _started(runner)
        os.kill(pid, signal.SIGKILL)  # no chance to clean up
        runner._workers[next(iter(runner._workers))].proc.wait()
        assert _worker_dirs(pid)
    finally:
        runner.abort()
    Runner(mode="fork").close()  # a new build's runner
    assert _worker_dirs(pid) == []


def test_the_sweep_leaves_live_owners_and_other_names_alone(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    for name in (f"layertrace-{dead}-ab12", f"layertrace-{live}-cd34", "layertrace-ef56", "other"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "result.json").write_text("{}")
    assert procs.sweep_stale([str(tmp_path)]) == 1
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([f"layertrace-{live}-cd34", "layertrace-ef56", "other"])


def test_a_runner_dropped_without_close_stops_its_worker():
    runner = Runner(mode="fork", parallel=1)
    pid = _started(runner)
    snippets = _descendants(pid)
    del runner  # the finalizer: Ctrl-C, an exception, a caller that forgot close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (alive(pid) or any(map(alive, snippets))):
        time.sleep(0.05)
    assert not alive(pid)
    assert not any(map(alive, snippets))
    assert _worker_dirs(pid) == []


@pytest.mark.parametrize(
    "text",
    ["", "# Sphinx build info version 1\n", "# Sphinx build info version 1\n# x\nconfig: a\n"],
)
def test_a_torn_buildinfo_is_dropped(tmp_path, text):
    (tmp_path / ".buildinfo").write_text(text)
    drop_torn_buildinfo(tmp_path)
    assert not (tmp_path / ".buildinfo").exists()


def test_a_whole_buildinfo_is_kept(tmp_path):
    text = "# Sphinx build info version 1\n# This file...\nconfig: ab\ntags: cd\n"
    (tmp_path / ".buildinfo").write_text(text)
    drop_torn_buildinfo(tmp_path)
    assert (tmp_path / ".buildinfo").read_text() == text


def test_a_worker_whose_parent_died_before_it_could_ask_for_a_signal_goes():
    """The parent-death signal is asked for only once the worker runs: a parent killed before
    then sends none, so the worker compares its parent with the one it was started by."""
    from sphinx_layertrace.capture.interpreters import WORKER

    argv = [sys.executable, WORKER, "serve", "1", str(_dead_pid())]
    worker = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert worker.wait(timeout=20) == 0  # at once, though its stdin is still open
        assert worker.stdout is not None
        assert worker.stdout.read() == b""  # never said it was ready
        assert _worker_dirs(worker.pid) == []
    finally:
        procs.kill_tree(worker)
        worker.wait()
