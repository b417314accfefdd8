"""Shared fixtures: sphinx.testing roots under tests/roots, and a private capture cache per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ("sphinx.testing.fixtures",)

# Sphinx colours what it prints when CI=true (CI sets it) and the tests read that output as text:
# every build the tests start prints plain, in CI as on a developer's machine.
os.environ["NO_COLOR"] = "1"

# The property tests (tests/test_fuzz_*.py): ``ci`` keeps ``make test`` fast and repeatable (few
# examples, derandomized, no example database); ``fuzz`` is ``make fuzz``, minutes of random
# search whose failures Hypothesis keeps in .hypothesis/ to replay first next time.
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "fuzz", max_examples=4000, deadline=None, suppress_health_check=_SLOW_IS_FINE
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
