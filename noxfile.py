"""Compatibility matrix: Sphinx releases x CPython 3.10-3.13, each with the docutils and MyST that
its resolver picks (``make test-matrix``).

Each cell installs the extension with one Sphinx series and runs the tests marked ``matrix`` (every
builder, the directive's pages, MyST, the builders that must not execute): the whole suite on 28
cells would take an hour on two cores. A cell whose Python is not installed is "absent"; a cell that
no release of that series installs on is "not supported" (the resolver says so before anything is
installed). Every cell writes ``build/matrix/<python>-<sphinx>.json``; ``nox -s matrix_report``
merges them into ``docs/_data/compatibility.json``, which the docs render as a table.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
CELLS_DIR = ROOT / "build" / "matrix"
RESULTS = ROOT / "docs" / "_data" / "compatibility.json"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
#: label -> requirement; "9.x" is the newest 9 release the index has
SPHINXES = {
    "7.2": "sphinx==7.2.*",
    "7.4": "sphinx==7.4.*",
    "8.0": "sphinx==8.0.*",
    "8.1": "sphinx==8.1.*",
    "8.2": "sphinx==8.2.*",
    "9.0": "sphinx==9.0.*",
    "9.x": "sphinx==9.*",
}


def _matrix_tests() -> list[str]:
    """The modules ``tests/conftest.py`` marks ``matrix``, read from it (not imported: it needs
    the test extra). Only these are collected, so a test module elsewhere that imports some
    other test dependency cannot break a cell."""
    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text("utf-8"))
    for node in ast.walk(tree):
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        if any(getattr(t, "id", "") == "MATRIX_MODULES" for t in targets):
            call = node.value  # frozenset({...})
            names = ast.literal_eval(call.args[0] if isinstance(call, ast.Call) else call)
            return [f"tests/{name}" for name in sorted(names)]
    raise RuntimeError("tests/conftest.py has no MATRIX_MODULES")


MATRIX_TESTS = _matrix_tests()
#: CI runs these two besides the main suite (``make test-matrix-edges``)
EDGES = (("3.10", "7.2"), ("3.13", "9.x"))


def _pyenv_pythons() -> dict[str, str]:
    """X.Y -> executable of the pyenv CPythons this machine has (the newest patch of each)."""
    found: dict[str, str] = {}
    pattern = os.path.expanduser("~/.pyenv/versions/3.1[0-9]*/bin/python3")
    for exe in sorted(glob.glob(pattern), key=_patch_key):
        match = re.search(r"/versions/(3\.\d+)\.\d+/", exe)
        if match:
            found[match[1]] = exe
    return found


def _patch_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/versions/(\d+)\.(\d+)\.(\d+)/", path)
    return tuple(int(p) for p in match.groups()) if match else (0,)


INSTALLED = _pyenv_pythons()
# nox finds "python3.X" on PATH: put pyenv's real interpreters first (its shims refuse versions
# that are not selected).
os.environ["PATH"] = os.pathsep.join(
    [str(Path(exe).parent) for exe in INSTALLED.values()] + [os.environ.get("PATH", "")]
)
nox.options.sessions = ["matrix"]
nox.options.error_on_missing_interpreters = False


def _cell_file(python: str, sphinx: str) -> Path:
    return CELLS_DIR / f"py{python}-sphinx{sphinx}.json"


def _write_cell(python: str, sphinx: str, status: str, **details: object) -> None:
    CELLS_DIR.mkdir(parents=True, exist_ok=True)
    cell = {"python": python, "sphinx": sphinx, "status": status, **details}
    _cell_file(python, sphinx).write_text(json.dumps(cell, indent=1) + "\n", "utf-8")


def _unresolvable(session: nox.Session, requirement: str) -> str:
    """Empty when the series installs on the session's Python; else the resolver's reason."""
    venv = str(session.virtualenv.location)
    proc = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--no-header", "-", "-p", venv],
        input=f"{requirement}\nmyst-parser\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode == 0:
        return ""
    needs = re.search(r"depends on Python(\S+?)[,.]? ", proc.stderr)
    if needs:
        return f"{requirement} needs Python {needs[1]}"
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    return " ".join(lines[:3])[:300] or "the resolver found no release"


VERSIONS = (
    "import importlib.metadata as m, json, platform;"
    "print(json.dumps({'python_full': platform.python_version(),"
    "'sphinx_full': m.version('sphinx'), 'docutils': m.version('docutils'),"
    "'myst_parser': m.version('myst-parser')}))"
)


@nox.session(venv_backend="uv|virtualenv", python=list(PYTHONS), reuse_venv=True)
@nox.parametrize("sphinx", list(SPHINXES))
def matrix(session: nox.Session, sphinx: str) -> None:
    """One cell: install this Sphinx series, run the ``matrix`` tests."""
    python = str(session.python)
    requirement = SPHINXES[sphinx]
    reason = _unresolvable(session, requirement)
    if reason:
        _write_cell(python, sphinx, "not supported", reason=reason)
        session.skip(f"not supported: {reason}")
    # hypothesis: tests/conftest.py registers its profiles at import time
    session.install(requirement, "myst-parser", "pytest>=8", "hypothesis>=6.100")
    session.install("--no-deps", "-e", ".")
    versions = json.loads(session.run("python", "-c", VERSIONS, silent=True).strip())
    try:
        session.run(
            "python", "-m", "pytest", "-m", "matrix", "-q", "-p", "no:cacheprovider",
            "-o", "addopts=--strict-markers", *(session.posargs or MATRIX_TESTS),
        )  # fmt: skip
    except nox.command.CommandFailed:
        _write_cell(python, sphinx, "failed", **versions)
        raise
    _write_cell(python, sphinx, "passed", **versions)


@nox.session(venv_backend="none")
def matrix_report(session: nox.Session) -> None:
    """Merge the cells into the results file the docs render (absent Pythons included)."""
    cells = []
    for python in PYTHONS:
        for sphinx in SPHINXES:
            path = _cell_file(python, sphinx)
            if python not in INSTALLED:
                cells.append({"python": python, "sphinx": sphinx, "status": "absent"})
            elif path.is_file():
                cells.append(json.loads(path.read_text("utf-8")))
            else:
                cells.append({"python": python, "sphinx": sphinx, "status": "not run"})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = {"pythons": list(PYTHONS), "sphinxes": list(SPHINXES), "cells": cells}
    RESULTS.write_text(json.dumps(data, indent=1) + "\n", "utf-8")
    session.log(f"wrote {RESULTS.relative_to(ROOT)}")
