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
