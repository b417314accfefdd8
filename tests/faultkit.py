"""The kill harness of ``make test-faults``: a generated docs tree, ``sphinx-build`` as a real
process killed at random moments, and the checks of what a kill may leave.

Every build runs in its own session with a marker in its environment
(``LAYERTRACE_FAULT_RUN=<uuid>``), so a process left behind is found by its environment or by its
ancestry, whatever it did to its own session or group. ``TMPDIR`` points at a directory of the
run, so temporary files are found there (and under ``/dev/shm``, where the fork worker keeps its
per-child directories).
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SPHINX_BUILD = Path(sys.executable).with_name("sphinx-build")
MARKER = "LAYERTRACE_FAULT_RUN"
PER_PAGE = 10
_TAG = re.compile(r"<[^>]+>")
_SEEN = re.compile(r"\bsnippet (\d+)\b")
OUR_TEMP = re.compile(r"^layertrace-")
_BY_PID = re.compile(r"^layertrace-(\d+)-")


def snippet(number: int) -> str:
    """One quick snippet whose *output* (never its source text) says ``snippet <number>``."""
    if number % 50 == 7:  # leaves a process behind, in a session of its own
        body = (
            "import subprocess\n"
            'subprocess.Popen(["sleep", "60"], start_new_session=True)\n'
            f'raise ValueError("snippet " + str({number}))'
        )
    elif number % 5 == 4:  # a refused loopback connection, after a line of output
        body = (
            f'print("snippet", {number})\nimport socket\nsocket.create_connection(("127.0.0.1", 9))'
        )
    else:
        body = f'raise ValueError("snippet " + str({number}))'
    lines = "\n".join("   " + line for line in body.splitlines())
    return f".. layertrace::\n\n{lines}\n"


def make_root(root: Path, count: int) -> list[str]:
    """A docs tree of ``count`` snippets, ``PER_PAGE`` to a page; the page names are returned."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "conf.py").write_text(
        "extensions = ['sphinx_layertrace']\n"
        f"layertrace_cache_dir = {str(root.parent / 'cache')!r}\n",
        encoding="utf-8",
    )
    pages = []
    for first in range(0, count, PER_PAGE):
        name = f"p{first // PER_PAGE:03d}"
        pages.append(name)
        blocks = [snippet(n) for n in range(first, min(first + PER_PAGE, count))]
        title = f"Page {name}"
        text = f"{title}\n{'=' * len(title)}\n\n" + "\n".join(blocks)
        (root / f"{name}.rst").write_text(text, encoding="utf-8")
    toctree = "\n".join("   " + name for name in pages)
    (root / "index.rst").write_text(
        f"Faults\n======\n\n.. toctree::\n\n{toctree}\n", encoding="utf-8"
    )
    return pages


def seen_on(page: Path) -> set[int]:
    """The snippet numbers a built page's text shows (tags stripped, entities decoded)."""
    text = html.unescape(_TAG.sub("", page.read_text(encoding="utf-8")))
    return {int(n) for n in _SEEN.findall(text)}


def wrong_entries(outdir: Path, pages: list[str]) -> list[str]:
    """Every page whose snippets' outputs are not exactly its own numbers."""
    wrong = []
    for index, name in enumerate(pages):
        want = set(range(index * PER_PAGE, (index + 1) * PER_PAGE))
        page = outdir / f"{name}.html"
        got = seen_on(page) if page.exists() else set()
        if got != want:
            wrong.append(f"{name}: missing {sorted(want - got)}, foreign {sorted(got - want)}")
    return wrong


@dataclass
class Run:
    """One fault run: its marker, its private TMPDIR and the builds it started."""

    base: Path
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        self.tmp = self.base / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.pids: set[int] = set()
        self.pages: list[str] = []
        self.started_at = time.time()
        self.seen: set[int] = set()  # every pid found in a build's tree: whose temp dirs are ours

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({MARKER: self.marker, "TMPDIR": str(self.tmp), "PYTHONUNBUFFERED": "1"})
        env.pop("LAYERTRACE_TEST_CACHE", None)  # the root's conf.py names its cache
        return env

    def start(self, src: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
        command = [str(SPHINX_BUILD), "-q", "-b", "html", *extra, str(src), str(out)]
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env(),
            start_new_session=True,
        )
        self.pids.add(proc.pid)
        _POPENED.add(proc.pid)
        return proc

    def build(self, src: Path, out: Path, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = self.start(src, out)
        stdout, stderr = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)

    def note_tree(self) -> set[int]:
        """Remember every process of the builds now running (their temp dirs are named by pid)."""
        now = set(marked_or_descended(self.marker, self.pids | {os.getpid()}))
        self.seen.update(now)
        return now

    def strays(self) -> list[str]:
        """Live processes marked as ours by environment or descended from a build we started."""
        found = marked_or_descended(self.marker, self.pids | {os.getpid()})
        return [describe(pid) for pid in found]

    def wait_for_no_strays(self, within: float = 1.0) -> list[str]:
        deadline = time.monotonic() + within
        while True:
            left = self.strays()
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.05)


def kill(proc: subprocess.Popen[str], sig: int) -> tuple[str, str]:
    """Send ``sig`` the way a terminal does (the whole foreground group); wait; the output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        return proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) from /proc/<pid>/stat, or None when the process is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2 :].split()
    return int(rest[1]), rest[0]


def _environ_has(pid: int, marker: str) -> bool:
    try:
        data = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER}={marker}".encode() in data.split(b"\0")


def marked_or_descended(marker: str, roots: set[int]) -> list[int]:
    """Pids (not zombies) whose environment has the marker or whose ancestry reaches ``roots``."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        stat = _stat(pid)
        if stat is None or stat[1] in ("Z", "X"):
            continue
        if _environ_has(pid, marker) or _descends(pid, roots):
            found.append(pid)
    return found


def _descends(pid: int, roots: set[int]) -> bool:
    seen = 0
    while pid > 1 and seen < 64:
        if pid in roots:
            return True
        stat = _stat(pid)
        if stat is None:
            return False
        pid, seen = stat[0], seen + 1
    return False


def describe(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmd = "?"
    return f"{pid}: {cmd.strip()}"


def leftovers(run: Run, cache: Path) -> list[str]:
    """Temporary files and directories of ours: cache ``.part`` files, ``layertrace-*`` under
    the run's TMPDIR and under /dev/shm (the latter only when made by a build of this run's
    user and not by a process still alive)."""
    found = [str(p) for p in cache.glob("*.part")] if cache.exists() else []
    found += [str(p) for p in run.tmp.iterdir() if OUR_TEMP.match(p.name)]
    shm = Path("/dev/shm")
    if shm.is_dir():
        for path in shm.iterdir():
            named = _BY_PID.match(path.name)
            if named and int(named.group(1)) in run.seen:
                found.append(str(path))
    return found


def traceback_lines(stderr: str) -> list[str]:
    """The frames of a Python traceback that are this package's."""
    return [line for line in stderr.splitlines() if "sphinx_layertrace" in line and "File" in line]


def worker_running(pids: set[int]) -> bool:
    """Whether one of ``pids`` is a fork worker (``worker.py serve``)."""
    return any("worker.py serve" in describe(pid) for pid in pids)


def become_subreaper() -> None:
    """Orphans of a killed build become this process's children, so ancestry still finds them."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap_strays() -> None:
    """Reap the zombies of adopted orphans (never a Popen's own child: it reaps that itself)."""
    for entry in os.listdir("/proc/self/task"):
        try:
            children = Path(f"/proc/self/task/{entry}/children").read_text().split()
        except OSError:
            continue
        for pid in map(int, children):
            stat = _stat(pid)
            if stat is not None and stat[1] == "Z" and pid not in _POPENED:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)


_POPENED: set[int] = set()


def interrupt_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("layertrace: interrupted")]


def forget(cache: Path | None, out: Path) -> None:
    """Drop the output (and the cache, when given: every snippet runs again)."""
    import shutil

    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
