"""What ``:expect:`` accepts and which exceptions meet it."""

from __future__ import annotations

import pytest

from sphinx_layertrace.meaning.expect import expectation_matches, expectations_met, parse_expect
from sphinx_layertrace.model import ExceptionInfo


def exc(*mro: str) -> ExceptionInfo:
    module, _, name = mro[0].rpartition(".")
    return ExceptionInfo(type=name, module=module, mro=(*mro, "builtins.BaseException"))


REFUSED = exc(
    "builtins.ConnectionRefusedError",
    "builtins.ConnectionError",
    "builtins.OSError",
    "builtins.Exception",
)
GAIERROR = exc("socket.gaierror", "builtins.OSError", "builtins.Exception")
TIMEOUT = exc("builtins.TimeoutError", "builtins.OSError", "builtins.Exception")
SOCKET_TIMEOUT_39 = exc("socket.timeout", "builtins.OSError", "builtins.Exception")
ASYNCIO_TIMEOUT_310 = exc("asyncio.exceptions.TimeoutError", "builtins.Exception")
FUTURES_TIMEOUT_310 = exc("concurrent.futures._base.TimeoutError", "builtins.Exception")
URLLIB3_TIMEOUT = exc(
    "urllib3.exceptions.NewConnectionError",
    "urllib3.exceptions.ConnectTimeoutError",
    "urllib3.exceptions.TimeoutError",
    "urllib3.exceptions.HTTPError",
    "builtins.Exception",
)
REQUESTS = exc(
    "requests.exceptions.ConnectionError",
    "requests.exceptions.RequestException",
    "builtins.OSError",
    "builtins.Exception",
)


@pytest.mark.parametrize(
    ("expected", "info", "version", "ok"),
    [
        ("ConnectionRefusedError", REFUSED, "3.11.7", True),
        ("ConnectionError", REFUSED, "3.11.7", True),
        ("OSError", REFUSED, "3.11.7", True),
        ("builtins.OSError", REFUSED, "3.11.7", True),
        ("Exception", REFUSED, "3.11.7", True),
        ("TimeoutError", REFUSED, "3.11.7", False),
        ("IOError", REFUSED, "3.11.7", True),
        ("EnvironmentError", REFUSED, "3.11.7", True),
        ("socket.error", REFUSED, "3.11.7", True),
        ("select.error", REFUSED, "3.11.7", True),
        ("socket.gaierror", GAIERROR, "3.11.7", True),
        ("gaierror", GAIERROR, "3.11.7", True),
        ("socket.gaierror", REFUSED, "3.11.7", False),
        ("socket.herror", GAIERROR, "3.11.7", False),
        # socket.timeout became TimeoutError in 3.10
        ("socket.timeout", TIMEOUT, "3.10.13", True),
        ("socket.timeout", TIMEOUT, "3.9.18", False),
        ("socket.timeout", SOCKET_TIMEOUT_39, "3.9.18", True),
        ("TimeoutError", SOCKET_TIMEOUT_39, "3.9.18", False),
        # asyncio/concurrent.futures TimeoutError became the builtin in 3.11
        ("asyncio.TimeoutError", TIMEOUT, "3.11.7", True),
        ("asyncio.TimeoutError", TIMEOUT, "3.10.13", False),
        ("asyncio.TimeoutError", ASYNCIO_TIMEOUT_310, "3.10.13", True),
        ("asyncio.exceptions.TimeoutError", ASYNCIO_TIMEOUT_310, "3.10.13", True),
        ("concurrent.futures.TimeoutError", FUTURES_TIMEOUT_310, "3.10.13", True),
        ("concurrent.futures.TimeoutError", TIMEOUT, "3.12.1", True),
        ("asyncio.TimeoutError", TIMEOUT, "", True),  # version unknown: alias applies
        # a bare name matches any class of that name on the MRO; a dotted one only its own
        ("TimeoutError", URLLIB3_TIMEOUT, "3.11.7", True),
        ("builtins.TimeoutError", URLLIB3_TIMEOUT, "3.11.7", False),
        ("socket.timeout", URLLIB3_TIMEOUT, "3.11.7", False),
        ("urllib3.exceptions.TimeoutError", URLLIB3_TIMEOUT, "3.11.7", True),
        ("urllib3.TimeoutError", URLLIB3_TIMEOUT, "3.11.7", True),  # package re-export
        ("requests.ConnectionError", REQUESTS, "3.11.7", True),
        ("ConnectionRefusedError", REQUESTS, "3.11.7", False),
        ("nothing", REFUSED, "3.11.7", False),
        ("nothing", None, "3.11.7", True),
        ("OSError", None, "3.11.7", False),
    ],
)
def test_expectation_matches(
    expected: str, info: ExceptionInfo | None, version: str, ok: bool
) -> None:
    assert expectation_matches(expected, info, version) is ok


def test_expectation_without_mro_uses_type() -> None:
    info = ExceptionInfo(type="gaierror", module="socket")
    assert expectation_matches("socket.gaierror", info)
    assert not expectation_matches("OSError", info)


@pytest.mark.parametrize(
    ("expected", "info", "ok"),
    [
        ((), None, True),
        (("nothing", "OSError"), None, True),
        (("nothing", "OSError"), REFUSED, True),
        (("socket.gaierror", "TimeoutError"), REFUSED, False),
    ],
)
def test_expectations_met(expected: tuple[str, ...], info: ExceptionInfo | None, ok: bool) -> None:
    assert expectations_met(expected, info, "3.11.7") is ok


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("ConnectionRefusedError", ("ConnectionRefusedError",)),
        (" socket.gaierror , OSError ", ("socket.gaierror", "OSError")),
        ("OSError,\nTimeoutError,", ("OSError", "TimeoutError")),
        ("nothing", ("nothing",)),
    ],
)
def test_parse_expect(text: str, names: tuple[str, ...]) -> None:
    assert parse_expect(text) == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "needs exception names"),
        (" , ", "needs exception names"),
        ("Connection RefusedError", "'Connection RefusedError' is not an exception name"),
        ("socket.", "'socket.' is not an exception name"),
        ("1Error", "'1Error' is not an exception name"),
        ("OSError()", "'OSError()' is not an exception name"),
    ],
)
def test_parse_expect_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=":expect:") as info:
        parse_expect(text)
    assert message in str(info.value)
