"""The floor under a forked snippet on this machine, beside what the engine's child costs.

Issue 16 asks for at most 3 ms of CPU per snippet over plain Sphinx, every process counted. A
child forked from a warm interpreter cannot cost less than forking, exiting, running the
snippet and formatting its traceback; this measures those floors side by side with the
engine's own child (``child_stages.py``'s way: a warm ``Server`` in this process), so the
target can be read against what the machine allows. Medians of N children, CPU and minor page
faults from ``wait4``, the parent's own share from ``getrusage`` around each child.

Run: ``.venv/bin/python bench/fork_floor.py [-n 200]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import socket
import statistics
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import child_stages  # the engine's child, the way the stage bench runs it

SNIPPET = "socket.create_connection(('127.0.0.1', 9))  # snippet %d\n"


def empty(i: int) -> None:
    """fork + exit: nothing at all in the child."""


def bare(i: int) -> None:
    """The snippet itself, its traceback formatted and written as JSON: no isolation, no
    fresh ``__main__``, no audit hook, no arguments, no explanation data."""
    try:
        exec(compile(SNIPPET % i, "<stdin>", "single"), {"socket": socket})
    except OSError as exc:
        text = "".join(traceback.TracebackException.from_exception(exc).format())
        with open(os.devnull, "w") as out:
            out.write(json.dumps({"formatted": text}))


def self_usage() -> tuple[float, int]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_minflt


def floor(work, n: int) -> tuple[float, float, float, float]:
    """Median child CPU (ms), child faults, parent CPU (ms), parent faults."""
    rows = []
    for i in range(n):
        before = self_usage()
        pid = os.fork()
        if pid == 0:
            try:
                work(i)
            finally:
                os._exit(0)
        _, _, ru = os.wait4(pid, 0)
        after = self_usage()
        rows.append(
            (
                (ru.ru_utime + ru.ru_stime) * 1000,
                ru.ru_minflt,
                (after[0] - before[0]) * 1000,
                after[1] - before[1],
            )
        )
    return tuple(statistics.median(r[k] for r in rows) for k in range(4))  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    bare(0)  # the formatting path and socket.py's lines warm in the parent, as in the worker
    gc.collect()
    gc.freeze()
    print(f"{args.n} children each, Python {sys.version.split()[0]} (medians)")
    print(f"{'':44} {'child ms':>9} {'faults':>7} {'parent ms':>10} {'faults':>7}")
    for name, work in (("fork + exit", empty), ("fork + snippet + format + JSON", bare)):
        child, cfaults, parent, pfaults = floor(work, args.n)
        print(f"{name:44} {child:9.3f} {cfaults:7.0f} {parent:10.3f} {pfaults:7.0f}")
    sys.stdout.flush()
    sys.argv = [sys.argv[0], "-n", str(args.n)]
    print("\nThe engine's child, stage by stage (child_stages.py):")
    return child_stages.main()


if __name__ == "__main__":
    sys.exit(main())
