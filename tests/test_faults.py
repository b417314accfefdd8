"""Kill at any moment (``make test-faults``): a real ``sphinx-build`` of a few hundred snippets,
SIGKILLed or interrupted at random points many times.

After every kill: nothing of ours is left running a second later. After the next build that is
let finish: it succeeds, every page shows its own snippet's capture, and no temporary file or
directory of ours is left. An interrupt says so in one line, never with a traceback of ours.

The seed is printed (``-s`` shows it); ``LAYERTRACE_FAULT_SEED=N`` replays a run.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import faultkit as fk
import pytest

pytestmark = pytest.mark.faults

PAGES, PER_PAGE = 16, 15  # 240 snippets
KILLS = 32
CHECK_EVERY = 4  # a build that is let finish, and checked, after this many kills
#: moments named by the build's own output, besides random delays
PHASES = (
    r"^reading sources\.\.\. \[ *[1-9]",
    r"^pickling environment",
    r"^writing output\.\.\. \[ *[1-9]",
    r"^writing output\.\.\. \[100%\]",
    r"^generating indices",
    r"^dumping search index",
    r"^layertrace: ",
)


class Run:
    """The project, its cache and temp dir, and every pid a build of it had."""

    def __init__(self, base: Path, seed: int) -> None:
        self.tag = f"faults-{os.getpid()}-{seed}"
        self.src, self.out, self.cache = base / "src", base / "out", base / "cache"
        self.tmp = base / "tmp"
        self.tmp.mkdir()
        self.total = fk.make_root(self.src, self.cache, self.tag, PAGES, PER_PAGE)
        self.env = {**os.environ, fk.MARKER: self.tag, "TMPDIR": str(self.tmp)}
        self.env.pop("LAYERTRACE_TEST_CACHE", None)

    def build(self) -> fk.Build:
        argv = [str(fk.SPHINX_BUILD), "-b", "html", str(self.src), str(self.out)]
        return fk.Build(argv, self.env)

    def finish(self) -> float:
        """A build let finish: it succeeds, serves no wrong entry, leaves no temporary file."""
        started = time.monotonic()
        build = self.build()
        code = build.wait()
        assert code == 0, build.output[-3000:]
        checked, problems = fk.wrong_entries(self.out, self.total)
        assert not problems, problems
        assert checked == self.total
        assert not fk.wait_no_strays(self.tag, {build.proc.pid})
        assert not fk.temp_leftovers(self.cache, self.tmp)
        return time.monotonic() - started


def _disturb(run: Run, rng: random.Random) -> None:
    """What the next build starts from: a cold cache, a new output dir, an edited page."""
    if rng.random() < 0.5:
        shutil.rmtree(run.cache, ignore_errors=True)
    if rng.random() < 0.25:
        shutil.rmtree(run.out, ignore_errors=True)
    page = run.src / f"page{rng.randrange(PAGES)}.rst"
    page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")


def _kill_once(run: Run, rng: random.Random, full: float) -> str:
    signum = signal.SIGINT if rng.random() < 0.35 else signal.SIGKILL
    pattern = rng.choice(PHASES) if rng.random() < 0.4 else None
    delay = rng.uniform(0.2, full * 0.8)
    build = run.build()
    killed = build.kill_at(signum, delay, pattern)
    code = build.wait()
    where = pattern or f"{delay:.2f}s"
    if not killed:  # it had finished: then it succeeded
        assert code == 0, build.output[-3000:]
        return f"finished before {where}"
    left = fk.wait_no_strays(run.tag, {build.proc.pid})
    assert not left, f"{signal.Signals(signum).name} at {where}: {left}"
    if code == 0 and "build succeeded" in build.output:
        # it ended between the harness's last look and the signal (an exited process ignores
        # it): a build that finished, as the branch above
        return f"finished as {signal.Signals(signum).name} was sent at {where}"
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        _check_interrupt(build, code)
    return f"{signal.Signals(signum).name} at {where}"


def _check_interrupt(build: fk.Build, code: int) -> None:
    """Sphinx's own exit status and line for Ctrl-C, ours at most one line, no traceback."""
    output = build.output
    if code == -signal.SIGINT:  # before Sphinx's handling was in place (importing Sphinx)
        assert "sphinx_layertrace" not in output, output[-3000:]
        return
    assert "Traceback" not in output, output[-3000:]
    assert "Exception ignored" not in output, output[-3000:]
    assert code == 2, output[-3000:]
    assert "Interrupted!" in output, output[-3000:]
    ours = [line for line in build.lines if line.startswith("layertrace: interrupted")]
    assert len(ours) <= 1


@pytest.mark.skipif(not fk.SPHINX_BUILD.exists(), reason="sphinx-build not installed")
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc (Linux)")
def test_kill_at_any_moment(tmp_path: Path) -> None:
    seed = int(os.environ.get("LAYERTRACE_FAULT_SEED") or random.SystemRandom().randrange(10**6))
    print(f"\nkill test seed: {seed} (LAYERTRACE_FAULT_SEED={seed} replays it)")
    rng = random.Random(seed)
    run = Run(tmp_path, seed)
    started = time.monotonic()
    full = run.finish()  # cold: every snippet runs
    events: list[str] = []
    kills = 0
    while kills < KILLS and len(events) < 2 * KILLS:
        _disturb(run, rng)
        events.append(_kill_once(run, rng, full))
        if not events[-1].startswith("finished"):
            kills += 1
            if kills % CHECK_EVERY == 0:
                run.finish()
    print(f"{kills} kills in {time.monotonic() - started:.0f} s (a cold build: {full:.1f} s)")
    for event in events:
        print("  ", event)
    assert kills >= 30
