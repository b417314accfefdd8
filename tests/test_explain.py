"""Error codes explained per platform, and the OS call behind the final OSError."""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinx_layertrace.meaning.carrier import failing_oserror
from sphinx_layertrace.meaning.codes import DEFAULT_ERRNO_URL, code_kind, explain, family
from sphinx_layertrace.meaning.kernel import kernel_call
from sphinx_layertrace.model import Capture, ExceptionInfo, Frame, Platform, Step, SyscallEvent

FIXTURES = Path(__file__).parent / "fixtures" / "captures"
LINUX = Platform(system="Linux", libc="glibc 2.36")
MACOS = Platform(system="Darwin", release="23.4.0")
WINDOWS = Platform(system="Windows", release="10")
ERRNO_DOCS = "https://docs.python.org/3/library/errno.html#errno."
WINSOCK = "https://learn.microsoft.com/en-us/windows/win32/winsock/windows-sockets-error-codes-2#"
WSA_REFUSED = "No connection could be made because the target machine actively refused it"
# Windows' refused connect: the WinError row first (it is what the message shows), then the errno
WSA_REFUSED_ROWS = [
    ("winerror", 10061, "WSAECONNREFUSED", WSA_REFUSED, WINSOCK + "WSAECONNREFUSED"),
    ("errno", 10061, "ECONNREFUSED", WSA_REFUSED, ERRNO_DOCS + "ECONNREFUSED"),
]
GAIERROR_DOCS = "https://docs.python.org/3/library/socket.html#socket.gaierror"
OSERROR = ("builtins.OSError", "builtins.Exception", "builtins.BaseException", "builtins.object")


def oserror(type_: str = "ConnectionRefusedError", module: str = "builtins", **kw: object):
    mro = kw.pop("mro", (f"{module}.{type_}", *OSERROR))
    return ExceptionInfo(type=type_, module=module, mro=mro, **kw)  # type: ignore[arg-type]


def gaierror(
    number: int, strerror: str, errno_name: str = "", frames: tuple[Frame, ...] = ()
) -> ExceptionInfo:
    return oserror(
        "gaierror", "socket", errno=number, strerror=strerror, errno_name=errno_name, frames=frames
    )


def load(name: str) -> Capture:
    return Capture.from_json((FIXTURES / name).read_text("utf-8"))


@pytest.mark.parametrize(
    ("platform", "info", "expected"),
    [
        # Linux asm-generic numbers
        (
            LINUX,
            oserror(errno=111, strerror="Connection refused"),
            [("errno", 111, "ECONNREFUSED", "Connection refused", ERRNO_DOCS + "ECONNREFUSED")],
        ),
        (
            LINUX,
            oserror("OSError", errno=113),
            [("errno", 113, "EHOSTUNREACH", "No route to host", ERRNO_DOCS + "EHOSTUNREACH")],
        ),
        (
            LINUX,
            oserror("OSError", errno=98, strerror="Address already in use"),
            [("errno", 98, "EADDRINUSE", "Address already in use", ERRNO_DOCS + "EADDRINUSE")],
        ),
        # the child's name wins over the table (other architectures number differently)
        (
            LINUX,
            oserror(errno=146, errno_name="ECONNREFUSED", strerror="Connection refused"),
            [("errno", 146, "ECONNREFUSED", "Connection refused", ERRNO_DOCS + "ECONNREFUSED")],
        ),
        # asyncio rewrites strerror; the explanation still says what the code means
        (
            LINUX,
            oserror(errno=111, strerror="Connect call failed ('127.0.0.1', 9)"),
            [("errno", 111, "ECONNREFUSED", "Connection refused", ERRNO_DOCS + "ECONNREFUSED")],
        ),
        # macOS / BSD numbers: 61 is ECONNREFUSED there, not ENODATA
        (
            MACOS,
            oserror(errno=61, strerror="Connection refused"),
            [("errno", 61, "ECONNREFUSED", "Connection refused", ERRNO_DOCS + "ECONNREFUSED")],
        ),
        (
            MACOS,
            oserror("TimeoutError", errno=60),
            [("errno", 60, "ETIMEDOUT", "Operation timed out", ERRNO_DOCS + "ETIMEDOUT")],
        ),
        (
            MACOS,
            oserror("OSError", errno=49),
            [
                (
                    "errno",
                    49,
                    "EADDRNOTAVAIL",
                    "Can't assign requested address",
                    ERRNO_DOCS + "EADDRNOTAVAIL",
                )
            ],
        ),
        (
            LINUX,
            oserror("OSError", errno=61),
            [("errno", 61, "ENODATA", "No data available", ERRNO_DOCS + "ENODATA")],
        ),
        # Windows: WinError first (it is what the message shows), then the errno name
        (
            WINDOWS,
            oserror(
                errno=10061,
                winerror=10061,
                errno_name="WSAECONNREFUSED",
                strerror="No connection could be made because the target machine "
                "actively refused it",
            ),
            WSA_REFUSED_ROWS,
        ),
        (
            WINDOWS,
            oserror("ConnectionResetError", errno=10054, winerror=10054),
            [
                (
                    "winerror",
                    10054,
                    "WSAECONNRESET",
                    "An existing connection was forcibly closed by the remote host",
                    WINSOCK + "WSAECONNRESET",
                ),
                (
                    "errno",
                    10054,
                    "ECONNRESET",
                    "An existing connection was forcibly closed by the remote host",
                    ERRNO_DOCS + "ECONNRESET",
                ),
            ],
        ),
        (
            WINDOWS,
            oserror("FileNotFoundError", errno=2, winerror=2),
            [
                (
                    "winerror",
                    2,
                    "ERROR_FILE_NOT_FOUND",
                    "The system cannot find the file specified",
                    "https://learn.microsoft.com/en-us/windows/win32/debug/"
                    "system-error-codes--0-499-#ERROR_FILE_NOT_FOUND",
                ),
                ("errno", 2, "ENOENT", "No such file or directory", ERRNO_DOCS + "ENOENT"),
            ],
        ),
        # a winerror on a capture without platform info is still Windows
        (
            Platform(),
            oserror(errno=10061, winerror=10061),
            WSA_REFUSED_ROWS,
        ),
        # getaddrinfo: EAI codes differ per platform; no per-constant anchor exists
        (
            LINUX,
            gaierror(-2, "Name or service not known", "EAI_NONAME"),
            [("eai", -2, "EAI_NONAME", "Name or service not known", GAIERROR_DOCS)],
        ),
        (
            LINUX,
            gaierror(-3, "Temporary failure in name resolution"),
            [("eai", -3, "EAI_AGAIN", "Temporary failure in name resolution", GAIERROR_DOCS)],
        ),
        (
            MACOS,
            gaierror(8, "nodename nor servname provided, or not known"),
            [
                (
                    "eai",
                    8,
                    "EAI_NONAME",
                    "nodename nor servname provided, or not known",
                    GAIERROR_DOCS,
                )
            ],
        ),
        (
            WINDOWS,
            gaierror(11001, "getaddrinfo failed"),
            [("eai", 11001, "EAI_NONAME", "No such host is known", GAIERROR_DOCS)],
        ),
        # herror is h_errno: 1 is HOST_NOT_FOUND, never EPERM
        (
            LINUX,
            oserror("herror", "socket", errno=1, strerror="Unknown host"),
            [
                (
                    "herror",
                    1,
                    "HOST_NOT_FOUND",
                    "Unknown host",
                    "https://docs.python.org/3/library/socket.html#socket.herror",
                )
            ],
        ),
        # ssl: errno is SSL_ERROR_*, never an errno
        (
            LINUX,
            oserror(
                "SSLError",
                "ssl",
                errno=1,
                strerror="[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
            ),
            [
                (
                    "ssl",
                    1,
                    "SSL_ERROR_SSL",
                    "A failure in the SSL library occurred, usually a protocol error",
                    "https://docs.openssl.org/3.0/man3/SSL_get_error/",
                )
            ],
        ),
        (
            LINUX,
            oserror(
                "SSLCertVerificationError",
                "ssl",
                errno=1,
                mro=(
                    "ssl.SSLCertVerificationError",
                    "ssl.SSLError",
                    "builtins.OSError",
                    "builtins.ValueError",
                ),
            ),
            [
                (
                    "ssl",
                    1,
                    "SSL_ERROR_SSL",
                    "A failure in the SSL library occurred, usually a protocol error",
                    "https://docs.openssl.org/3.0/man3/SSL_get_error/",
                )
            ],
        ),
        # a Python-level timeout carries no errno: nothing to explain
        (LINUX, oserror("TimeoutError", message="timed out"), []),
        (LINUX, ExceptionInfo(type="ValueError", module="builtins"), []),
        (LINUX, oserror("ConnectionError", "requests.exceptions"), []),
    ],
)
def test_explain(platform: Platform, info: ExceptionInfo, expected: list[tuple]) -> None:
    got = [(e.kind, e.number, e.name, e.description, e.url) for e in explain(info, platform)]
    assert got == expected


def test_errno_url_template() -> None:
    (item,) = explain(oserror(errno=111), LINUX, errno_url="https://x.test/{name}/{number}")
    assert (item.url, item.name) == ("https://x.test/ECONNREFUSED/111", "ECONNREFUSED")
    assert DEFAULT_ERRNO_URL.format(name="EPIPE") == ERRNO_DOCS + "EPIPE"


@pytest.mark.parametrize(
    ("system", "fam"),
    [
        ("Linux", "linux"),
        ("Darwin", "bsd"),
        ("FreeBSD", "bsd"),
        ("Windows", "windows"),
        ("", "linux"),
    ],
)
def test_family(system: str, fam: str) -> None:
    assert family(Platform(system=system)) == fam


def test_code_kind_follows_subclasses() -> None:
    sub = oserror("Mine", "pkg", errno=1, mro=("pkg.Mine", "socket.herror", *OSERROR))
    assert code_kind(sub) == "herror"
    assert code_kind(oserror("TimeoutError")) is None


# -- the os row ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "seed-linux.json",
            (
                "connect(('127.0.0.1', 464))",
                "connect(2)",
                "https://man7.org/linux/man-pages/man2/connect.2.html",
                "ECONNREFUSED (111) Connection refused",
                "syscall",
            ),
        ),
        (
            "seed-darwin.json",
            (
                "connect(('127.0.0.1', 464))",
                "connect(2)",
                "https://man.freebsd.org/cgi/man.cgi?query=connect&sektion=2",
                "ECONNREFUSED (61) Connection refused",
                "syscall",
            ),
        ),
        (
            "seed-win32.json",
            (
                "connect(('127.0.0.1', 464))",
                "connect (WinSock)",
                "https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-connect",
                "WSAECONNREFUSED (10061) No connection could be made because the target machine "
                "actively refused it",
                "winsock",
            ),
        ),
    ],
)
def test_kernel_call_for_seed(fixture: str, expected: tuple[str, ...]) -> None:
    got = kernel_call(load(fixture))
    assert got is not None
    assert got.call.startswith("connect(")
    assert (got.call, got.manual, got.url, got.result, got.kind) == expected


def frame(module: str, name: str, line: str, origin: str = "stdlib") -> Frame:
    return Frame(
        filename=f"<stdlib>/{module}.py",
        lineno=1,
        name=name,
        line=line,
        module=module,
        origin=origin,
    )  # type: ignore[arg-type]


USER = Frame("<stdin>", 1, "<module>", origin="user", module="__main__")
GETADDRINFO = frame(
    "socket",
    "getaddrinfo",
    "for res in _socket.getaddrinfo(host, port, family, type, proto, flags):",
)


def capture(
    info: ExceptionInfo, *events: tuple[str, str], platform: Platform = LINUX, **kw: object
) -> Capture:
    return Capture(
        code=kw.pop("code", "x"),
        outcome="raised",
        platform=platform,
        exception=info,
        syscalls=tuple(SyscallEvent(e, a) for e, a in events),
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cap", "expected"),
    [
        # getaddrinfo is libc, not a syscall
        (
            capture(
                gaierror(-2, "Name or service not known", "EAI_NONAME", (USER, GETADDRINFO)),
                ("socket.getaddrinfo", "'no-such-host.invalid', 80"),
            ),
            (
                "getaddrinfo",
                "getaddrinfo('no-such-host.invalid', 80)",
                "getaddrinfo(3)",
                "https://man7.org/linux/man-pages/man3/getaddrinfo.3.html",
                "EAI_NONAME (-2) Name or service not known",
                "libc",
            ),
        ),
        (
            capture(
                gaierror(8, "nodename nor servname provided, or not known"),
                ("socket.getaddrinfo", "'no-such-host.invalid', 80"),
                platform=MACOS,
            ),
            (
                "getaddrinfo",
                "getaddrinfo('no-such-host.invalid', 80)",
                "getaddrinfo(3)",
                "https://man.freebsd.org/cgi/man.cgi?query=getaddrinfo&sektion=3",
                "EAI_NONAME (8) nodename nor servname provided, or not known",
                "libc",
            ),
        ),
        (
            capture(gaierror(11001, "getaddrinfo failed"), platform=WINDOWS),
            (
                "getaddrinfo",
                "getaddrinfo(…)",
                "getaddrinfo (WinSock)",
                "https://learn.microsoft.com/en-us/windows/win32/api/ws2tcpip/nf-ws2tcpip-getaddrinfo",
                "EAI_NONAME (11001) No such host is known",
                "winsock",
            ),
        ),
        # bind typed at the prompt: the REPL prints no source line, the step has it
        (
            Capture(
                code="s.bind(('192.0.2.1', 0))\n",
                outcome="raised",
                platform=LINUX,
                steps=(Step("s.bind(('192.0.2.1', 0))\n", raised=True),),
                exception=oserror("OSError", errno=99, frames=(USER,)),
                syscalls=(SyscallEvent("socket.bind", "('192.0.2.1', 0)"),),
            ),
            (
                "bind",
                "bind(('192.0.2.1', 0))",
                "bind(2)",
                "https://man7.org/linux/man-pages/man2/bind.2.html",
                "EADDRNOTAVAIL (99) Cannot assign requested address",
                "syscall",
            ),
        ),
        # asyncio: the failing frame only says raise; its function names the call
        (
            capture(
                oserror(
                    errno=111,
                    strerror="Connect call failed ('127.0.0.1', 9)",
                    frames=(
                        USER,
                        frame(
                            "asyncio.selector_events", "_sock_connect_cb", "raise OSError(err, msg)"
                        ),
                    ),
                ),
                ("socket.connect", "('127.0.0.1', 9)"),
            ),
            (
                "connect",
                "connect(('127.0.0.1', 9))",
                "connect(2)",
                "https://man7.org/linux/man-pages/man2/connect.2.html",
                "ECONNREFUSED (111) Connection refused",
                "syscall",
            ),
        ),
        # recv/send have no audit event
        (
            capture(
                oserror(
                    "ConnectionResetError",
                    errno=104,
                    frames=(USER, frame("socket", "readinto", "return self._sock.recv_into(b)")),
                ),
                ("socket.connect", "('127.0.0.1', 8080)"),
            ),
            (
                "recv",
                "recv(…)",
                "recv(2)",
                "https://man7.org/linux/man-pages/man2/recv.2.html",
                "ECONNRESET (104) Connection reset by peer",
                "syscall",
            ),
        ),
        (
            capture(
                oserror(
                    "BrokenPipeError",
                    errno=32,
                    frames=(USER, frame("socket", "f", "sock.sendall(data)")),
                ),
                platform=MACOS,
            ),
            (
                "send",
                "send(…)",
                "send(2)",
                "https://man.freebsd.org/cgi/man.cgi?query=send&sektion=2",
                "EPIPE (32) Broken pipe",
                "syscall",
            ),
        ),
        # TLS handshake: OpenSSL, not the kernel
        (
            capture(
                oserror(
                    "SSLError",
                    "ssl",
                    errno=1,
                    mro=("ssl.SSLError", *OSERROR),
                    frames=(USER, frame("ssl", "do_handshake", "self._sslobj.do_handshake()")),
                ),
                ("socket.connect", "('127.0.0.1', 8443)"),
            ),
            (
                "SSL_do_handshake",
                "SSL_do_handshake(…)",
                "SSL_do_handshake(3)",
                "https://docs.openssl.org/3.0/man3/SSL_do_handshake/",
                "SSL_ERROR_SSL (1) A failure in the SSL library occurred, usually a protocol error",
                "openssl",
            ),
        ),
        # herror: gethostbyaddr's manual lives on gethostbyname's man7 page
        (
            capture(
                oserror(
                    "herror",
                    "socket",
                    errno=1,
                    strerror="Unknown host",
                    mro=("socket.herror", *OSERROR),
                ),
                ("socket.gethostbyaddr", "'192.0.2.1'"),
            ),
            (
                "gethostbyaddr",
                "gethostbyaddr('192.0.2.1')",
                "gethostbyaddr(3)",
                "https://man7.org/linux/man-pages/man3/gethostbyname.3.html",
                "HOST_NOT_FOUND (1) Unknown host",
                "libc",
            ),
        ),
    ],
)
def test_kernel_call(cap: Capture, expected: tuple) -> None:
    got = kernel_call(cap)
    assert got is not None
    assert (got.call.partition("(")[0], got.call, got.manual, got.url, got.result, got.kind) == (
        expected
    )


REFUSED = oserror(
    errno=111,
    strerror="Connection refused",
    frames=(frame("urllib3.util.connection", "create_connection", "sock.connect(sa)"),),
)


@pytest.mark.parametrize(
    ("info", "found"),
    [
        # urllib: URLError (OSError, errno None) printed after its context
        (oserror("URLError", "urllib.error", context=REFUSED), REFUSED),
        # requests: refused -> NewConnectionError -> MaxRetryError -> ConnectionError
        (
            oserror(
                "ConnectionError",
                "requests.exceptions",
                context=ExceptionInfo(
                    type="MaxRetryError",
                    module="urllib3.exceptions",
                    cause=ExceptionInfo(
                        type="NewConnectionError", module="urllib3.exceptions", cause=REFUSED
                    ),
                ),
            ),
            REFUSED,
        ),
        # aiohttp copies errno 111 onto its wrapper: step into the cause that reached the socket
        (
            oserror("ClientConnectorError", "aiohttp.client_exceptions", errno=111, cause=REFUSED),
            REFUSED,
        ),
        # httpx hides the OSError with `from None`: still found
        (
            ExceptionInfo(
                type="ConnectError",
                module="httpx",
                cause=ExceptionInfo(
                    type="ConnectError", module="httpcore", context=REFUSED, suppress_context=True
                ),
            ),
            REFUSED,
        ),
        # a different error raised while handling the first one is the real failure
        (oserror("FileNotFoundError", errno=2, context=REFUSED), "self"),
        # asyncio's "Multiple exceptions" OSError has no errno: nothing to name
        (oserror("OSError", message="Multiple exceptions: ..."), None),
        (None, None),
    ],
)
def test_failing_oserror(info: ExceptionInfo | None, found: object) -> None:
    expected = info if found == "self" else found
    assert failing_oserror(info) is expected


def test_kernel_call_through_a_chain() -> None:
    cap = capture(
        oserror("URLError", "urllib.error", context=REFUSED),
        ("socket.getaddrinfo", "'127.0.0.1', 9"),
        ("socket.connect", "('127.0.0.1', 9)"),
    )
    got = kernel_call(cap)
    assert got is not None
    assert got.call == "connect(('127.0.0.1', 9))"


@pytest.mark.parametrize(
    "cap",
    [
        capture(oserror("TimeoutError", message="timed out")),  # Python-level timeout
        capture(ExceptionInfo(type="OverflowError", module="builtins")),
        Capture(code="x", outcome="returned"),
        # an errno no frame or table ties to a call
        capture(oserror("PermissionError", errno=13, frames=(USER,))),
    ],
)
def test_kernel_call_unknown(cap: Capture) -> None:
    assert kernel_call(cap) is None


def test_kernel_call_falls_back_to_errno_and_last_event() -> None:
    cap = capture(oserror(errno=111, frames=(USER,)), ("socket.connect", "('10.0.0.1', 25)"))
    got = kernel_call(cap)
    assert got is not None
    assert got.call == "connect(('10.0.0.1', 25))"
