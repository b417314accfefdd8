"""The ``sphinx-build`` process's peak memory: layertrace may add at most 100 MB to plain Sphinx's
at 3,000 snippets (``bench/memory.py`` measures that; ``bench/README.md`` has the figures).

Here a lighter version of the same measurement: plain ``code-block`` pages and the same
snippets under ``layertrace``, cold and then from the cache into a fresh output dir, each a
real ``sphinx-build`` process whose own ``ru_maxrss`` is read (the children and the worker are
other processes). What grows with the number of snippets must stay within the budget's share
per snippet, 100 MB / 3,000 ≈ 34 kB.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench" / "memory.py"
SMALL, LARGE = 100, 400

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage")


def _bench():
    spec = importlib.util.spec_from_file_location("layertrace_memory_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memory_per_snippet_stays_within_the_budget(tmp_path: Path) -> None:
    bench = _bench()
    per_snippet = bench.BUDGET / bench.BUDGET_SNIPPETS
    extra = {}
    for n in (SMALL, LARGE):
        found = bench.measure(n, tmp_path / str(n))
        shutil.rmtree(tmp_path / str(n))
        extra[n] = max(found["layertrace"], found["layertrace-cached"]) - found["plain"]
    # what the extension costs whatever the size (its modules, Pygments' lexers) is not per
    # snippet: the growth between the two sizes is
    growth = (extra[LARGE] - extra[SMALL]) / (LARGE - SMALL)
    assert growth < per_snippet, (extra, f"{growth / 1024:.1f} kB per snippet")
    assert extra[LARGE] < bench.BUDGET * LARGE / bench.BUDGET_SNIPPETS + 40 * 2**20, extra
