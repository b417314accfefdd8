"""What a killed build leaves, found by the dead pid in its name and removed by the next build.

A build killed with SIGKILL runs no cleanup: the fork worker's directory under ``/dev/shm``
(``layertrace-<worker pid>-<random>``), a spawned child's under the temp dir
(``layertrace-<build pid>-<random>``) and a cache file caught between write and rename
(``.<key>-<writer pid>-<n>.part``) stay. Each name carries the pid of its maker, so whatever a
dead process made can go at once, while a live writer's files are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable

POSIX = os.name == "posix"
_DIR = re.compile(r"^layertrace-(\d+)-[0-9a-z_]+$")
_PART = re.compile(r"^\.[0-9a-f]{1,16}-(\d+)-\d+\.part$")


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` names a live process (a zombie counts; so does one of another user)."""
    if not POSIX or pid <= 0:
        return True  # no cheap answer: keep what may still be used
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _mine(entry: os.DirEntry[str], directory: bool) -> bool:
    try:
        kind = entry.is_dir if directory else entry.is_file
        return kind(follow_symlinks=False) and entry.stat().st_uid == os.getuid()
    except OSError:
        return False


def sweep_dead_dirs(bases: Iterable[str]) -> int:
    """Remove this user's ``layertrace-<pid>-*`` directories whose maker is dead."""
    removed = 0
    for base in dict.fromkeys(bases):
        for entry in _entries(base):
            found = _DIR.match(entry.name)
            if found and not pid_alive(int(found.group(1))) and _mine(entry, directory=True):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
    return removed


def sweep_dead_parts(directory: str | os.PathLike[str]) -> int:
    """Remove the cache's temporary files of dead writers: names only, no entry is stat'ed."""
    removed = 0
    for entry in _entries(directory):
        found = _PART.match(entry.name)
        if found and not pid_alive(int(found.group(1))) and _mine(entry, directory=False):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


def _entries(directory: str | os.PathLike[str]) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(directory))
    except OSError:
        return []
