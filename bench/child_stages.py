"""Where a forked child's CPU and page faults go, stage by stage (Linux).

Loads the child package as ``worker.py`` does, starts a warm ``Server`` in this process (no
main process, no pipe) and forks N children that each run one raising loopback snippet the way
``snippet.run_here`` does, taking ``getrusage(RUSAGE_SELF)`` between the stages; the stage
figures come back through a pipe. Also counts the worker's own faults for its work around one
child (``/proc``-free: ``getrusage`` of this process while the child lives). Medians of N, the
first three children left out.

Run: ``.venv/bin/python bench/child_stages.py [-n 80]``. It calls the child's functions by
name: when they move, this script moves with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

CHILD = Path(__file__).resolve().parent.parent / "sphinx_layertrace" / "child"
CHILD_API: tuple = ()  # functions of the child package, bound by main() before it hides them
CODE = "import socket\nsocket.create_connection(('127.0.0.1', 9))  # snippet %d\n"


def load() -> None:
    startup = frozenset(sys.modules)
    package = type(sys)("_layertrace_child")
    package.__path__ = [str(CHILD)]
    package.__package__ = package.__name__
    sys.modules[package.__name__] = package
    from _layertrace_child import imports

    imports.start(startup)


def request(i: int) -> dict:
    return {
        "id": i, "code": CODE % i, "style": "repl", "setup": [], "timeout": 10,
        "max_output": 65536, "filename": "", "memory": 2 << 30, "nproc": 512,
    }  # fmt: skip


def learn(server, workdir: str, names: list[str], read_notes) -> None:
    """What the real worker's forker keeps from a child's notes, kept here (no forker)."""
    notes = read_notes(workdir, names)
    prepared = server.prepared
    if "sources" in notes and prepared.sources is not None:
        server.warmer.keep_sources(notes["sources"])
    if "carets" in notes and prepared.carets is not None:
        prepared.carets.learn(notes["carets"])


def usage() -> tuple[float, int]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_minflt


def child(server, req: dict, workdir: str, out_fd: int) -> None:
    """Runs in the forked child: the child's modules were imported before the worker hid them."""
    import _signal
    import signal

    write_new, die_with_parent, kill_descendants, snippet_class, leave_notes = CHILD_API
    marks: list[tuple[str, float, int]] = []
    last = usage()

    def mark(name: str) -> None:
        nonlocal last
        now = usage()
        marks.append((name, now[0] - last[0], now[1] - last[1]))
        last = now

    os.setsid()
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    die_with_parent()
    req["dump_on"] = signal.SIGUSR2
    mark("session, signals, prctl")
    started = time.monotonic()
    snippet = snippet_class(req, workdir, server.prepared)
    snippet.isolate()
    mark("isolation (files, env, streams, limits)")
    outcome, exc, detail = snippet.run()
    mark("run (fresh __main__, the snippet)")
    report_ = snippet.report(outcome, exc, detail, started)
    mark("report (exception, arguments, output)")
    kill_descendants()
    data = json.dumps(report_, ensure_ascii=True).encode("ascii")
    write_new(os.path.join(workdir, "result.json"), data)
    leave_notes(workdir, server.prepared)
    mark("kill_descendants, json, write, notes")
    os.write(out_fd, json.dumps(marks).encode())
    os._exit(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=80)
    args = parser.parse_args()
    load()
    from _layertrace_child.paths import remove_tree, write_new
    from _layertrace_child.procctl import die_with_parent, kill_descendants
    from _layertrace_child.server import Server, read_notes
    from _layertrace_child.snippet import Snippet, leave_notes

    global CHILD_API
    CHILD_API = (write_new, die_with_parent, kill_descendants, Snippet, leave_notes)
    die_with_parent()  # as serve() does first: looks prctl up once, before any fork
    server = Server(2)
    server.preload()
    stages: dict[str, list[tuple[float, int]]] = {}
    for i in range(args.n):
        req = request(i)
        before = usage()
        server.warmer.warm(server.warmer.plan(req))
        workdir = os.path.join(server.base, str(i))
        os.mkdir(workdir, 0o700)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                child(server, req, workdir, write_fd)
            finally:
                os._exit(71)
        os.close(write_fd)
        chunks = []
        while chunk := os.read(read_fd, 1 << 16):
            chunks.append(chunk)
        os.close(read_fd)
        _, status, ru = os.wait4(pid, 0)
        names = os.listdir(workdir)
        learn(server, workdir, names, read_notes)
        remove_tree(workdir, names)
        after = usage()
        if status:
            print("child", i, "ended with status", status, file=sys.stderr)
        if i < 3 or status:
            continue
        for name, cpu, faults in json.loads(b"".join(chunks)):
            stages.setdefault(name, []).append((cpu, faults))
        stages.setdefault("child total (wait4)", []).append(
            (ru.ru_utime + ru.ru_stime, ru.ru_minflt)
        )
        stages.setdefault("worker side (plan, fork, reap, clean up)", []).append(
            (after[0] - before[0], after[1] - before[1])
        )
    remove_tree(server.base)
    print(f"{args.n} children, Python {sys.version.split()[0]} (medians; CPU in ms)")
    for name, values in stages.items():
        cpu = statistics.median(v[0] for v in values) * 1000
        faults = statistics.median(v[1] for v in values)
        print(f"{name:44} {cpu:7.3f} ms {faults:6.0f} faults")
    return 0


if __name__ == "__main__":
    sys.exit(main())
