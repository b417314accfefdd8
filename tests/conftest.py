"""Shared fixtures: sphinx.testing roots under tests/roots, and a private capture cache per test."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("sphinx.testing.fixtures",)

ROOTS = Path(__file__).parent / "roots"


@pytest.fixture(scope="session")
def rootdir() -> Path:
    return ROOTS


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every Sphinx build in a test gets its own cache, so tests never serve each other."""
    monkeypatch.setenv("LAYERTRACE_TEST_CACHE", str(tmp_path / "cache"))


#: The subset the compatibility matrix (noxfile.py) runs on every Sphinx x Python cell: every
#: builder, the directive's pages (rST and MyST), and the builders that must not execute.
MATRIX_MODULES = frozenset(
    {"test_builders.py", "test_directive.py", "test_cases.py", "test_quiet_builders.py"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in MATRIX_MODULES:
            item.add_marker(pytest.mark.matrix)
