"""The package as PyPI users get it: one version, pins that match the matrix, a wheel that works
alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import sphinx_layertrace

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "_data" / "compatibility.json"


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # 3.11+; the matrix's 3.10 cells never import it
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def _minor(version: str) -> tuple[int, int]:
    major, minor = re.match(r"(\d+)\.(\d+)", version).groups()
    return int(major), int(minor)


def _range_of(passed: list[dict], field: str) -> str:
    """The pin a package gets from the cells that passed: from the oldest X.Y to the next one
    after the newest."""
    versions = sorted(_minor(cell[field]) for cell in passed)
    (low_major, low_minor), (high_major, high_minor) = versions[0], versions[-1]
    return f">={low_major}.{low_minor},<{high_major}.{high_minor + 1}"


def test_pins_are_exactly_the_range_the_matrix_passed():
    cells = json.loads(RESULTS.read_text("utf-8"))["cells"]
    passed = [cell for cell in cells if cell["status"] == "passed"]
    assert passed, "the results file has no passing cell"
    assert not [c for c in cells if c["status"] in ("failed", "not run")], cells
    project = _pyproject()["project"]
    pins = dict(
        re.match(r"([a-z-]+)(.*)", dep).groups()
        for dep in project["dependencies"]
        if "[" not in dep
    )
    assert pins["sphinx"] == _range_of(passed, "sphinx_full")
    assert pins["docutils"] == _range_of(passed, "docutils")
    myst = project["optional-dependencies"]["myst"]
    assert myst == [f"myst-parser{_range_of(passed, 'myst_parser')}"]
    pythons = sorted({cell["python"] for cell in passed}, key=_minor)
    assert project["requires-python"] == f">={pythons[0]}"
    for python in pythons:
        assert f"Programming Language :: Python :: {python}" in project["classifiers"]


def test_one_version_everywhere():
    project = _pyproject()["project"]
    assert "version" in project["dynamic"]  # flit reads sphinx_layertrace.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert re.search(rf"^## {re.escape(sphinx_layertrace.__version__)}\b", changelog, re.M)

    class App:  # setup() only registers things: record them, report nothing
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    assert sphinx_layertrace.setup(App())["version"] == sphinx_layertrace.__version__


def _run(*cmd: str | os.PathLike, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(
        [os.fspath(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    bool(os.environ.get("LAYERTRACE_OFFLINE")),
    reason="building and installing a wheel needs the package index (make test runs it)",
)
def test_the_wheel_alone_builds_a_page(tmp_path):
    """A fresh venv with the wheel and what its metadata requires, and no source tree anywhere
    on sys.path: the files the wheel forgot would be missing here."""
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT)
    (wheel,) = dist.glob("sphinx_layertrace-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(next(n for n in names if n.endswith("METADATA")))
            .decode()
            .splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        ]
    assert "sphinx_layertrace/static/layertrace.css" in names
    assert "sphinx_layertrace/child/worker.py" in names
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", *requires)  # from the package index
    _run(python, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", dist,
         "sphinx-layertrace")  # fmt: skip
    src, out = tmp_path / "site", tmp_path / "out"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["sphinx_layertrace"]\n', "utf-8")
    (src / "index.rst").write_text(
        "Page\n====\n\n.. layertrace::\n   :expect: ConnectionRefusedError\n\n"
        "   import smtplib\n   smtplib.SMTP('localhost', port=66000)\n",
        "utf-8",
    )
    where = _run(python, "-c", "import sphinx_layertrace; print(sphinx_layertrace.__file__)",
                 cwd=tmp_path)  # fmt: skip
    assert Path(where.strip()).is_relative_to(env), where
    _run(python, "-m", "sphinx", "-W", "-q", "-b", "html", src, out, cwd=tmp_path)
    html = (out / "index.html").read_text("utf-8")
    assert 'data-layer="transport"' in html and "ConnectionRefusedError" in html
    assert (out / "_static" / "layertrace.css").is_file()
