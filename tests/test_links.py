"""CPython source links, docs anchors and :expect: matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinx_layertrace.meaning.links import (
    expectation_matches,
    expectations_met,
    parse_expect,
    python_docs_url,
    source_url,
)
from sphinx_layertrace.model import Capture, ExceptionInfo, Frame, PythonInfo

FIXTURES = Path(__file__).parent / "fixtures" / "captures"
CPY = "https://github.com/python/cpython/blob/"
DOCS = "https://docs.python.org/3/library/"


def stdlib_frame(path: str = "socket.py", lineno: int | None = 851, **kw: object) -> Frame:
    return Frame(
        filename=kw.pop("filename", f"<stdlib>/{path}"),
        lineno=lineno,
        name="f",
        origin=kw.pop("origin", "stdlib"),
        stdlib_path=path,
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frame", "python", "url"),
    [
        (stdlib_frame(), PythonInfo(version="3.11.7"), CPY + "v3.11.7/Lib/socket.py#L851"),
        (
            stdlib_frame("asyncio/base_events.py", 1085),
            PythonInfo(version="3.13.0rc1"),
            CPY + "v3.13.0rc1/Lib/asyncio/base_events.py#L1085",
        ),
        (
            stdlib_frame("importlib/_bootstrap.py", 241, filename="<frozen importlib._bootstrap>"),
            PythonInfo(version="3.12.0b4"),
            CPY + "v3.12.0b4/Lib/importlib/_bootstrap.py#L241",
        ),
        (
            Frame("<frozen os>", 225, "f", origin="stdlib"),
            PythonInfo(version="3.11.7"),
            CPY + "v3.11.7/Lib/os.py#L225",
        ),
        (
            stdlib_frame("http\\client.py", 10, filename="<stdlib>\\http\\client.py"),
            PythonInfo(version="3.11.7"),
            CPY + "v3.11.7/Lib/http/client.py#L10",
        ),
        # no trustworthy tag or not CPython's own file
        (stdlib_frame(), PythonInfo(version="3.14.0a1+"), None),
        (stdlib_frame(), PythonInfo(version=""), None),
        (stdlib_frame(), PythonInfo(implementation="PyPy", version="3.9.16"), None),
        (stdlib_frame(origin="site"), PythonInfo(version="3.11.7"), None),
        (stdlib_frame(origin="user"), PythonInfo(version="3.11.7"), None),
        (stdlib_frame(lineno=None), PythonInfo(version="3.11.7"), None),
        (stdlib_frame(""), PythonInfo(version="3.11.7"), None),
    ],
)
def test_source_url(frame: Frame, python: PythonInfo, url: str | None) -> None:
    assert source_url(frame, python) == url


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_seed_links_every_stdlib_frame(platform: str) -> None:
    capture = Capture.from_json((FIXTURES / f"seed-{platform}.json").read_text("utf-8"))
    assert capture.exception is not None
    urls = [source_url(f, capture.python) for f in capture.exception.frames]
    assert urls == [
        None,
        CPY + "v3.11.7/Lib/smtplib.py#L255",
        CPY + "v3.11.7/Lib/smtplib.py#L341",
        CPY + "v3.11.7/Lib/smtplib.py#L312",
        CPY + "v3.11.7/Lib/socket.py#L851",
        CPY + "v3.11.7/Lib/socket.py#L836",
    ]


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("ConnectionRefusedError", DOCS + "exceptions.html#ConnectionRefusedError"),
        ("builtins.OSError", DOCS + "exceptions.html#OSError"),
        ("TimeoutError", DOCS + "exceptions.html#TimeoutError"),
        ("socket.gaierror", DOCS + "socket.html#socket.gaierror"),
        ("socket.herror", DOCS + "socket.html#socket.herror"),
        ("socket.timeout", DOCS + "socket.html#socket.timeout"),
        ("socket.error", DOCS + "exceptions.html#OSError"),
        ("ssl.SSLError", DOCS + "ssl.html#ssl.SSLError"),
        ("ssl.SSLCertVerificationError", DOCS + "ssl.html#ssl.SSLCertVerificationError"),
        ("urllib.error.URLError", DOCS + "urllib.error.html#urllib.error.URLError"),
        ("urllib.error.HTTPError", DOCS + "urllib.error.html#urllib.error.HTTPError"),
        (
            "http.client.RemoteDisconnected",
            DOCS + "http.client.html#http.client.RemoteDisconnected",
        ),
        ("smtplib.SMTPConnectError", DOCS + "smtplib.html#smtplib.SMTPConnectError"),
        ("asyncio.exceptions.TimeoutError", DOCS + "asyncio-exceptions.html#asyncio.TimeoutError"),
        ("requests.exceptions.ConnectionError", None),
        ("NoSuchError", None),
        ("socket.nosuch", None),
    ],
)
def test_python_docs_url(name: str, url: str | None) -> None:
    assert python_docs_url(name) == url


def test_python_docs_url_version() -> None:
    assert python_docs_url("OSError", "3.11") == (
        "https://docs.python.org/3.11/library/exceptions.html#OSError"
    )


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
