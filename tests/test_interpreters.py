"""Which interpreters a label names, and what the author is told when one cannot be used."""

from __future__ import annotations

import glob
import json
import os
import platform
import shlex
import subprocess
import sys

import pytest

from sphinx_layertrace.capture.interpreters import (
    WORKER,
    MissingInterpreter,
    Registry,
    current,
    current_label,
    probe,
    resolve_executable,
)

OLD = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.7.*/bin/python3")))


def _a_python_3_7(tmp_path) -> str:
    """An executable that answers the probe as a 3.7 does (this machine's own answer with the
    version changed), so the check runs everywhere; real 3.7s are checked where pyenv has one."""
    answer = subprocess.run(
        [sys.executable, WORKER, "info"], capture_output=True, check=True, text=True
    ).stdout
    info = json.loads(answer)
    info["python"]["version"] = "3.7.17"
    script = tmp_path / "python3.7"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(json.dumps(info))}\n")
    script.chmod(0o755)
    return str(script)


def test_an_installed_but_too_old_python_is_named_as_such(tmp_path):
    if OLD:
        for ask in (lambda: Registry("auto").get("3.7"), lambda: resolve_executable("3.7")):
            with pytest.raises(MissingInterpreter, match=r"Python 3\.7\.\d+ at .* older than 3\.8"):
                ask()
    with pytest.raises(MissingInterpreter, match=r"Python 3\.7\.17 at .* is older than 3\.8"):
        Registry({"old": _a_python_3_7(tmp_path)}).get("old")


def test_a_label_nobody_has_is_not_installed():
    with pytest.raises(MissingInterpreter, match=r"no installed CPython 9\.9 was found"):
        Registry("auto").get("9.9")
    with pytest.raises(MissingInterpreter, match=r"no interpreter is configured for label .9\.9."):
        Registry({}).get("9.9")


def test_a_label_configured_like_this_pythons_x_y_is_the_users_choice(tmp_path):
    """``{"3.11": "/usr/bin/python3.11"}`` on a 3.11 Sphinx runs 3.11 snippets there; a snippet
    without ``:python:`` still runs under the Python running Sphinx."""
    other = str(tmp_path / "python3")  # the same X.Y at another path, as a user's install is
    os.symlink(os.path.realpath(sys.executable), other)
    assert other != current().executable
    registry = Registry({current_label(): other})
    assert registry.get(current_label()).executable == other
    assert registry.default() == current()


# -- an interpreter replaced on disk is seen (sphinx-autobuild keeps one process for hours) ----


def _fake_python(path, version: str, padding: str = "") -> None:
    """A real executable that answers the worker's ``info`` as a Python ``version`` would."""
    info = (
        f'{{"python": {{"implementation": "CPython", "version": "{version}"}}, '
        '"platform": {"system": "Linux", "release": "", "machine": "x86_64", "libc": ""}}'
    )
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(f"#!/bin/sh\n# {padding}\necho '{info}'\n")
    fresh.chmod(0o755)
    os.replace(fresh, path)  # a new file, as an installer writes one


@pytest.mark.skipif(os.name != "posix", reason="the stand-in interpreter is a shell script")
def test_an_interpreter_upgraded_in_place_is_probed_again(tmp_path):
    python = tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.symlink_to(os.path.realpath(sys.executable))
    real = probe(str(python))
    assert real.version == platform.python_version()
    # the same path now leads to another interpreter: a new symlink target, then a new file
    python.unlink()
    _fake_python(tmp_path / "other-python", "3.99.1")
    python.symlink_to(tmp_path / "other-python")
    assert probe(str(python)).version == "3.99.1"
    assert Registry({"x": str(python)}).get("x").version == "3.99.1"
    python.unlink()
    _fake_python(python, "3.99.2")
    assert probe(str(python)).version == "3.99.2"
    assert resolve_executable(str(python)).version == "3.99.2"


@pytest.mark.skipif(os.name != "posix", reason="the stand-in interpreter is a shell script")
def test_a_new_build_of_the_same_version_is_another_interpreter(tmp_path):
    python = tmp_path / "python3"
    _fake_python(python, "3.99.1")
    before = probe(str(python))
    _fake_python(python, "3.99.1", padding="rebuilt with other flags")
    after = probe(str(python))
    assert before.version == after.version
    assert before.identity != after.identity  # so its captures are keyed apart
