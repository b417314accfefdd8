"""Where a frame or an exception name points to.

Source links go to the CPython tag of the interpreter that produced the capture, because line
numbers move between patch releases (``socket.py`` 851 in 3.11.7, 864 in 3.13.0). Pure: no
Sphinx, no processes.
"""

from __future__ import annotations

import re

from sphinx_layertrace.model import Frame, PythonInfo

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
