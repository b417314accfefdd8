"""Capture latency per snippet: this engine (fork, spawn) vs ``python -c`` vs in-process exec.

200 small, distinct snippets that raise (a refused loopback connect, each with its own comment
so nothing can be cached). The four ways are measured in the same run, interleaved in rounds
(each round runs a slice of snippets through every way, in rotating order) so a noisy machine
slows all of them alike. Run: ``make bench`` or ``.venv/bin/python bench/capture_latency.py``.

Only loopback is used (127.0.0.1 port 9, "discard", is closed on a normal machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable

from sphinx_layertrace.capture.runner import Request, Runner


def snippets(count: int) -> list[str]:
    return [
        f"import socket\nsocket.create_connection(('127.0.0.1', 9))  # snippet {i}\n"
        for i in range(count)
    ]


def engine(runner: Runner) -> Callable[[list[str]], None]:
    def go(codes: list[str]) -> None:
        tickets = [runner.submit(Request(code, timeout=10)) for code in codes]
        for ticket in tickets:
            capture = runner.result(ticket)
            assert capture.outcome == "raised", (capture.outcome, capture.detail)
            assert capture.exception.type == "ConnectionRefusedError"

    return go


def _ticks(pid: int) -> float:
    """CPU seconds of a process and of every child it has reaped (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rpartition(")")[2].split()
    # utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 after the name
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _worker_pid(runner: Runner) -> int | None:
    workers = list(runner._workers.values())  # the bench reads the worker pid
    return workers[0].proc.pid if workers and sys.platform.startswith("linux") else None


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fresh_interpreter(codes: list[str]) -> None:
    for code in codes:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, stdin=subprocess.DEVNULL, check=False
        )
        assert b"ConnectionRefusedError" in done.stderr


def in_process(codes: list[str]) -> None:
    for code in codes:
        try:
            exec(compile(code, "<stdin>", "exec"), {"__name__": "__main__"})
        except ConnectionRefusedError:
            text = traceback.format_exc()
        assert "ConnectionRefusedError" in text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--snippets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    codes = snippets(args.snippets)
    per_round = max(1, len(codes) // args.rounds)
    slices = [codes[i : i + per_round] for i in range(0, len(codes), per_round)]

    fork = Runner(mode="fork")
    spawn = Runner(mode="spawn")
    ways: dict[str, Callable[[list[str]], None]] = {
        "engine, fork mode (submit all, collect all)": engine(fork),
        "engine, spawn mode (fresh interpreter each)": engine(spawn),
        "fresh `python -c` per snippet (sequential)": fresh_interpreter,
        "in-process exec + traceback.format_exc": in_process,
    }
    # warm-up outside the clock: start the fork worker, fill the OS page cache
    for way in ways.values():
        way(snippets(2))
    totals = dict.fromkeys(ways, 0.0)
    per_snippet: dict[str, list[float]] = {name: [] for name in ways}
    names = list(ways)
    fork_name = names[0]
    worker = _worker_pid(fork)
    cpu = 0.0  # fork mode: this process + the worker + every child it forked, while timed
    try:
        for index, chunk in enumerate(slices):
            order = names[index % len(names) :] + names[: index % len(names)]
            for name in order:
                before = (_self_cpu(), _ticks(worker) if worker and name == fork_name else 0.0)
                started = time.perf_counter()
                ways[name](chunk)
                elapsed = time.perf_counter() - started
                if name == fork_name:
                    after = (_self_cpu(), _ticks(worker) if worker else 0.0)
                    cpu += (after[0] - before[0]) + (after[1] - before[1])
                totals[name] += elapsed
                per_snippet[name].append(elapsed / len(chunk) * 1000)
    finally:
        fork.close()
        spawn.close()

    n = len(codes)
    ms = {name: totals[name] / n * 1000 for name in ways}
    base = ms["engine, fork mode (submit all, collect all)"]
    print(
        f"{n} snippets, {len(slices)} interleaved rounds, Python {sys.version.split()[0]},"
        f" {sys.platform}, parallel={fork.parallel}"
    )
    print(f"{'way':<46} {'ms/snippet':>10} {'round min..max':>16} {'vs fork':>8}")
    for name in ways:
        spread = f"{min(per_snippet[name]):.2f}..{max(per_snippet[name]):.2f}"
        print(f"{name:<46} {ms[name]:>10.2f} {spread:>16} {ms[name] / base:>7.2f}x")
    print()
    fresh = ms["fresh `python -c` per snippet (sequential)"]
    print(f"fork mode is {fresh / base:.1f}x faster than a fresh interpreter per snippet;")
    print(f"median round in fork mode: {statistics.median(per_snippet[names[0]]):.2f} ms/snippet")
    if worker:
        print(
            f"fork mode CPU per snippet (this process + worker + children): {cpu / n * 1000:.2f} ms"
        )
    goal = 10.0
    verdict = "meets" if base < goal else "MISSES"
    print(f"goal: fork mode under {goal:.0f} ms per snippet -> {verdict} ({base:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
