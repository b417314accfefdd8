"""Process control: the parent-death signal, child subreaping, and killing what a snippet left.

POSIX parts are guarded; Windows runs the ``once`` path without any of it.
"""

import os
import signal
import sys

from .protocol import read_file

IS_LINUX = sys.platform.startswith("linux")
POSIX = os.name == "posix"
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_PRCTL = []  # type: list  # the libc function, looked up once: a forked child then calls it for ~0.01 ms


def prctl(option, value):
    if not IS_LINUX:
        return False
    try:
        if not _PRCTL:
            import ctypes

            _PRCTL.append(ctypes.CDLL(None, use_errno=True).prctl)
        return _PRCTL[0](option, value, 0, 0, 0) == 0
    except Exception:
        return False


def die_with_parent(signum=signal.SIGKILL):
    """``signum`` when the parent goes, and adopt whatever a snippet reparents (Linux).

    The forking server asks for SIGTERM, which it handles by killing its children and removing
    its directory (a SIGKILL would leave the directory behind); a snippet's child gets SIGKILL.
    """
    prctl(PR_SET_PDEATHSIG, signum)
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def children_of_self(threads=True):
    """Direct children of this process (Linux), including orphans it adopted as subreaper.

    ``threads=False`` when this process has a single thread (the forking server): one file.
    """
    pids = set()  # type: set[int]
    if threads:
        try:
            tasks = os.listdir("/proc/self/task")  # type: list
        except OSError:
            return pids
    else:
        tasks = [os.getpid()]
    for tid in tasks:
        try:
            data = read_file("/proc/self/task/%s/children" % tid, 1 << 16)
            pids.update(int(p) for p in data.split())
        except ValueError:
            pass
    return pids


def kill_descendants(keep=(), threads=True):
    """Kill and reap every child of this process except ``keep``, until none come back."""
    if not POSIX:
        return 0
    killed = 0
    for _ in range(100):
        pids = children_of_self(threads) - set(keep)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
    return killed


def reaped():
    """``(pid, status)`` of each child of this process that has ended, without waiting."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def write_all(fd, data):
    """Write all of ``data`` to a blocking pipe (a signal can cut a large write short)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except InterruptedError:
            continue


def kill_group(pgid):
    if not POSIX:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def ending_of(status):
    """("signal", number) or ("exit", status) from a ``waitpid`` status."""
    if os.WIFSIGNALED(status):
        return "signal", os.WTERMSIG(status)
    return "exit", os.WEXITSTATUS(status)
