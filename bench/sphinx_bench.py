"""Sphinx-level benchmark: plain ``code-block``, ``layertrace`` and IPython's ``ipython`` directive.

Generates N raising loopback snippets (10 per page) for each variant and times whole
``sphinx-build`` processes from the outside, interleaved (plain, layertrace, ipython, plain, ...)
so every comparison shares the machine's state. Scenarios:

- cold: ``rm -rf`` the output dir *and* the layertrace cache, then build;
- warm: build again with nothing changed;
- fresh: ``rm -rf`` the output dir only (the cache survives), then build (plain has no cache,
  so its "fresh" build is a cold one, run right beside layertrace's);
- cold -j 2: like cold, with ``-j 2``.

All variants run on one interpreter, ``bench/_work/venv``: a venv that sees the project's
``.venv`` (same Sphinx, docutils, extension) through a ``.pth`` file and adds IPython, which is
never installed into ``.venv`` or the project's dependencies. Run with ``make bench-sphinx``.

Usage: ``python bench/sphinx_bench.py [--sizes 100 300] [--runs 3] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
VENV = WORK / "venv"
SOURCE: Path | None = None  # --src
PER_PAGE = 10
VARIANTS = ("plain", "layertrace", "ipython")

SNIPPET = """\
# layertrace-bench snippet {i} (page {page})
import socket
socket.create_connection(("127.0.0.1", 9))
"""

CONF = {
    "plain": 'project = "bench"\nextensions = []\n',
    "layertrace": (
        'project = "bench"\nextensions = ["sphinx_layertrace"]\n'
        'layertrace_cache_dir = ".layertrace-cache"\n'
    ),
    "ipython": (
        'project = "bench"\n'
        'extensions = ["IPython.sphinxext.ipython_directive",'
        ' "IPython.sphinxext.ipython_console_highlighting"]\n'
        "ipython_execlines = []\n"
    ),
}


def directive(variant: str, code: str) -> str:
    body = "".join(f"   {line}\n" for line in code.splitlines())
    if variant == "plain":
        return f".. code-block:: python\n\n{body}"
    if variant == "layertrace":
        return f".. layertrace::\n   :expect: ConnectionRefusedError\n\n{body}"
    return f".. ipython:: python\n   :okexcept:\n\n{body}"


def generate(variant: str, n: int) -> Path:
    """``bench/_work/<variant>-<n>/src``: n/10 pages of 10 snippets and an index."""
    project = WORK / f"{variant}-{n}"
    src = project / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    (src / "conf.py").write_text(CONF[variant], encoding="utf-8")
    pages = []
    for page in range(n // PER_PAGE):
        name = f"page{page:03d}"
        pages.append(name)
        parts = [f"Page {page}\n{'=' * (5 + len(str(page)))}\n"]
        for j in range(PER_PAGE):
            i = page * PER_PAGE + j
            parts.append(f"Snippet {i}:\n\n" + directive(variant, SNIPPET.format(i=i, page=page)))
        (src / f"{name}.rst").write_text("\n".join(parts), encoding="utf-8")
    toc = "".join(f"   {p}\n" for p in pages)
    (src / "index.rst").write_text(f"Bench\n=====\n\n.. toctree::\n\n{toc}", encoding="utf-8")
    return project


def ensure_venv() -> Path:
    """The bench interpreter: sees .venv's packages, has IPython of its own."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    pth = Path(purelib, "_project_venv.pth")
    project_site = sysconfig.get_paths()["purelib"]  # .venv's, when run by make
    # addsitedir (not a bare path line) so .venv's own .pth files, such as the editable
    # install of this project, are processed too
    line = f"import site; site.addsitedir({project_site!r})\n"
    if not pth.exists() or pth.read_text(encoding="utf-8") != line:
        pth.write_text(line, encoding="utf-8")
    probe = subprocess.run([str(python), "-c", "import IPython"], check=False, capture_output=True)
    if probe.returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "ipython"], check=True)
    return python


class Project:
    def __init__(self, python: Path, variant: str, n: int) -> None:
        self.python = python
        self.variant = variant
        self.n = n
        self.root = generate(variant, n)
        self.src = self.root / "src"
        self.out = self.root / "_build"
        self.cache = self.src / ".layertrace-cache"
        self.last_log = ""
        self.last_cpu = 0.0

    def clean(self, *, cache: bool) -> None:
        shutil.rmtree(self.out, ignore_errors=True)
        if cache:
            shutil.rmtree(self.cache, ignore_errors=True)

    def build(self, jobs: int = 1) -> float:
        cmd = [str(self.python), "-m", "sphinx", "-b", "html", "-j", str(jobs)]
        cmd += [str(self.src), str(self.out / "html")]
        env = dict(os.environ)
        env["IPYTHONDIR"] = str(WORK / "ipythondir")
        env.pop("PYTHONPATH", None)
        if SOURCE is not None:  # --src: the extension of another checkout (before/after)
            env["PYTHONPATH"] = str(SOURCE)
        # Measure an ordinary installation: Sphinx and IPython in site-packages have their .pyc
        # files; without this, an editable install of the extension (and nothing else) would be
        # recompiled from source in every build (~50 ms of a 0.5 s warm build).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, check=False, capture_output=True, text=True, env=env, cwd=self.root
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # every process of the build: Sphinx, its -j forks, the workers and each snippet's child
        # (all reaped by their parents, so the kernel adds them to this process's children)
        self.last_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        self.last_log = proc.stdout + proc.stderr
        if proc.returncode:
            raise SystemExit(f"{self.variant}-{self.n} build failed:\n{self.last_log[-3000:]}")
        return elapsed

    def ran(self) -> str:
        found = re.search(r"layertrace: (\d+) snippets run, (\d+) from the cache", self.last_log)
        if found:
            return f"{found.group(1)} run / {found.group(2)} cached"
        # the extension logs nothing when it saw no snippet: nothing was re-read
        return "0 run / 0 cached" if self.variant == "layertrace" else "-"

    def verify(self) -> int:
        """Rendered 'Connection refused' tracebacks in the output (must be n, plain: 0)."""
        count = 0
        for page in (self.out / "html").glob("page*.html"):
            count += page.read_text(encoding="utf-8").count("Connection refused")
        return count


SCENARIOS = (
    # name, which variants, how to prepare, -j
    ("cold", VARIANTS, "all", 1),
    ("warm", VARIANTS, "none", 1),
    ("fresh", ("plain", "layertrace"), "out", 1),
    ("cold -j 2", VARIANTS, "all", 2),
)


def measure(python: Path, n: int, runs: int, variants: tuple[str, ...]) -> dict:
    projects = {v: Project(python, v, n) for v in variants}
    # untimed verification build (also a warm-up for the OS caches)
    for project in projects.values():
        project.clean(cache=True)
        project.build()
        found = project.verify()
        want = 0 if project.variant == "plain" else n
        if found < want or (want == 0 and found):
            raise SystemExit(f"{project.variant}-{n}: {found} tracebacks rendered, want {want}")
        print(f"  verified {project.variant}-{n}: {found} tracebacks; {project.ran()}", flush=True)
    times: dict[str, dict[str, list[float]]] = {s[0]: {} for s in SCENARIOS}
    cpu: dict[str, dict[str, list[float]]] = {s[0]: {} for s in SCENARIOS}
    ran: dict[str, dict[str, str]] = {s[0]: {} for s in SCENARIOS}
    for r in range(runs):
        for name, which, clean, jobs in SCENARIOS:
            for variant in which:
                if variant not in projects:
                    continue
                project = projects[variant]
                if clean == "all":
                    project.clean(cache=True)
                elif clean == "out":
                    project.clean(cache=False)
                elif not (project.out / "html").exists():
                    project.build()  # warm needs a previous build
                elapsed = project.build(jobs)
                times[name].setdefault(variant, []).append(elapsed)
                cpu[name].setdefault(variant, []).append(project.last_cpu)
                ran[name][variant] = project.ran()
                print(
                    f"  run {r + 1} {name:9} {variant:10} {elapsed:7.2f} s"
                    f"  cpu {project.last_cpu:7.2f} s  {project.ran()}"
                )
    return {"n": n, "times": times, "cpu": cpu, "ran": ran}


def report(results: list[dict]) -> str:
    lines = [
        "| N | scenario | plain s | layertrace s | ipython s | layertrace ms/snippet over plain "
        "| ipython ms/snippet over plain | layertrace ÷ plain (per-run median) "
        "| ipython ÷ layertrace (per snippet) "
        "| CPU s plain / layertrace / ipython (all processes) "
        "| layertrace CPU ms/snippet over plain | ipython CPU ms/snippet over plain "
        "| layertrace executions |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        lines.extend(_rows(result))
    lines.append("")
    lines.extend(_linearity(results))
    return "\n".join(lines)


def _rows(result: dict) -> list[str]:
    n = result["n"]
    times = result["times"]
    lines = []
    for name, _which, _clean, _jobs in SCENARIOS:
        med = {v: statistics.median(t) for v, t in times[name].items()}
        plain = med.get("plain")  # in "fresh" too: plain has no cache, so that is a cold build
        lt, ip = med.get("layertrace"), med.get("ipython")
        lt_over, ip_over = _over(lt, plain, n), _over(ip, plain, n)
        paired = _paired(times[name].get("layertrace"), times[name].get("plain"))
        ratio = f"{paired:.2f}x" if paired else "-"
        vs = f"{ip_over / lt_over:.1f}x" if lt_over and ip_over is not None and lt_over > 0 else "-"
        spent = {v: statistics.median(c) for v, c in result.get("cpu", {}).get(name, {}).items()}
        cpu_s = " / ".join(_fmt(spent.get(v)) for v in VARIANTS)
        lt_cpu = _over(spent.get("layertrace"), spent.get("plain"), n)
        ip_cpu = _over(spent.get("ipython"), spent.get("plain"), n)
        lines.append(
            f"| {n} | {name} | {_fmt(plain)} | {_fmt(lt)} | {_fmt(ip)} | {_fmt(lt_over, 1)} "
            f"| {_fmt(ip_over, 1)} | {ratio} | {vs} | {cpu_s} | {_fmt(lt_cpu, 1)} "
            f"| {_fmt(ip_cpu, 1)} | {result['ran'][name].get('layertrace', '-')} |"
        )
    for variant in ("plain", "layertrace"):
        parallel = _paired(times["cold -j 2"].get(variant), times["cold"].get(variant))
        lines.append(
            f"| {n} | {variant} -j 2 ÷ -j 1 (cold) | | {_fmt(parallel)} | | | | | | | | | |"
        )
    return lines


def _linearity(results: list[dict]) -> list[str]:
    """Per-snippet cost over plain of each N against the smallest N (1.0: linear)."""
    out = []
    base = min(results, key=lambda r: r["n"]) if results else None
    for result in results:
        if base is None or result is base:
            continue
        for name in ("cold", "cold -j 2"):
            ratios = []
            for kind in ("times", "cpu"):
                now, then = result.get(kind, {}).get(name, {}), base.get(kind, {}).get(name, {})
                over = _over_median(now, result["n"])
                before = _over_median(then, base["n"])
                ratios.append(f"{over / before:.2f}" if over and before else "-")
            out.append(
                f"N = {result['n']} ÷ N = {base['n']}, {name}, layertrace per snippet over plain:"
                f" wall {ratios[0]}, CPU {ratios[1]}"
            )
    return out


def _over_median(values: dict[str, list[float]], n: int) -> float | None:
    if "layertrace" not in values or "plain" not in values:
        return None
    return _over(statistics.median(values["layertrace"]), statistics.median(values["plain"]), n)


def _paired(values: list[float] | None, bases: list[float] | None) -> float | None:
    """Median of the per-run ratios: each run's two builds ran seconds apart, so a slow
    minute on a shared machine slows both sides of a ratio alike."""
    if not values or not bases:
        return None
    return statistics.median(v / b for v, b in zip(values, bases, strict=False))


def _over(value: float | None, base: float | None, n: int) -> float | None:
    """Milliseconds per snippet above the base build."""
    return None if value is None or base is None else (value - base) * 1000 / n


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[100, 300], help="e.g. 300 1000 3000"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    parser.add_argument(
        "--src",
        type=Path,
        help="import sphinx_layertrace from this checkout (e.g. a git worktree of an older"
        " commit) instead of the installed one, to compare before and after in one way",
    )
    args = parser.parse_args()
    global SOURCE
    SOURCE = args.src.resolve() if args.src else None
    python = ensure_venv()
    # As a wheel install has them: .pyc files for the extension, the worker's modules included
    # (the worker runs with PYTHONDONTWRITEBYTECODE, as snippets do, so it never writes them and
    # would compile its ~20 modules at every start, ~50 ms)
    package = (SOURCE or Path(__file__).resolve().parent.parent) / "sphinx_layertrace"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([str(python), "-m", "compileall", "-q", str(package)], check=True, env=env)
    version = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, sphinx, docutils, IPython; print(sys.version.split()[0],"
            " sphinx.__version__, docutils.__version__, IPython.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    print(
        f"CPython {version[0]}, Sphinx {version[1]}, docutils {version[2]}, IPython {version[3]}, "
        f"{os.cpu_count()} CPUs; {args.runs} runs per figure, median",
        flush=True,
    )
    results = []
    for n in args.sizes:
        print(f"N = {n}", flush=True)
        results.append(measure(python, n, args.runs, tuple(args.variants)))
    print()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
