"""Starting and killing child process trees: the one place that differs on POSIX and Windows."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any

POSIX = os.name == "posix"
CAN_FORK = POSIX and sys.platform != "darwin" and hasattr(os, "fork")


def popen_isolated(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group/session, stdin closed, nothing inherited."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("close_fds", True)
    if sys.platform == "win32":  # pragma: no cover - Windows
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    return subprocess.Popen(argv, **kwargs)


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` and everything in its process group (POSIX) or tree (Windows)."""
    if POSIX:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows
        subprocess.run(
            ["taskkill", "/T", "/F", "/PID", str(proc.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    with contextlib.suppress(OSError):
        proc.kill()


def stop_tree(proc: subprocess.Popen[bytes], grace: float = 1.0) -> None:
    """SIGTERM first, so a worker can kill its children and remove its directories; after
    ``grace`` seconds, SIGKILL to the whole group (or tree). Always reaps ``proc``."""
    if POSIX and proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    kill_tree(proc)
    proc.wait()


#: A directory of ours in /dev/shm or the temp dir: ``layertrace-<pid of its owner>-<random>``.
_OWNED = re.compile(r"^layertrace-(\d+)-[0-9A-Za-z_]+$")


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (on this machine; any user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, another user's
    return True


def sweep_stale(bases: list[str]) -> int:
    """Remove our directories under ``bases`` whose owner is dead (killed before it could remove
    them): this user's only, by the pid in the name. How many went."""
    removed = 0
    uid = os.getuid() if POSIX else None
    for base in bases:
        try:
            items = list(os.scandir(base))
        except OSError:
            continue
        for item in items:
            found = _OWNED.match(item.name)
            if not found or pid_alive(int(found.group(1))):
                continue
            try:
                if not item.is_dir(follow_symlinks=False):
                    continue
                if uid is not None and item.stat(follow_symlinks=False).st_uid != uid:
                    continue
            except OSError:
                continue
            shutil.rmtree(item.path, ignore_errors=True)
            removed += 1
    return removed


def temp_bases() -> list[str]:
    """Where workers and spawned children make their directories."""
    bases = [tempfile.gettempdir()]
    if POSIX:
        bases += [base for base in ("/tmp", "/dev/shm") if base not in bases]
    return bases
