"""Tools of the kill test (tests/test_faults.py): a root of many quick snippets, a real
``sphinx-build`` killed at a chosen moment, and the checks of what a kill may leave behind.

Every snippet raises ``ValueError("snippet <n>")`` with its own number, computed when it runs, so
a page that shows another snippet's capture is caught by comparing the two numbers.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from children import alive

SPHINX_BUILD = Path(sys.executable).with_name("sphinx-build")
#: in the environment of the build and (through ``layertrace_env``) of its workers and snippets
MARKER = "LAYERTRACE_FAULT_RUN"
CLOSED_PORT = 9  # discard: nothing listens on loopback here

_KINDS = (
    # a plain raise
    "n = {n}\nraise ValueError('snippet %d' % n)",
    # a division by zero, turned into the snippet's own error
    "n = {n}\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    raise ValueError('snippet %d' % n)",
    # a refused loopback connection, the same way
    "import socket\nn = {n}\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
    "except OSError as exc:\n    raise ValueError('snippet %d' % n) from exc",
)
#: every 40th snippet also leaves a process behind in a session of its own: a kill must not
#: leave it running either (it escapes the snippet's process group, not the worker's subreaping)
_LEAVES_ONE = (
    "import subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\nn = {n}\n"
    "raise ValueError('snippet %d' % n)"
)
_CODE_NUMBER = re.compile(r"n = (\d+)")
_RAISED_NUMBER = re.compile(r"ValueError: snippet (\d+)")


def make_root(root: Path, cache: Path, tag: str, pages: int, per_page: int) -> int:
    """Write a Sphinx project of ``pages`` x ``per_page`` snippets; how many in all. The marker
    goes to the workers and snippets through ``layertrace_env``: their environment is minimal."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "conf.py").write_text(
        "extensions = ['sphinx_layertrace']\n"
        "layertrace_timeout = 10\n"
        f"layertrace_cache_dir = {str(cache)!r}\n"
        f"layertrace_env = {{{MARKER!r}: {tag!r}}}\n",
        encoding="utf-8",
    )
    names = [f"page{p}" for p in range(pages)]
    toctree = "\n".join(f"   {name}" for name in names)
    (root / "index.rst").write_text(f"Kill test\n=========\n\n.. toctree::\n\n{toctree}\n")
    number = 0
    for name in names:
        parts = [f"{name}\n{'=' * len(name)}\n"]
        for _ in range(per_page):
            number += 1
            kind = _LEAVES_ONE if number % 40 == 7 else _KINDS[number % len(_KINDS)]
            code = kind.format(n=number, port=CLOSED_PORT)
            body = "\n".join("   " + line for line in code.splitlines())
            parts.append(f".. layertrace::\n   :style: script\n\n{body}\n")
        (root / f"{name}.rst").write_text("\n".join(parts), encoding="utf-8")
    return number


def wrong_entries(outdir: Path, total: int) -> tuple[int, list[str]]:
    """(snippets checked, problems): each page's captures against the snippets they claim to be."""
    checked, problems = 0, []
    seen: set[int] = set()
    for page in sorted(outdir.glob("page*.html")):
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
        codes = [int(n) for n in _CODE_NUMBER.findall(text)]
        raised = [int(n) for n in _RAISED_NUMBER.findall(text)]
        # each snippet shows its code once, then its error once: the numbers pair up in order
        if sorted(set(codes)) != sorted(set(raised)):
            problems.append(f"{page.name}: code {sorted(set(codes))} raised {sorted(set(raised))}")
        order = list(dict.fromkeys(raised))
        if order != list(dict.fromkeys(codes)):
            problems.append(f"{page.name}: snippets and errors out of step")
        seen.update(raised)
        checked += len(set(raised))
    missing = set(range(1, total + 1)) - seen
    if missing:
        problems.append(f"{len(missing)} snippets show no error of their own, e.g. {min(missing)}")
    return checked, problems


@dataclass
class Build:
    """One ``sphinx-build`` in its own session, its output read as it comes."""

    argv: list[str]
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,  # its own group, as a terminal would give it
        )
        self.seen = threading.Event()
        self.pattern: re.Pattern[str] | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        buffer = b""
        while True:
            chunk = self.proc.stdout.read1(1 << 16)  # type: ignore[attr-defined]
            if not chunk:
                break
            buffer += chunk
            *done, buffer = re.split(rb"[\r\n]", buffer)
            for raw in done:
                line = raw.decode("utf-8", "replace")
                self.lines.append(line)
                if self.pattern is not None and self.pattern.search(line):
                    self.seen.set()
        if buffer:
            self.lines.append(buffer.decode("utf-8", "replace"))
        self.seen.set()

    def kill_at(self, signum: int, delay: float | None, pattern: str | None) -> bool:
        """Send ``signum`` after ``delay`` seconds or at the first line matching ``pattern``;
        False if the build had ended by then."""
        if pattern is not None:
            self.pattern = re.compile(pattern)
            self.seen.wait(120)
        else:
            end = self.started + (delay or 0)
            while time.monotonic() < end and self.proc.poll() is None:
                time.sleep(0.01)
        if self.proc.poll() is not None:
            return False
        if signum == signal.SIGINT:  # a terminal's Ctrl-C goes to the whole foreground group
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signum)  # to sphinx-build alone, as kill(1) would
        return True

    def wait(self, timeout: float = 240) -> int:
        code = self.proc.wait(timeout)
        self.reader.join(10)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


# -- what a build may leave behind ----------------------------------------------------------------


def _environ(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _parent(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return ""
    return data[data.rfind(b")") + 2 :].split()[1].decode()


def _session(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return ""
    return data[data.rfind(b")") + 2 :].split()[3].decode()


def strays(tag: str, known: set[int]) -> list[str]:
    """Processes that are ours: the marker ``tag`` in their environment, a pid a build had, or a
    descendant of one of those (workers get a minimal environment without the marker)."""
    marker = f"{MARKER}={tag}".encode()
    pids = [name for name in os.listdir("/proc") if name.isdigit()]
    ours = {p for p in pids if marker in _environ(p).split(b"\0") or int(p) in known}
    sessions = {int(p) for p in ours} | known
    changed = True
    while changed:  # descendants, whatever their environment
        changed = False
        for p in pids:
            if p not in ours and (_parent(p) in ours or _session_of(p) in sessions):
                ours.add(p)
                changed = True
    ours.discard(str(os.getpid()))
    return sorted(f"{p} ({_command(p)})" for p in ours if alive(int(p)))


def _session_of(pid: str) -> int:
    sid = _session(pid)
    return int(sid) if sid.isdigit() else -1


def _command(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")[:100]
    except OSError:
        return "?"


def wait_no_strays(tag: str, known: set[int], within: float = 1.0) -> list[str]:
    end = time.monotonic() + within
    while True:
        left = strays(tag, known)
        if not left or time.monotonic() >= end:
            return left
        time.sleep(0.05)


def temp_leftovers(cache: Path, tmpdir: Path) -> list[str]:
    """Temporary files and directories of ours no live process owns."""
    found = [str(p) for p in cache.glob(".*.part")]
    found += [str(p) for p in tmpdir.glob("layertrace-*")]
    for base in ("/dev/shm", "/tmp"):
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            owner = re.match(r"layertrace-(\d+)-", name)
            if owner and not os.path.exists(f"/proc/{owner.group(1)}"):
                found.append(os.path.join(base, name))
    return found
