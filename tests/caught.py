"""The exception a call raises, for tests that read a real exception object."""

from __future__ import annotations

import pytest


def raised(call) -> BaseException:
    """Call ``call`` and return what it raised; fail the test if it returned."""
    try:
        call()
    except BaseException as exc:  # the exception under test, whatever its kind
        return exc
    pytest.fail("the call did not raise")
