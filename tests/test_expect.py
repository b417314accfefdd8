"""What ``:expect:`` accepts and which exceptions meet it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sphinx_layertrace.capture.runner import Request, Runner
from sphinx_layertrace.meaning.drift import drift
from sphinx_layertrace.meaning.expect import (
    capture_meets,
    expectation_matches,
    expectations_met,
    parse_expect,
)
from sphinx_layertrace.model import Capture, ExceptionInfo, Platform


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
        (
            "requests.ConnectionError>ConnectionRefusedError( ECONNREFUSED )",
            ("requests.ConnectionError > ConnectionRefusedError(ECONNREFUSED)",),
        ),
        (
            "OSError(ECONNREFUSED), socket.gaierror(EAI_NONAME)",
            ("OSError(ECONNREFUSED)", "socket.gaierror(EAI_NONAME)"),
        ),
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
        ("OSError()", "must be a symbolic name"),
        ("OSError(111)", "must be a symbolic name"),
        ("OSError(econnrefused)", "must be a symbolic name"),
        ("requests.ConnectionError >", "empty link"),
        ("> OSError", "empty link"),
        ("nothing > OSError", "'nothing' cannot be part of a chain"),
        ("OSError(ECONNREFUSED", "is not an exception name"),
        ("OSError(A)(B)", "is not an exception name"),
    ],
)
def test_parse_expect_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=":expect:") as info:
        parse_expect(text)
    assert message in str(info.value)


# -- symbolic codes, read through each capture's platform ----------------------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "captures"


def fixture(name: str) -> Capture:
    return Capture.from_json((FIXTURES / f"seed-{name}.json").read_bytes())


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_a_symbolic_code_holds_on_every_platforms_capture(platform: str) -> None:
    """errno 111 (Linux), 61 (macOS) and WinError 10061 (Windows) are all ECONNREFUSED."""
    capture = fixture(platform)
    number = {"linux": 111, "darwin": 61, "win32": 10061}[platform]
    assert capture.exception is not None
    assert number in (capture.exception.errno, capture.exception.winerror)
    assert capture_meets(["ConnectionRefusedError(ECONNREFUSED)"], capture)
    assert capture_meets(["OSError(ECONNREFUSED)"], capture)
    assert not capture_meets(["ConnectionRefusedError(ETIMEDOUT)"], capture)
    assert not capture_meets(["TimeoutError(ECONNREFUSED)"], capture)


def test_a_number_is_read_on_the_captures_platform_not_this_one() -> None:
    """61 is ECONNREFUSED on macOS but ENODATA on Linux: a Linux errno 61 is no refusal."""
    darwin = fixture("darwin")
    assert darwin.exception is not None
    # (the name the child recorded from its own errno module is left out: it would decide)
    linux_61 = darwin.replace(
        platform=Platform(system="Linux", libc="glibc 2.36"),
        exception=dataclasses.replace(darwin.exception, errno_name=""),
    )
    assert capture_meets(["OSError(ECONNREFUSED)"], linux_61.replace(platform=darwin.platform))
    assert capture_meets(["OSError(ECONNREFUSED)"], darwin)
    assert not capture_meets(["OSError(ECONNREFUSED)"], linux_61)


def test_gaierror_codes_are_eai_names_per_platform() -> None:
    mac = ExceptionInfo(
        type="gaierror",
        module="socket",
        mro=("socket.gaierror", "builtins.OSError", "builtins.Exception"),
        errno=8,
        message="[Errno 8] nodename nor servname provided, or not known",
    )
    darwin = Platform(system="Darwin")
    assert expectation_matches("socket.gaierror(EAI_NONAME)", mac, "3.11.7", darwin)
    # on Linux, -2 is EAI_NONAME and 8 is something else
    assert not expectation_matches("socket.gaierror(EAI_NONAME)", mac, "3.11.7")


def test_an_ssl_reason_is_a_code() -> None:
    cert = ExceptionInfo(
        type="SSLCertVerificationError",
        module="ssl",
        mro=("ssl.SSLCertVerificationError", "ssl.SSLError", "builtins.OSError"),
        errno=1,
        message="[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed",
    )
    assert expectation_matches("ssl.SSLCertVerificationError(CERTIFICATE_VERIFY_FAILED)", cert)
    assert not expectation_matches("ssl.SSLError(WRONG_VERSION_NUMBER)", cert)


def test_a_timeout_without_errno_has_no_code() -> None:
    """``TimeoutError: timed out`` never had the kernel say ETIMEDOUT."""
    timed_out = ExceptionInfo(type="TimeoutError", module="builtins", message="timed out")
    assert expectation_matches("TimeoutError", timed_out)
    assert not expectation_matches("TimeoutError(ETIMEDOUT)", timed_out)


# -- chains, outermost first ----------------------------------------------------------------------

REFUSED_111 = dataclasses.replace(REFUSED, errno=111, strerror="Connection refused")
NEW_CONNECTION = exc(
    "urllib3.exceptions.NewConnectionError", "urllib3.exceptions.HTTPError", "builtins.Exception"
)
MAX_RETRY = exc(
    "urllib3.exceptions.MaxRetryError", "urllib3.exceptions.HTTPError", "builtins.Exception"
)
CHAIN = dataclasses.replace(
    REQUESTS,
    context=dataclasses.replace(
        MAX_RETRY, cause=dataclasses.replace(NEW_CONNECTION, cause=REFUSED_111)
    ),
    suppress_context=False,
)


@pytest.mark.parametrize(
    ("expected", "ok"),
    [
        ("requests.ConnectionError > ConnectionRefusedError(ECONNREFUSED)", True),
        ("requests.ConnectionError > ConnectionRefusedError", True),
        ("requests.ConnectionError > urllib3.exceptions.MaxRetryError > OSError", True),
        ("requests.ConnectionError > NewConnectionError > ConnectionRefusedError", True),
        # the order is outermost first
        ("ConnectionRefusedError > requests.ConnectionError", False),
        ("requests.ConnectionError > ConnectionRefusedError > NewConnectionError", False),
        ("requests.ConnectionError > ConnectionRefusedError(ETIMEDOUT)", False),
        ("requests.ConnectionError > socket.gaierror", False),
        # the first link is the raised exception itself, not one of its causes
        ("urllib3.exceptions.MaxRetryError > ConnectionRefusedError", False),
    ],
)
def test_chains(expected: str, ok: bool) -> None:
    assert expectation_matches(expected, CHAIN, "3.11.7") is ok


def test_a_real_requests_chain_to_a_closed_loopback_port() -> None:
    """The chain requests really raises, run in a child against a port nothing listens on."""
    code = (
        "import socket, requests\n"
        "probe = socket.socket()\n"
        "probe.bind(('127.0.0.1', 0))\n"
        "port = probe.getsockname()[1]\n"
        "probe.close()\n"
        "requests.get(f'http://127.0.0.1:{port}/', timeout=5)\n"
    )
    with Runner(mode="spawn", parallel=1) as runner:
        capture = runner.run(Request(code, style="script", timeout=30))
    assert capture.outcome == "raised", capture.detail
    assert capture.exception is not None
    assert capture.exception.qualified == "requests.exceptions.ConnectionError"
    assert capture_meets(
        ["requests.ConnectionError > ConnectionRefusedError(ECONNREFUSED)"], capture
    )
    assert (
        drift(["requests.ConnectionError > ConnectionRefusedError(ECONNREFUSED)"], capture) is None
    )
    drifted = drift(["ConnectionRefusedError(ETIMEDOUT)"], capture)
    assert drifted is not None
    assert "expected ConnectionRefusedError(ETIMEDOUT)" in drifted.sentence()
    assert not capture_meets(
        ["requests.ConnectionError > ConnectionRefusedError(ETIMEDOUT)"], capture
    )


def test_a_drifted_chain_is_described_as_a_chain() -> None:
    capture = Capture(
        code="x", outcome="raised", exception=CHAIN, platform=Platform(system="Linux")
    )
    drifted = drift(["requests.ConnectionError > ConnectionRefusedError(ETIMEDOUT)"], capture)
    assert drifted is not None
    assert drifted.short() == (
        "expected requests.ConnectionError > ConnectionRefusedError(ETIMEDOUT), got "
        "requests.exceptions.ConnectionError > urllib3.exceptions.MaxRetryError > "
        "urllib3.exceptions.NewConnectionError > ConnectionRefusedError (ECONNREFUSED)"
    )
