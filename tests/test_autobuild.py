"""The real ``sphinx-autobuild`` on a small root: one edit, one rebuild, exactly that snippet run
again, and no rebuild from the extension's own cache writes.

The default cache, ``<confdir>/.layertrace-cache``, lies inside the tree autobuild watches, and
autobuild cannot be told from ``conf.py`` what to ignore: the docs say to pass ``--re-ignore``
(``docs/guides/live-preview.md``). These tests run that documented command, a cache configured
outside the tree with no flag at all, and the control without the flag, which shows why the docs
need to say it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

AUTOBUILD = Path(sys.executable).with_name("sphinx-autobuild")
#: what the docs tell authors to pass (docs/guides/live-preview.md)
IGNORE_CACHE = ["--re-ignore", r"/\.layertrace-cache(/|$)"]
_ESCAPES = re.compile(r"\x1b\[[0-9;]*m")
#: watchfiles waits 1.6 s for a burst of changes to end; a late rebuild shows within this
QUIET = 5.0

pytestmark = pytest.mark.skipif(not AUTOBUILD.exists(), reason="sphinx-autobuild not installed")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Autobuild:
    """One ``sphinx-autobuild`` process in its own session, its output read line by line."""

    def __init__(self, src: Path, out: Path, flags: list[str], env: dict[str, str]) -> None:
        self.port = _free_port()
        command = [str(AUTOBUILD), str(src), str(out), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), *flags]
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(_ESCAPES.sub("", line.rstrip("\n")))

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for(self, text: str, times: int = 1, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < times:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {text!r} (x{times}) from sphinx-autobuild:\n" + self.output())
            time.sleep(0.1)

    def wait_watching(self, timeout: float = 30.0) -> None:
        """Until the server answers: it starts its file watcher before it serves. The line
        "Waiting to detect changes" comes earlier, before the watcher exists."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with opener.open(f"http://127.0.0.1:{self.port}/", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("sphinx-autobuild never served:\n" + self.output())
                time.sleep(0.2)
        time.sleep(1.0)  # the watcher's own thread settles

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        """Ctrl-C, as an author stops it; then nothing of its session may be left running."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                pytest.fail("sphinx-autobuild did not stop on SIGINT:\n" + self.output())
        self.reader.join(timeout=5)
        left = _session_members(self.proc.pid)
        if left:
            os.killpg(self.proc.pid, signal.SIGKILL)
        assert not left, f"left running after sphinx-autobuild stopped: {left}"
        assert self.proc.returncode == 0, self.output()  # a clean stop, not a crash


def _session_members(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: the session
                found.append(int(entry.name))
    return found


@pytest.fixture
def root(rootdir, tmp_path, monkeypatch):
    src = tmp_path / "src"
    shutil.copytree(rootdir / "test-autobuild", src)
    runs = tmp_path / "runs.log"
    monkeypatch.setenv("LT_RUNS", str(runs))
    monkeypatch.delenv("LT_AUTOBUILD_CACHE", raising=False)
    return src, tmp_path / "out", runs


def _edit_and_watch(src: Path, out: Path, runs: Path, flags: list[str], env: dict[str, str]):
    """Start autobuild, edit one snippet once, and return (autobuild, snippets run by the edit)."""
    autobuild = Autobuild(src, out, flags, env)
    try:
        autobuild.wait_for("Waiting to detect changes")
        autobuild.wait_watching()
        assert sorted(runs.read_text().split()) == ["index", "other"]
        page = src / "other.rst"
        page.write_text(page.read_text("utf-8").replace('int("second")', 'int("third")'), "utf-8")
        autobuild.wait_for("Rebuilding", 1)
        autobuild.wait_for("Serving on", 2)  # the rebuild finished
        time.sleep(QUIET)
        if autobuild.count("Rebuilding") > 1:
            autobuild.wait_for("Serving on", autobuild.count("Rebuilding") + 1)
    finally:
        autobuild.stop()
    return autobuild, runs.read_text().split()[2:]


def _assert_one_rebuild_of_one_snippet(autobuild: Autobuild, rerun: list[str], out: Path) -> None:
    log = autobuild.output()
    assert autobuild.count("Detected changes") == 1, log
    assert autobuild.count("Rebuilding") == 1, log
    assert rerun == ["other"], log
    # the extension's own line for the rebuild: the edited snippet ran, nothing else did
    assert re.search(r"layertrace: 1 snippet run, \d+ from the cache", log), log
    page = (out / "other.html").read_text("utf-8")
    assert "invalid literal for int() with base 10: 'third'" in page


def test_an_edit_is_one_rebuild_with_the_documented_ignore(root):
    src, out, runs = root
    autobuild, rerun = _edit_and_watch(src, out, runs, IGNORE_CACHE, {})
    assert (src / ".layertrace-cache").is_dir()  # the default: the writes happened in the tree
    _assert_one_rebuild_of_one_snippet(autobuild, rerun, out)


def test_an_edit_is_one_rebuild_with_the_cache_outside_the_tree(root, tmp_path):
    src, out, runs = root
    cache = tmp_path / "elsewhere-cache"
    autobuild, rerun = _edit_and_watch(src, out, runs, [], {"LT_AUTOBUILD_CACHE": str(cache)})
    assert any(cache.glob("*.json"))
    _assert_one_rebuild_of_one_snippet(autobuild, rerun, out)


def test_without_the_ignore_the_cache_writes_rebuild_again(root):
    """The control: the watcher does see the default cache, so the docs must say to ignore it
    (and the two tests above would fail if the writes still reached autobuild)."""
    src, out, runs = root
    autobuild, rerun = _edit_and_watch(src, out, runs, [], {})
    assert rerun == ["other"]
    assert autobuild.count("Rebuilding") == 2, autobuild.output()
    assert ".layertrace-cache/" in autobuild.output()
