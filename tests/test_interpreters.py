"""Which interpreters a label names, and what the author is told when one cannot be used."""

from __future__ import annotations

import glob
import os
import sys

import pytest

from sphinx_layertrace.capture.interpreters import (
    MissingInterpreter,
    Registry,
    current,
    current_label,
    resolve_executable,
)

OLD = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.7.*/bin/python3")))


@pytest.mark.skipif(not OLD, reason="no CPython 3.7 under ~/.pyenv/versions")
def test_an_installed_but_too_old_python_is_named_as_such():
    for ask in (lambda: Registry("auto").get("3.7"), lambda: resolve_executable("3.7")):
        with pytest.raises(MissingInterpreter, match=r"Python 3\.7\.\d+ at .* is older than 3\.8"):
            ask()
    with pytest.raises(MissingInterpreter, match=r"is older than 3\.8"):
        Registry({"old": OLD[0]}).get("old")


def test_a_label_nobody_has_is_not_installed():
    with pytest.raises(MissingInterpreter, match=r"no installed CPython 9\.9 was found"):
        Registry("auto").get("9.9")
    with pytest.raises(MissingInterpreter, match=r"no interpreter is configured for label .9\.9."):
        Registry({}).get("9.9")


def test_a_label_configured_like_this_pythons_x_y_is_the_users_choice():
    """``{"3.11": "/usr/bin/python3.11"}`` on a 3.11 Sphinx runs 3.11 snippets there; a snippet
    without ``:python:`` still runs under the Python running Sphinx."""
    other = os.path.realpath(sys.executable)  # the venv's base interpreter: same X.Y, other path
    if other == current().executable:
        pytest.skip("this Python is not a venv's: no second executable of its X.Y at hand")
    registry = Registry({current_label(): other})
    assert registry.get(current_label()).executable == other
    assert registry.default() == current()
