"""CPU per snippet of the fork engine: main process, worker and its children, page faults.

Runs N raising loopback snippets (as ``capture_latency.py``) through ``Runner(mode="fork")``
in a fresh process per repetition, and reports from ``getrusage``: wall time, the main
process's CPU (submitting, decoding, hygiene, ``Capture.from_dict``) and the CPU and minor
page faults of the worker together with every child it forked (reaped, so counted).

Run: ``.venv/bin/python bench/capture_cpu.py -n 300 --repeat 5 [--parallel 1]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from sphinx_layertrace.capture.runner import Request, Runner
n, parallel = int(sys.argv[1]), int(sys.argv[2]) or None
runner = Runner(mode="fork", parallel=parallel)
runner.run(Request("import socket\nsocket.create_connection(('127.0.0.1', 9))  # warm\n"))
codes = [
    f"import socket\nsocket.create_connection(('127.0.0.1', 9))  # snippet {i}\n"
    for i in range(n)
]
before = resource.getrusage(resource.RUSAGE_SELF)
started = time.perf_counter()
tickets = [runner.submit(Request(code, timeout=10)) for code in codes]
for ticket in tickets:
    capture = runner.result(ticket)
    assert capture.exception.type == "ConnectionRefusedError", capture
wall = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF)
runner.close()
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "wall": wall,
    "main_user": after.ru_utime - before.ru_utime,
    "main_sys": after.ru_stime - before.ru_stime,
    "kids_user": kids.ru_utime,
    "kids_sys": kids.ru_stime,
    "kids_faults": kids.ru_minflt,
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--snippets", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=0, help="children at once (0: cores)")
    args = parser.parse_args()

    def once(n: int) -> dict:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(n), str(args.parallel)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    # the worker's start-up (and one warm-up snippet) is a fixed cost: measured with no
    # snippets, alternately with the real runs, and subtracted
    rows, idle = [], []
    for _ in range(args.repeat):
        idle.append(once(0))
        rows.append(once(args.snippets))
    for key in ("kids_user", "kids_sys", "kids_faults"):
        fixed = statistics.median(row[key] for row in idle)
        for row in rows:
            row[key] -= fixed
    n = args.snippets
    print(f"{n} snippets x {args.repeat} runs, parallel={args.parallel or 'cores'} (medians)")
    for key, label, scale in (
        ("wall", "wall ms/snippet", 1000 / n),
        ("main_user", "main user ms/snippet", 1000 / n),
        ("main_sys", "main sys ms/snippet", 1000 / n),
        ("kids_user", "worker+children user ms/snippet", 1000 / n),
        ("kids_sys", "worker+children sys ms/snippet", 1000 / n),
        ("kids_faults", "worker+children minor faults/snippet", 1 / n),
    ):
        values = [row[key] * scale for row in rows]
        print(
            f"{label:<40} {statistics.median(values):8.2f}   ({min(values):.2f}..{max(values):.2f})"
        )
    total = [
        (r["main_user"] + r["main_sys"] + r["kids_user"] + r["kids_sys"]) * 1000 / n for r in rows
    ]
    spread = f"({min(total):.2f}..{max(total):.2f})"
    print(f"{'total CPU ms/snippet':<40} {statistics.median(total):8.2f}   {spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
