"""Where a frame or an exception name points to, and whether a capture met ``:expect:``.

Source links go to the CPython tag of the interpreter that produced the capture, because line
numbers move between patch releases (``socket.py`` 851 in 3.11.7, 864 in 3.13.0). Expectation
matching works on the recorded MRO, so subclasses match exactly as an ``except`` clause would,
without importing anything from the snippet's interpreter. Pure: no Sphinx, no processes.
"""

from __future__ import annotations

import re

from sphinx_layertrace.model import Capture, ExceptionInfo, Frame, PythonInfo

CPYTHON_SOURCE_URL = "https://github.com/python/cpython/blob/v{version}/Lib/{path}#L{lineno}"
PYTHON_DOCS_URL = "https://docs.python.org/{version}/library/{page}.html#{anchor}"

# A released tag: 3.11.7, 3.13.0rc1, 3.12.0b4, 3.14.0a1. Anything else (3.14.0a1+ dev builds,
# vendor suffixes) has no tag to link to.
_TAGGED_VERSION = re.compile(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?")


def source_url(frame: Frame, python: PythonInfo) -> str | None:
    """The exact CPython source line of a stdlib frame, or None when no tag can be trusted."""
    if python.implementation != "CPython" or not _TAGGED_VERSION.fullmatch(python.version):
        return None
    if frame.origin != "stdlib" or frame.lineno is None:
        return None
    path = frame.stdlib_path.replace("\\", "/")
    if not path and frame.filename.startswith("<frozen ") and frame.filename.endswith(">"):
        path = frame.filename[len("<frozen ") : -1].replace(".", "/") + ".py"
    if not path or path.startswith(("/", "../")) or "site-packages/" in path:
        return None
    return CPYTHON_SOURCE_URL.format(version=python.version, path=path, lineno=frame.lineno)


# -- documentation anchors ----------------------------------------------------------------------


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Built-in exceptions are documented without a module prefix: exceptions.html#OSError.
_BUILTIN_EXCEPTIONS = _names(
    """
    BaseException BaseExceptionGroup ExceptionGroup Exception ArithmeticError BufferError
    LookupError AssertionError AttributeError EOFError FloatingPointError GeneratorExit
    ImportError ModuleNotFoundError IndexError KeyError KeyboardInterrupt MemoryError NameError
    NotImplementedError OSError OverflowError RecursionError ReferenceError RuntimeError
    StopIteration StopAsyncIteration SyntaxError IndentationError TabError SystemError SystemExit
    TypeError UnboundLocalError UnicodeError UnicodeEncodeError UnicodeDecodeError
    UnicodeTranslateError ValueError ZeroDivisionError EnvironmentError IOError WindowsError
    BlockingIOError ChildProcessError ConnectionError BrokenPipeError ConnectionAbortedError
    ConnectionRefusedError ConnectionResetError FileExistsError FileNotFoundError
    InterruptedError IsADirectoryError NotADirectoryError PermissionError ProcessLookupError
    TimeoutError PythonFinalizationError EncodingWarning Warning UserWarning DeprecationWarning
    PendingDeprecationWarning SyntaxWarning RuntimeWarning FutureWarning ImportWarning
    UnicodeWarning BytesWarning ResourceWarning
    """
)

# Documented module -> (docs page, classes documented there as ``module.Class``).
_MODULE_EXCEPTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "socket": ("socket", frozenset({"gaierror", "herror", "timeout"})),
    "ssl": (
        "ssl",
        frozenset(
            {
                "SSLError",
                "SSLZeroReturnError",
                "SSLWantReadError",
                "SSLWantWriteError",
                "SSLSyscallError",
                "SSLEOFError",
                "SSLCertVerificationError",
                "CertificateError",
            }
        ),
    ),
    "urllib.error": ("urllib.error", frozenset({"URLError", "HTTPError", "ContentTooShortError"})),
    "http.client": (
        "http.client",
        _names(
            """HTTPException NotConnected InvalidURL UnknownProtocol UnknownTransferEncoding
            UnimplementedFileMode IncompleteRead ImproperConnectionState CannotSendRequest
            CannotSendHeader ResponseNotReady BadStatusLine LineTooLong RemoteDisconnected"""
        ),
    ),
    "smtplib": (
        "smtplib",
        _names(
            """SMTPException SMTPServerDisconnected SMTPResponseException SMTPSenderRefused
            SMTPRecipientsRefused SMTPDataError SMTPConnectError SMTPHeloError
            SMTPNotSupportedError SMTPAuthenticationError"""
        ),
    ),
    "asyncio": (
        "asyncio-exceptions",
        _names(
            """TimeoutError CancelledError InvalidStateError SendfileNotAvailableError
            IncompleteReadError LimitOverrunError"""
        ),
    ),
}

# Where a class really lives -> the name its docs use.
_DOCUMENTED_AS = {"asyncio.exceptions": "asyncio"}


def python_docs_url(qualified_name: str, version: str = "3") -> str | None:
    """Docs anchor for ``ConnectionRefusedError``, ``socket.gaierror``, ``ssl.SSLError``, ...

    ``version`` is the docs version segment (``3`` or ``3.11``). Unknown names give None rather
    than a guessed anchor that would 404.
    """
    module, _, name = qualified_name.rpartition(".")
    if module in ("", "builtins"):
        if name in _BUILTIN_EXCEPTIONS:
            return PYTHON_DOCS_URL.format(version=version, page="exceptions", anchor=name)
        return None
    module = _DOCUMENTED_AS.get(module, module)
    if (module, name) in (("socket", "error"), ("select", "error")):
        return python_docs_url("OSError", version)
    entry = _MODULE_EXCEPTIONS.get(module)
    if entry is None or name not in entry[1]:
        return None
    return PYTHON_DOCS_URL.format(version=version, page=entry[0], anchor=f"{module}.{name}")


# -- :expect: ----------------------------------------------------------------------------------

NOTHING = "nothing"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")

# Old or alternative spellings -> (the class they are now, first Python where that holds).
# Before that version the old class was separate and is matched by its own name.
_ALIASES: dict[str, tuple[str, tuple[int, int]]] = {
    "IOError": ("builtins.OSError", (3, 3)),
    "EnvironmentError": ("builtins.OSError", (3, 3)),
    "WindowsError": ("builtins.OSError", (3, 3)),
    "socket.error": ("builtins.OSError", (3, 3)),
    "select.error": ("builtins.OSError", (3, 3)),
    "socket.timeout": ("builtins.TimeoutError", (3, 10)),
    "asyncio.TimeoutError": ("builtins.TimeoutError", (3, 11)),
    "asyncio.exceptions.TimeoutError": ("builtins.TimeoutError", (3, 11)),
    "concurrent.futures.TimeoutError": ("builtins.TimeoutError", (3, 11)),
    "concurrent.futures._base.TimeoutError": ("builtins.TimeoutError", (3, 11)),
}


def parse_expect(text: str) -> tuple[str, ...]:
    """Split ``:expect:`` into names; ``nothing`` means a normal return is expected."""
    names = tuple(part.strip() for part in text.replace("\n", ",").split(","))
    names = tuple(name for name in names if name)
    if not names:
        raise ValueError(":expect: needs exception names (such as OSError) or 'nothing'")
    for name in names:
        if not _NAME.fullmatch(name):
            raise ValueError(
                f":expect: {name!r} is not an exception name "
                "(write names like ConnectionRefusedError or socket.gaierror, comma-separated)"
            )
    return names


def expectation_matches(expected: str, exc: ExceptionInfo | None, python_version: str = "") -> bool:
    """Would ``except <expected>`` catch ``exc``? ``None`` is a normal return.

    ``python_version`` (the capturing interpreter's) makes aliases exact: ``socket.timeout`` is
    ``TimeoutError`` only from 3.10 on. Without it, aliases are applied on every version.
    """
    if expected == NOTHING:
        return exc is None
    if exc is None:
        return False
    mro = exc.mro or (f"{exc.module or 'builtins'}.{exc.type}",)
    candidates = [expected]
    alias = _ALIASES.get(expected)
    if alias is not None and _at_least(python_version, alias[1]):
        candidates.append(alias[0])
    return any(_mro_has(candidate, mro) for candidate in candidates)


def expectations_met(
    expected: tuple[str, ...], exc: ExceptionInfo | None, python_version: str = ""
) -> bool:
    """True when any of the names of one ``:expect:`` option matches; empty means no check."""
    return not expected or any(expectation_matches(e, exc, python_version) for e in expected)


def _mro_has(expected: str, mro: tuple[str, ...]) -> bool:
    module, _, name = expected.rpartition(".")
    for entry in mro:
        if not module:
            # A bare name is a builtin or any class of that name along the MRO.
            if entry.rpartition(".")[2] == name:
                return True
        elif entry == expected or (entry.startswith(module + ".") and entry.endswith("." + name)):
            # The expected module may be a package re-exporting the class
            # (asyncio.TimeoutError is asyncio.exceptions.TimeoutError).
            return True
    return False


def _at_least(version: str, minimum: tuple[int, int]) -> bool:
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return True
    return (int(match.group(1)), int(match.group(2))) >= minimum


def capture_meets(expected: tuple[str, ...] | list[str], capture: Capture) -> bool:
    """Did this run do what ``:expect:`` says? A timeout or crash never does."""
    if not expected:
        return True
    if capture.outcome not in ("raised", "returned"):
        return False
    exc = capture.exception if capture.outcome == "raised" else None
    return expectations_met(tuple(expected), exc, capture.python.version)
