"""Peak memory of the ``sphinx-build`` process: plain ``code-block`` pages vs ``layertrace``.

The same N raising loopback snippets (10 per page) as ``bench/sphinx_bench.py``, built cold
(no output dir, no cache) and then from a full cache into a fresh output dir, each in its own
process. The figure is ``ru_maxrss`` of that process itself (``RUSAGE_SELF``, read as it
exits), so the children and the forking worker, which are separate processes with their own
memory, are not counted. The budget (issue 14): layertrace's peak within plain Sphinx's plus
100 MB at 3,000 snippets; ``tests/test_memory.py`` holds a lighter version of it.

Usage: ``python bench/memory.py [--sizes 3000] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PER_PAGE = 10
BUDGET = 100 * 2**20  # bytes over plain Sphinx, at 3,000 snippets
BUDGET_SNIPPETS = 3000
SNIPPET = """\
# layertrace-memory snippet {i} (page {page})
import socket
socket.create_connection(("127.0.0.1", 9))
"""
CONF = {
    "plain": 'project = "memory"\nextensions = []\n',
    "layertrace": (
        'project = "memory"\nextensions = ["sphinx_layertrace"]\n'
        'layertrace_cache_dir = "_cache"\nlayertrace_timeout = 10\n'
    ),
}
# Runs Sphinx in this very process and writes its own peak RSS (bytes) to argv[1] on the way out.
_RUN = """\
import resource, sys
from sphinx.cmd.build import main
code = main(sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(sys.argv[1], "w") as fh:
    fh.write(str(peak * (1 if sys.platform == "darwin" else 1024)))
sys.exit(code)
"""


def _directive(variant: str, code: str) -> str:
    body = "".join(f"   {line}\n" for line in code.splitlines())
    if variant == "plain":
        return f".. code-block:: python\n\n{body}"
    return f".. layertrace::\n   :expect: ConnectionRefusedError\n\n{body}"


def generate(variant: str, n: int, where: Path) -> Path:
    """``where/src``: ``n`` snippets, 10 per page, and an index."""
    src = where / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    (src / "conf.py").write_text(CONF[variant], encoding="utf-8")
    pages = []
    for page in range((n + PER_PAGE - 1) // PER_PAGE):
        name = f"page{page:04d}"
        pages.append(name)
        blocks = [
            _directive(variant, SNIPPET.format(i=i, page=page))
            for i in range(page * PER_PAGE, min(n, (page + 1) * PER_PAGE))
        ]
        title = f"Page {page}"
        text = f"{title}\n{'=' * len(title)}\n\n" + "\n".join(blocks)
        (src / f"{name}.rst").write_text(text, encoding="utf-8")
    toc = "".join(f"   {name}\n" for name in pages)
    (src / "index.rst").write_text(
        f"Memory\n======\n\n.. toctree::\n   :maxdepth: 1\n\n{toc}", encoding="utf-8"
    )
    return src


def peak_rss(src: Path, out: Path) -> tuple[int, str]:
    """Build ``src`` into ``out`` in a new process; (its peak RSS in bytes, its stderr)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        done = subprocess.run(
            [sys.executable, "-c", _RUN, report.name, "-q", "-b", "html", str(src), str(out)],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"sphinx-build failed ({done.returncode}):\n{done.stderr}")
        return int(Path(report.name).read_text() or 0), done.stderr


def measure(n: int, work: Path) -> dict[str, int]:
    """Peak RSS of plain, layertrace cold, and layertrace from the cache (fresh output dir)."""
    figures = {}
    for variant in ("plain", "layertrace"):
        where = work / f"{variant}-{n}"
        shutil.rmtree(where, ignore_errors=True)
        src = generate(variant, n, where)
        figures[variant], _ = peak_rss(src, where / "out")
        if variant == "layertrace":
            shutil.rmtree(where / "out")
            figures["layertrace-cached"], _ = peak_rss(src, where / "out")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[BUDGET_SNIPPETS])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "_work" / "memory")
    args = parser.parse_args()
    results = {}
    mb = 2**20
    print(f"{'snippets':>8}  {'plain':>9}  {'layertrace':>10}  {'from cache':>10}  {'extra':>8}")
    for n in args.sizes:
        found = measure(n, args.work)
        results[n] = found
        extra = max(found["layertrace"], found["layertrace-cached"]) - found["plain"]
        print(
            f"{n:>8}  {found['plain'] / mb:>7.1f}MB  {found['layertrace'] / mb:>8.1f}MB  "
            f"{found['layertrace-cached'] / mb:>8.1f}MB  {extra / mb:>6.1f}MB"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
