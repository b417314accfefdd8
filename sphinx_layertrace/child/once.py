"""One snippet in a fresh interpreter (``once WORKDIR``), for the spawn engine.

Runs the request in ``WORKDIR/request.json`` and writes ``WORKDIR/result.json``: the path for
platforms where forking is unavailable or unsafe; the parent enforces the timeout from outside.
On Linux the snippet runs in a forked child and this process stays behind as its subreaper.
"""

import json
import os
import signal
import time

from .isolation import IS_LINUX, POSIX, Prepared
from .paths import PathMasker
from .procctl import PR_SET_PDEATHSIG, die_with_parent, ending_of, kill_descendants, prctl
from .protocol import interpreter_info
from .snippet import run_here

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]


def run_once(workdir):
    with open(os.path.join(workdir, "request.json")) as handle:
        request = json.load(handle)
    if POSIX:
        die_with_parent()
        if request.get("parent") and os.getppid() != request["parent"]:
            return 1  # the parent died before the line above: no signal would come
    prepared = Prepared(interpreter_info(), PathMasker())
    if IS_LINUX and hasattr(os, "fork"):
        return supervise_once(request, workdir, prepared)
    run_here(request, workdir, prepared)
    return 0  # not reached: run_here ends the process


def supervise_once(request, workdir, prepared):
    """``once`` on Linux: run the snippet in a forked child and stay behind as its subreaper.

    If the snippet is killed (timeout, crash), whatever it started with ``setsid`` is
    reparented to this process, not to init, and dies here; ``status.json`` tells the parent
    how the child ended.
    """
    timeout = float(request.get("timeout", 10))
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except Exception:
        pass
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            run_here(request, workdir, prepared)
        finally:
            os._exit(71)
    timed_out = []

    def expire(signum, frame):
        timed_out.append(True)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, timeout - (time.monotonic() - started)))
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 0
    signal.setitimer(signal.ITIMER_REAL, 0)
    kill_descendants()
    kind, code = ending_of(status)
    record = {"kind": kind, "code": code, "timed_out": bool(timed_out)}
    with open(os.path.join(workdir, "status.json"), "w") as handle:
        json.dump(record, handle)
    return 0
