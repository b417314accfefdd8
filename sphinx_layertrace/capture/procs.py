"""Starting and killing child process trees: the one place that differs on POSIX and Windows."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
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
