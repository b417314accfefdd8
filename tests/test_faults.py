"""Kill ``sphinx-build`` at random moments of a build with a few hundred snippets (``make
test-faults``): nothing may be left running, the next build must succeed and serve only right
entries, and no temporary file of ours may survive it. Ctrl-C gives one line, no traceback.

The seed is printed; ``LAYERTRACE_FAULT_SEED=<n>`` replays a run.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests import faultkit

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
]

SNIPPETS = 300
ROUNDS = int(os.environ.get("LAYERTRACE_FAULT_ROUNDS", "3"))
KILLS_PER_ROUND = int(os.environ.get("LAYERTRACE_FAULT_KILLS", "11"))  # 33 kill points in all


@pytest.fixture
def run(tmp_path: Path):
    faultkit.become_subreaper()  # whatever escapes a killed build is reparented to this test
    kit = faultkit.Run(tmp_path)
    yield kit
    for pid in faultkit.marked_or_descended(kit.marker, kit.pids | {os.getpid()}):
        os.kill(pid, signal.SIGKILL)
    faultkit.reap_strays()


def _seed() -> int:
    seed = int(os.environ.get("LAYERTRACE_FAULT_SEED") or random.randrange(1 << 32))
    print(f"fault seed: {seed} (LAYERTRACE_FAULT_SEED={seed} replays it)")
    return seed


class Round:
    """Builds killed at random moments until ``KILLS_PER_ROUND`` kills landed, then the check."""

    def __init__(self, run: faultkit.Run, rng: random.Random, src: Path, out: Path) -> None:
        self.run, self.rng, self.src, self.out = run, rng, src, out
        self.problems: list[str] = []
        self.kills = 0

    def kill_once(self, span: float) -> None:
        sig = self.rng.choice([signal.SIGKILL, signal.SIGINT])
        delay = self.rng.uniform(0.1, max(0.3, span))
        proc = self.run.start(self.src, self.out)
        time.sleep(delay)
        tree = self.run.note_tree()
        if proc.poll() is not None:  # finished first: not a kill point
            proc.communicate()
            return
        self.kills += 1
        _stdout, stderr = faultkit.kill(proc, sig)
        name = f"{signal.Signals(sig).name} at {delay:.2f}s"
        left = self.run.wait_for_no_strays(within=1.0)
        if left:
            self.problems.append(f"{name} left {left}")
        if sig == signal.SIGINT:
            self.check_interrupt(name, stderr, faultkit.worker_running(tree))
        faultkit.reap_strays()

    def check_interrupt(self, name: str, stderr: str, worker: bool) -> None:
        ours = faultkit.traceback_lines(stderr)
        if ours:
            self.problems.append(f"{name}: a traceback of ours: {ours[:3]} in {stderr[-1500:]!r}")
        said = faultkit.interrupt_lines(stderr)
        if len(said) > 1 or (worker and not said):
            self.problems.append(f"{name}: not one clear line: {stderr[-1500:]!r}")

    def finish(self) -> float:
        """The build after the kills: it must succeed, right and clean. Its duration."""
        started = time.monotonic()
        done = self.run.build(self.src, self.out)
        took = time.monotonic() - started
        if done.returncode != 0:
            self.problems.append(f"the build after the kills failed: {done.stderr[-3000:]}")
            return took
        self.problems += faultkit.wrong_entries(self.out, self.run.pages)
        cache = self.src.parent / "cache"
        self.problems += [f"left over: {path}" for path in faultkit.leftovers(self.run, cache)]
        left = self.run.wait_for_no_strays(within=1.0)
        if left:
            self.problems.append(f"the complete build left {left}")
        return took


def test_kill_at_any_moment(run: faultkit.Run, tmp_path: Path) -> None:
    rng = random.Random(_seed())
    src, out = tmp_path / "src", tmp_path / "out"
    run.pages = faultkit.make_root(src, SNIPPETS)
    started = time.monotonic()
    first = run.build(src, out)
    cold = time.monotonic() - started
    spans = {"cold": cold, "warm": cold / 2}
    assert first.returncode == 0, first.stderr[-3000:]
    assert not faultkit.wrong_entries(out, run.pages)
    problems, kills = [], 0
    for number in range(ROUNDS):
        kind = "warm" if number % 2 else "cold"
        # from scratch (kills land among snippets that run), or from the cache (among pages
        # being read and written)
        faultkit.forget(src.parent / "cache" if kind == "cold" else None, out)
        this = Round(run, rng, src, out)
        for _ in range(KILLS_PER_ROUND * 3):
            if this.kills >= KILLS_PER_ROUND:
                break
            if kind == "cold" and this.kills:  # each kill among running snippets, from scratch
                faultkit.forget(src.parent / "cache", out)
            this.kill_once(spans[kind])
        kills += this.kills
        took = this.finish()
        if kind == "warm":
            spans["warm"] = max(took, 1.0)
        print(f"round {number} ({kind}): {this.kills} kills, then a build of {took:.1f}s")
        problems += [f"round {number}: {p}" for p in this.problems]
    print(f"{kills} kill points; {len(problems)} problems")
    print("\n".join(problems))
    assert kills >= ROUNDS * KILLS_PER_ROUND
    assert not problems, "\n".join(problems)
