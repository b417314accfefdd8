"""A capture names the installed distributions whose modules the snippet or its setup imported.

Fake distributions on a folder of the children's ``PYTHONPATH``: one described by ``RECORD``
only (as flit and hatch write them), one by ``top_level.txt`` (as setuptools does), and one
whose module the snippets never import.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinx_layertrace.capture.interpreters import MissingInterpreter, probe
from sphinx_layertrace.capture.runner import Request, Runner
from sphinx_layertrace.model import Capture

PYENV = Path("~/.pyenv/versions").expanduser()


def _python_3_8():
    for exe in sorted(PYENV.glob("3.8.*/bin/python3")):
        try:
            return probe(str(exe))
        except MissingInterpreter:
            continue
    pytest.skip(f"no working CPython 3.8 under {PYENV}")


MODES = ["fork", "spawn"]


def _fake_distributions(root):
    root.mkdir()
    package = root / "fakedist"
    package.mkdir()
    (package / "__init__.py").write_text("from fakedist import part\n")
    (package / "part.py").write_text("VALUE = 1\n")
    meta = root / "fakedist-1.2.3.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: FakeDist\nVersion: 1.2.3\n\nText\n"
    )
    (meta / "RECORD").write_text(
        "fakedist/__init__.py,,\nfakedist/part.py,,\nfakedist-1.2.3.dist-info/RECORD,,\n"
    )
    (root / "othermod.py").write_text("import json\nNAME = 'other'\n")
    meta = root / "other_dist-0.5.egg-info"
    meta.mkdir()
    (meta / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: other-dist\nVersion: 0.5\n")
    (meta / "top_level.txt").write_text("othermod\n")
    (root / "unused.py").write_text("")
    meta = root / "unused-9.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Name: unused\nVersion: 9\n")
    (meta / "top_level.txt").write_text("unused\n")
    return root


@pytest.fixture(scope="module", params=MODES)
def runner(request, tmp_path_factory):
    root = _fake_distributions(tmp_path_factory.mktemp("dists") / "site")
    with Runner(mode=request.param, env={"PYTHONPATH": str(root)}) as r:
        yield r


def test_a_snippet_that_imports_a_distribution_names_it(runner):
    c = runner.run(Request("import fakedist\nprint(fakedist.part.VALUE)\n"))
    assert c.stdout == "1\n", (c.detail, c.exception)
    assert c.distributions == (("FakeDist", "1.2.3"),)
    assert Capture.from_json(c.to_json()) == c


def test_setup_code_counts_and_the_list_is_sorted(runner):
    c = runner.run(Request("import fakedist\n1 / 0\n", setup=("import othermod",)))
    assert c.outcome == "raised"
    assert c.distributions == (("FakeDist", "1.2.3"), ("other-dist", "0.5"))


def test_a_snippet_of_the_standard_library_names_none(runner):
    c = runner.run(Request("import json, socket, email.message\nprint(json.dumps(1))\n"))
    assert c.stdout == "1\n"
    assert c.distributions == ()
    assert "distributions" not in c.to_dict()  # the default is left out of stored JSON


def test_an_import_the_snippet_makes_by_name_counts_too(runner):
    c = runner.run(Request("import importlib\nm = importlib.import_module('othermod')\n"))
    assert c.distributions == (("other-dist", "0.5"),)


def test_a_failed_import_names_nothing(runner):
    c = runner.run(Request("import not_installed_anywhere\n"))
    assert c.exception.type == "ModuleNotFoundError"
    assert c.distributions == ()


@pytest.mark.parametrize("mode", MODES)
def test_on_python_3_8(mode, tmp_path):
    """No importlib.metadata.packages_distributions there: the child reads the folders."""
    interp = _python_3_8()
    root = _fake_distributions(tmp_path / "site")
    with Runner(mode=mode, env={"PYTHONPATH": str(root)}) as r:
        c = r.run(Request("import fakedist, othermod, socket\n"), interp)
    assert c.python.version.startswith("3.8.")
    assert c.distributions == (("FakeDist", "1.2.3"), ("other-dist", "0.5"))


def test_the_mapping_agrees_with_importlib_metadata(runner):
    """Where packages_distributions exists (3.10+), the child's reading of the same folders
    gives the same distributions for every top-level name it maps."""
    code = (
        "import importlib.metadata as md, sys\n"
        "mapped = md.packages_distributions()\n"
        "print(sorted(set(mapped.get('fakedist', []) + mapped.get('othermod', []))))\n"
    )
    c = runner.run(Request(code))
    assert c.stdout == "['FakeDist', 'other-dist']\n"
