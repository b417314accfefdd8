"""What an error code means on the platform that produced it, and which OS call produced it.

The same number means different things per platform and per exception type: 61 is ECONNREFUSED
on macOS but ENODATA on Linux, gaierror 8 is EAI_NONAME on macOS (not ENOEXEC), herror 1 is
HOST_NOT_FOUND (not EPERM), and ``ssl.SSLError.errno`` is an ``SSL_ERROR_*`` code. So every code
is read through the capture's platform and the exception's MRO, never through the build machine's
``errno`` module. Tables are embedded (domain.md 2.1, 2.4-2.6) so a Linux build can explain a
Windows capture. Pure: no Sphinx, no processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sphinx_layertrace.model import Capture, ExceptionInfo, Frame, Platform

DEFAULT_ERRNO_URL = "https://docs.python.org/3/library/errno.html#errno.{name}"
SOCKET_DOCS = "https://docs.python.org/3/library/socket.html#socket.{name}"
WINSOCK_ERRORS = (
    "https://learn.microsoft.com/en-us/windows/win32/winsock/windows-sockets-error-codes-2#{name}"
)
WINDOWS_SYSTEM_ERRORS = (
    "https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--{page}-#{name}"
)
OPENSSL_DOCS = "https://docs.openssl.org/3.0/man3/{name}/"
MAN7 = "https://man7.org/linux/man-pages/man{section}/{name}.{section}.html"
FREEBSD_MAN = "https://man.freebsd.org/cgi/man.cgi?query={name}&sektion={section}"
WINSOCK_API = "https://learn.microsoft.com/en-us/windows/win32/api/{header}/nf-{header}-{name}"


@dataclass(frozen=True)
class CodeExplanation:
    """One code of one exception, named and linked (``ECONNREFUSED``, ``EAI_NONAME``, ...)."""

    kind: str  # "errno" | "winerror" | "eai" | "herror" | "ssl"
    number: int
    name: str
    description: str
    url: str
    link_title: str
    see_also: tuple[tuple[str, str], ...] = ()  # (title, url): the manual page of the family


@dataclass(frozen=True)
class KernelCall:
    """The OS (or C library) call whose answer the final OSError carries: the ``os`` row."""

    syscall: str  # "connect", "getaddrinfo", "SSL_do_handshake"
    call: str  # "connect(('127.0.0.1', 464))": what was really asked, from the audit hook
    manual: str  # "connect(2)"
    url: str
    result: str  # "ECONNREFUSED (111) Connection refused"
    kind: str = "syscall"  # "syscall" | "libc" | "winsock" | "openssl"


def _table(text: str) -> dict[int, tuple[str, str]]:
    """Parse ``number NAME description`` lines: tables stay readable next to domain.md."""
    out: dict[int, tuple[str, str]] = {}
    for line in text.strip().splitlines():
        number, name, description = line.split(None, 2)
        out[int(number)] = (name, description)
    return out


# Linux asm-generic numbers (x86, ARM, RISC-V) with glibc strerror texts, as this machine's
# errno/os.strerror report them. Other architectures (MIPS, PA-RISC) number differently; the
# child's own errno_name wins when present.
_LINUX = _table(
    """
    1 EPERM Operation not permitted
    2 ENOENT No such file or directory
    3 ESRCH No such process
    4 EINTR Interrupted system call
    5 EIO Input/output error
    6 ENXIO No such device or address
    7 E2BIG Argument list too long
    8 ENOEXEC Exec format error
    9 EBADF Bad file descriptor
    10 ECHILD No child processes
    11 EAGAIN Resource temporarily unavailable
    12 ENOMEM Cannot allocate memory
    13 EACCES Permission denied
    14 EFAULT Bad address
    16 EBUSY Device or resource busy
    17 EEXIST File exists
    18 EXDEV Invalid cross-device link
    19 ENODEV No such device
    20 ENOTDIR Not a directory
    21 EISDIR Is a directory
    22 EINVAL Invalid argument
    23 ENFILE Too many open files in system
    24 EMFILE Too many open files
    25 ENOTTY Inappropriate ioctl for device
    26 ETXTBSY Text file busy
    27 EFBIG File too large
    28 ENOSPC No space left on device
    29 ESPIPE Illegal seek
    30 EROFS Read-only file system
    31 EMLINK Too many links
    32 EPIPE Broken pipe
    33 EDOM Numerical argument out of domain
    34 ERANGE Numerical result out of range
    35 EDEADLK Resource deadlock avoided
    36 ENAMETOOLONG File name too long
    37 ENOLCK No locks available
    38 ENOSYS Function not implemented
    39 ENOTEMPTY Directory not empty
    40 ELOOP Too many levels of symbolic links
    61 ENODATA No data available
    62 ETIME Timer expired
    71 EPROTO Protocol error
    74 EBADMSG Bad message
    75 EOVERFLOW Value too large for defined data type
    84 EILSEQ Invalid or incomplete multibyte or wide character
    88 ENOTSOCK Socket operation on non-socket
    89 EDESTADDRREQ Destination address required
    90 EMSGSIZE Message too long
    91 EPROTOTYPE Protocol wrong type for socket
    92 ENOPROTOOPT Protocol not available
    93 EPROTONOSUPPORT Protocol not supported
    94 ESOCKTNOSUPPORT Socket type not supported
    95 EOPNOTSUPP Operation not supported
    96 EPFNOSUPPORT Protocol family not supported
    97 EAFNOSUPPORT Address family not supported by protocol
    98 EADDRINUSE Address already in use
    99 EADDRNOTAVAIL Cannot assign requested address
    100 ENETDOWN Network is down
    101 ENETUNREACH Network is unreachable
    102 ENETRESET Network dropped connection on reset
    103 ECONNABORTED Software caused connection abort
    104 ECONNRESET Connection reset by peer
    105 ENOBUFS No buffer space available
    106 EISCONN Transport endpoint is already connected
    107 ENOTCONN Transport endpoint is not connected
    108 ESHUTDOWN Cannot send after transport endpoint shutdown
    109 ETOOMANYREFS Too many references: cannot splice
    110 ETIMEDOUT Connection timed out
    111 ECONNREFUSED Connection refused
    112 EHOSTDOWN Host is down
    113 EHOSTUNREACH No route to host
    114 EALREADY Operation already in progress
    115 EINPROGRESS Operation now in progress
    116 ESTALE Stale file handle
    122 EDQUOT Disk quota exceeded
    125 ECANCELED Operation canceled
    """
)

# macOS / BSD <sys/errno.h> and libc strerror texts. 1-34 match Linux except 11; the socket
# range starts at 35 (domain.md 2.1 checks the network rows: 61, 54, 60, 65, 51, 48, 49, 53).
_BSD = _table(
    """
    1 EPERM Operation not permitted
    2 ENOENT No such file or directory
    3 ESRCH No such process
    4 EINTR Interrupted system call
    5 EIO Input/output error
    6 ENXIO Device not configured
    7 E2BIG Argument list too long
    8 ENOEXEC Exec format error
    9 EBADF Bad file descriptor
    10 ECHILD No child processes
    11 EDEADLK Resource deadlock avoided
    12 ENOMEM Cannot allocate memory
    13 EACCES Permission denied
    14 EFAULT Bad address
    16 EBUSY Resource busy
    17 EEXIST File exists
    18 EXDEV Cross-device link
    19 ENODEV Operation not supported by device
    20 ENOTDIR Not a directory
    21 EISDIR Is a directory
    22 EINVAL Invalid argument
    23 ENFILE Too many open files in system
    24 EMFILE Too many open files
    25 ENOTTY Inappropriate ioctl for device
    26 ETXTBSY Text file busy
    27 EFBIG File too large
    28 ENOSPC No space left on device
    29 ESPIPE Illegal seek
    30 EROFS Read-only file system
    31 EMLINK Too many links
    32 EPIPE Broken pipe
    33 EDOM Numerical argument out of domain
    34 ERANGE Result too large
    35 EAGAIN Resource temporarily unavailable
    36 EINPROGRESS Operation now in progress
    37 EALREADY Operation already in progress
    38 ENOTSOCK Socket operation on non-socket
    39 EDESTADDRREQ Destination address required
    40 EMSGSIZE Message too long
    41 EPROTOTYPE Protocol wrong type for socket
    42 ENOPROTOOPT Protocol not available
    43 EPROTONOSUPPORT Protocol not supported
    44 ESOCKTNOSUPPORT Socket type not supported
    45 ENOTSUP Operation not supported
    46 EPFNOSUPPORT Protocol family not supported
    47 EAFNOSUPPORT Address family not supported by protocol family
    48 EADDRINUSE Address already in use
    49 EADDRNOTAVAIL Can't assign requested address
    50 ENETDOWN Network is down
    51 ENETUNREACH Network is unreachable
    52 ENETRESET Network dropped connection on reset
    53 ECONNABORTED Software caused connection abort
    54 ECONNRESET Connection reset by peer
    55 ENOBUFS No buffer space available
    56 EISCONN Socket is already connected
    57 ENOTCONN Socket is not connected
    58 ESHUTDOWN Can't send after socket shutdown
    59 ETOOMANYREFS Too many references: can't splice
    60 ETIMEDOUT Operation timed out
    61 ECONNREFUSED Connection refused
    62 ELOOP Too many levels of symbolic links
    63 ENAMETOOLONG File name too long
    64 EHOSTDOWN Host is down
    65 EHOSTUNREACH No route to host
    66 ENOTEMPTY Directory not empty
    69 EDQUOT Disc quota exceeded
    70 ESTALE Stale NFS file handle
    78 ENOSYS Function not implemented
    """
)

# Windows: the C runtime's errno values, then WinSock codes. CPython's errno module defines the
# socket constants *as* the WSA values (errno.ECONNREFUSED == 10061), so a socket OSError has
# errno == winerror == 10061; its errno name is the POSIX one without the WSA prefix.
_WINDOWS_CRT = _table(
    """
    1 EPERM Operation not permitted
    2 ENOENT No such file or directory
    3 ESRCH No such process
    4 EINTR Interrupted function call
    5 EIO Input/output error
    9 EBADF Bad file descriptor
    11 EAGAIN Resource temporarily unavailable
    12 ENOMEM Not enough space
    13 EACCES Permission denied
    17 EEXIST File exists
    20 ENOTDIR Not a directory
    21 EISDIR Is a directory
    22 EINVAL Invalid argument
    24 EMFILE Too many open files
    28 ENOSPC No space left on device
    32 EPIPE Broken pipe
    36 EDEADLK Resource deadlock avoided
    38 ENAMETOOLONG Filename too long
    41 ENOTEMPTY Directory not empty
    """
)

# WinSock error codes with their FormatMessage texts (trailing period dropped, as CPython does).
_WINSOCK = _table(
    """
    10004 WSAEINTR A blocking operation was interrupted by a call to WSACancelBlockingCall
    10009 WSAEBADF The file handle supplied is not valid
    10013 WSAEACCES An attempt was made to access a socket in a way forbidden by its access permissions
    10014 WSAEFAULT The system detected an invalid pointer address in attempting to use a pointer argument in a call
    10022 WSAEINVAL An invalid argument was supplied
    10024 WSAEMFILE Too many open sockets
    10035 WSAEWOULDBLOCK A non-blocking socket operation could not be completed immediately
    10036 WSAEINPROGRESS A blocking operation is currently executing
    10037 WSAEALREADY An operation was attempted on a non-blocking socket that already had an operation in progress
    10038 WSAENOTSOCK An operation was attempted on something that is not a socket
    10039 WSAEDESTADDRREQ A required address was omitted from an operation on a socket
    10040 WSAEMSGSIZE A message sent on a datagram socket was larger than the internal message buffer or some other network limit
    10041 WSAEPROTOTYPE A protocol was specified in the socket function call that does not support the semantics of the socket type requested
    10042 WSAENOPROTOOPT An unknown, invalid, or unsupported option or level was specified in a getsockopt or setsockopt call
    10043 WSAEPROTONOSUPPORT The requested protocol has not been configured into the system, or no implementation for it exists
    10044 WSAESOCKTNOSUPPORT The support for the specified socket type does not exist in this address family
    10045 WSAEOPNOTSUPP The attempted operation is not supported for the type of object referenced
    10046 WSAEPFNOSUPPORT The protocol family has not been configured into the system or no implementation for it exists
    10047 WSAEAFNOSUPPORT An address incompatible with the requested protocol was used
    10048 WSAEADDRINUSE Only one usage of each socket address (protocol/network address/port) is normally permitted
    10049 WSAEADDRNOTAVAIL The requested address is not valid in its context
    10050 WSAENETDOWN A socket operation encountered a dead network
    10051 WSAENETUNREACH A socket operation was attempted to an unreachable network
    10052 WSAENETRESET The connection has been broken due to keep-alive activity detecting a failure while the operation was in progress
    10053 WSAECONNABORTED An established connection was aborted by the software in your host machine
    10054 WSAECONNRESET An existing connection was forcibly closed by the remote host
    10055 WSAENOBUFS An operation on a socket could not be performed because the system lacked sufficient buffer space or because a queue was full
    10056 WSAEISCONN A connect request was made on an already connected socket
    10057 WSAENOTCONN A request to send or receive data was disallowed because the socket is not connected
    10058 WSAESHUTDOWN A request to send or receive data was disallowed because the socket had already been shut down in that direction with a previous shutdown call
    10060 WSAETIMEDOUT A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond
    10061 WSAECONNREFUSED No connection could be made because the target machine actively refused it
    10064 WSAEHOSTDOWN A socket operation failed because the destination host was down
    10065 WSAEHOSTUNREACH A socket operation was attempted to an unreachable host
    10109 WSATYPE_NOT_FOUND The specified class was not found
    11001 WSAHOST_NOT_FOUND No such host is known
    11002 WSATRY_AGAIN This is usually a temporary error during hostname resolution and means that the local server did not receive a response from an authoritative server
    11003 WSANO_RECOVERY A non-recoverable error occurred during a database lookup
    11004 WSANO_DATA The requested name is valid, but no data of the requested type was found
    """  # noqa: E501 (one code per line reads better than wrapped text)
)

# Windows system error codes seen from sockets, pipes and asyncio's proactor loop
# (``[WinError 1225]`` is a refused connection there). page = the docs page's range.
_WINDOWS_SYSTEM = _table(
    """
    2 ERROR_FILE_NOT_FOUND The system cannot find the file specified
    3 ERROR_PATH_NOT_FOUND The system cannot find the path specified
    5 ERROR_ACCESS_DENIED Access is denied
    64 ERROR_NETNAME_DELETED The specified network name is no longer available
    109 ERROR_BROKEN_PIPE The pipe has been ended
    121 ERROR_SEM_TIMEOUT The semaphore timeout period has expired
    232 ERROR_NO_DATA The pipe is being closed
    1225 ERROR_CONNECTION_REFUSED The remote computer refused the network connection
    1236 ERROR_CONNECTION_ABORTED The network connection was aborted by the local system
    """
)
_WINDOWS_SYSTEM_PAGES = ((499, "0-499"), (999, "500-999"), (1299, "1000-1299"))

# getaddrinfo/getnameinfo codes (domain.md 2.4); texts are each platform's gai_strerror.
_EAI_LINUX = _table(
    """
    -1 EAI_BADFLAGS Bad value for ai_flags
    -2 EAI_NONAME Name or service not known
    -3 EAI_AGAIN Temporary failure in name resolution
    -4 EAI_FAIL Non-recoverable failure in name resolution
    -5 EAI_NODATA No address associated with hostname
    -6 EAI_FAMILY ai_family not supported
    -7 EAI_SOCKTYPE ai_socktype not supported
    -8 EAI_SERVICE Servname not supported for ai_socktype
    -9 EAI_ADDRFAMILY Address family for hostname not supported
    -10 EAI_MEMORY Memory allocation failure
    -11 EAI_SYSTEM System error
    -12 EAI_OVERFLOW Argument buffer overflow
    """
)
_EAI_BSD = _table(
    """
    1 EAI_ADDRFAMILY Address family for hostname not supported
    2 EAI_AGAIN Temporary failure in name resolution
    3 EAI_BADFLAGS Invalid value for ai_flags
    4 EAI_FAIL Non-recoverable failure in name resolution
    5 EAI_FAMILY ai_family not supported
    6 EAI_MEMORY Memory allocation failure
    7 EAI_NODATA No address associated with hostname
    8 EAI_NONAME nodename nor servname provided, or not known
    9 EAI_SERVICE servname not supported for ai_socktype
    10 EAI_SOCKTYPE ai_socktype not supported
    11 EAI_SYSTEM System error returned in errno
    14 EAI_OVERFLOW Argument buffer overflow
    """
)
# Windows EAI_* are WSA codes (ws2tcpip.h); CPython prints only "getaddrinfo failed".
_EAI_WINDOWS = _table(
    """
    8 EAI_MEMORY Insufficient memory available
    10022 EAI_BADFLAGS An invalid argument was supplied
    10044 EAI_SOCKTYPE The support for the specified socket type does not exist in this address family
    10047 EAI_FAMILY An address incompatible with the requested protocol was used
    10109 EAI_SERVICE The specified class was not found
    11001 EAI_NONAME No such host is known
    11002 EAI_AGAIN This is usually a temporary error during hostname resolution
    11003 EAI_FAIL A non-recoverable error occurred during a database lookup
    """  # noqa: E501 (one code per line reads better than wrapped text)
)
# h_errno (gethostbyname/gethostbyaddr), glibc hstrerror texts; never an errno (1 is not EPERM).
_HERROR = _table(
    """
    1 HOST_NOT_FOUND Unknown host
    2 TRY_AGAIN Host name lookup failure
    3 NO_RECOVERY Unknown server error
    4 NO_DATA No address associated with name
    """
)
# ssl.SSLError.errno is an SSL_get_error() result (Python adds 8 EOF and 9).
_SSL = _table(
    """
    1 SSL_ERROR_SSL A failure in the SSL library occurred, usually a protocol error
    2 SSL_ERROR_WANT_READ The operation did not complete: more data must be read first
    3 SSL_ERROR_WANT_WRITE The operation did not complete: data must be written first
    4 SSL_ERROR_WANT_X509_LOOKUP The operation did not complete: a certificate callback must run again
    5 SSL_ERROR_SYSCALL A non-recoverable I/O error occurred (see errno)
    6 SSL_ERROR_ZERO_RETURN The TLS connection has been closed cleanly by the peer
    7 SSL_ERROR_WANT_CONNECT The operation did not complete: the underlying connect must finish first
    8 SSL_ERROR_EOF The peer closed the connection without a TLS close_notify (EOF in violation of protocol)
    9 SSL_ERROR_INVALID_ERROR_CODE Python could not map the OpenSSL error
    """  # noqa: E501 (one code per line reads better than wrapped text)
)


def family(platform: Platform) -> str:
    """``linux``, ``bsd`` (macOS and the BSDs) or ``windows``: which tables and manuals apply."""
    system = platform.system.lower()
    if system.startswith(("win", "cygwin")):
        return "windows"
    if system in ("darwin", "freebsd", "openbsd", "netbsd", "dragonfly"):
        return "bsd"
    return "linux"


def code_kind(exc: ExceptionInfo) -> str | None:
    """Which table ``exc.errno`` belongs to, from the MRO (subclasses keep their base's codes)."""
    mro = set(exc.mro) | {f"{exc.module or 'builtins'}.{exc.type}"}
    if "ssl.SSLError" in mro:
        return "ssl"
    if "socket.gaierror" in mro:
        return "eai"
    if "socket.herror" in mro:
        return "herror"
    if exc.errno is None and exc.winerror is None:
        return None
    return "errno"


def explain(
    exc: ExceptionInfo, platform: Platform, errno_url: str = DEFAULT_ERRNO_URL
) -> list[CodeExplanation]:
    """Every code ``exc`` carries, explained for ``platform``; empty when there is none.

    A Python-level timeout (``TimeoutError: timed out``) has no errno and gets nothing: linking
    it to ETIMEDOUT would claim the kernel said something it did not.
    """
    fam = "windows" if exc.winerror is not None else family(platform)
    return _explain(exc, fam, errno_url)


def _explain(exc: ExceptionInfo, fam: str, errno_url: str) -> list[CodeExplanation]:
    kind = code_kind(exc)
    out: list[CodeExplanation] = []
    if exc.winerror is not None:
        out.append(_winerror(exc.winerror, exc.strerror))
    if exc.errno is None or kind is None:
        return out
    if kind == "errno":
        item = _errno(exc, fam, errno_url)
    elif kind == "eai":
        item = _eai(exc, fam)
    elif kind == "herror":
        item = _herror(exc, fam)
    else:
        item = _ssl(exc)
    if item is not None:
        out.append(item)
    return out


def _errno(exc: ExceptionInfo, fam: str, errno_url: str) -> CodeExplanation | None:
    number = exc.errno
    assert number is not None
    if fam == "windows":
        known = _WINSOCK.get(number) or _WINDOWS_CRT.get(number)
    else:
        known = (_BSD if fam == "bsd" else _LINUX).get(number)
    name = exc.errno_name or (known[0] if known else "")
    if name.startswith("WSAE"):
        name = name[3:]  # Python's errno module names 10061 ECONNREFUSED on Windows
    if not name.startswith("E"):
        return None
    # The table's text unless it names another constant (MIPS numbers differently): asyncio
    # rewrites strerror to "Connect call failed (...)", which explains nothing.
    table_text = known[1] if known and known[0].removeprefix("WSA") == name else ""
    description = table_text or exc.strerror
    see_also: tuple[tuple[str, str], ...] = ()
    if fam == "linux":
        see_also = (("errno(3)", MAN7.format(section=3, name="errno")),)
    elif fam == "bsd":
        see_also = (("intro(2)", FREEBSD_MAN.format(section=2, name="intro")),)
    return CodeExplanation(
        kind="errno",
        number=number,
        name=name,
        description=description,
        url=errno_url.format(name=name, number=number),
        link_title=f"errno.{name}",
        see_also=see_also,
    )


def _winerror(number: int, strerror: str) -> CodeExplanation:
    if number in _WINSOCK:
        name, text = _WINSOCK[number]
        url = WINSOCK_ERRORS.format(name=name)
        title = f"{name} in Windows Sockets Error Codes"
    else:
        name, text = _WINDOWS_SYSTEM.get(number, ("", ""))
        page = next((p for top, p in _WINDOWS_SYSTEM_PAGES if number <= top), "")
        if name and page:
            url = WINDOWS_SYSTEM_ERRORS.format(page=page, name=name)
        else:
            url = WINDOWS_SYSTEM_ERRORS.format(page="0-499", name="").rstrip("#")
        title = f"{name or number} in System Error Codes"
    return CodeExplanation(
        kind="winerror",
        number=number,
        name=name or f"WinError {number}",
        description=strerror or text,
        url=url,
        link_title=title,
    )


def _eai(exc: ExceptionInfo, fam: str) -> CodeExplanation:
    number = exc.errno
    assert number is not None
    table = {"linux": _EAI_LINUX, "bsd": _EAI_BSD, "windows": _EAI_WINDOWS}[fam]
    known = table.get(number)
    name = exc.errno_name if exc.errno_name.startswith("EAI_") else (known[0] if known else "")
    # Windows prints only "getaddrinfo failed"; the table's text says why.
    description = (known[1] if known else "") or exc.strerror
    see_also: tuple[tuple[str, str], ...]
    if fam == "linux":
        see_also = (("getaddrinfo(3)", MAN7.format(section=3, name="getaddrinfo")),)
    elif fam == "bsd":
        see_also = (("gai_strerror(3)", FREEBSD_MAN.format(section=3, name="gai_strerror")),)
    else:
        wsa = _WINSOCK.get(number, ("", ""))[0]
        see_also = ((wsa, WINSOCK_ERRORS.format(name=wsa)),) if wsa else ()
    return CodeExplanation(
        kind="eai",
        number=number,
        name=name or f"EAI code {number}",
        description=description,
        url=SOCKET_DOCS.format(name="gaierror"),
        link_title="socket.gaierror (EAI_* constants)",
        see_also=see_also,
    )


def _herror(exc: ExceptionInfo, fam: str) -> CodeExplanation:
    number = exc.errno
    assert number is not None
    name, text = _HERROR.get(number, (f"h_errno {number}", ""))
    see_also: tuple[tuple[str, str], ...] = ()
    if fam == "linux":
        see_also = (("gethostbyname(3)", MAN7.format(section=3, name="gethostbyname")),)
    elif fam == "bsd":
        see_also = (("gethostbyname(3)", FREEBSD_MAN.format(section=3, name="gethostbyname")),)
    return CodeExplanation(
        kind="herror",
        number=number,
        name=name,
        description=exc.strerror or text,
        url=SOCKET_DOCS.format(name="herror"),
        link_title="socket.herror",
        see_also=see_also,
    )


def _ssl(exc: ExceptionInfo) -> CodeExplanation:
    number = exc.errno
    assert number is not None
    name, text = _SSL.get(number, (f"SSL error {number}", ""))
    return CodeExplanation(
        kind="ssl",
        number=number,
        name=name,
        description=text,
        url=OPENSSL_DOCS.format(name="SSL_get_error"),
        link_title="SSL_get_error(3) in the OpenSSL manual",
    )


# -- the os row -------------------------------------------------------------------------------


def failing_oserror(exc: ExceptionInfo | None) -> ExceptionInfo | None:
    """The exception that carries the OS's answer, innermost wrapper removed.

    Starts at the last code-carrying exception CPython prints and steps into its cause/context
    while that carries the same code, so aiohttp's ``ClientConnectorError(errno=111)`` yields the
    ``ConnectionRefusedError`` whose frames reach the socket. Suppressed contexts (httpcore's
    ``raise ... from None``) are searched only when nothing printed carries a code.
    """
    if exc is None:
        return None
    candidates = [e for e in exc.walk() if _carries_code(e)]
    if not candidates:
        candidates = [e for e in _walk_all(exc) if _carries_code(e)]
    if not candidates:
        return None
    chosen = candidates[-1]
    while True:
        inner = next(
            (
                e
                for e in _walk_all(chosen)
                if e is not chosen
                and _carries_code(e)
                and (e.errno, e.winerror) == (chosen.errno, chosen.winerror)
            ),
            None,
        )
        if inner is None:
            return chosen
        chosen = inner


def _carries_code(exc: ExceptionInfo) -> bool:
    return exc.errno is not None or exc.winerror is not None


def _walk_all(exc: ExceptionInfo) -> list[ExceptionInfo]:
    """Like ``walk`` but also into suppressed contexts; innermost first, ``exc`` last."""
    seen: list[ExceptionInfo] = []

    def visit(item: ExceptionInfo) -> None:
        if any(s is item for s in seen):
            return
        for linked in (item.cause, item.context):
            if linked is not None:
                visit(linked)
        seen.append(item)
        for sub in item.exceptions:
            visit(sub)

    visit(exc)
    return seen


# Frame text -> OS call, checked from the last frame upward (domain.md 1.3).
_CALL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), call)
    for pattern, call in (
        (r"\bdo_handshake\(", "SSL_do_handshake"),
        (r"\bgetaddrinfo\(", "getaddrinfo"),
        (r"\bgetnameinfo\(", "getnameinfo"),
        (r"\bgethostbyname(?:_ex)?\(", "gethostbyname"),
        (r"\bgethostbyaddr\(", "gethostbyaddr"),
        (r"\bconnect(?:_ex)?\(|\bConnectEx\(", "connect"),
        (r"\bbind\(", "bind"),
        (r"\blisten\(", "listen"),
        (r"\baccept\(", "accept"),
        (r"\brecv(?:_into|from|from_into|msg)?\(", "recv"),
        (r"\bsend(?:all|to|msg|file)?\(", "send"),
    )
)
# Function names whose failure means a call even when the line says only ``raise``.
_CALL_FUNCTIONS = {
    "_sock_connect_cb": "connect",
    "_sock_connect": "connect",
    "sock_connect": "connect",
    "finish_connect": "connect",
    "do_handshake": "SSL_do_handshake",
    "getaddrinfo": "getaddrinfo",
}
_AUDIT_EVENTS = {
    "connect": ("socket.connect",),
    "bind": ("socket.bind",),
    "getaddrinfo": ("socket.getaddrinfo",),
    "getnameinfo": ("socket.getnameinfo",),
    "gethostbyname": ("socket.gethostbyname",),
    "gethostbyaddr": ("socket.gethostbyaddr",),
    "send": ("socket.sendto", "socket.sendmsg"),
}
# When no frame names the call: errno names that only one call produces in practice.
_BY_ERRNO = {
    "ECONNREFUSED": "connect",
    "ETIMEDOUT": "connect",
    "EHOSTUNREACH": "connect",
    "ENETUNREACH": "connect",
    "EINPROGRESS": "connect",
    "EADDRINUSE": "bind",
    "EPIPE": "send",
    "ECONNRESET": "recv",
}
# (manual section, libc-not-syscall) per call; Windows header of the WinSock function page.
_MANUALS = {
    "connect": (2, "winsock2"),
    "bind": (2, "winsock"),
    "listen": (2, "winsock2"),
    "accept": (2, "winsock2"),
    "recv": (2, "winsock"),
    "send": (2, "winsock2"),
    "getaddrinfo": (3, "ws2tcpip"),
    "getnameinfo": (3, "ws2tcpip"),
    "gethostbyname": (3, "winsock"),
    "gethostbyaddr": (3, "winsock"),
}


# man7 documents these on another function's page.
_MAN7_PAGES = {"gethostbyaddr": "gethostbyname"}


def kernel_call(capture: Capture) -> KernelCall | None:
    """The OS call behind the final OSError, with its real arguments; None when unknown.

    Decided from the exception type (gaierror means getaddrinfo), then the failing exception's
    last frames, then the errno; the arguments come from the last matching audited socket event
    (so the seed shows ``connect(('127.0.0.1', 464))``: glibc wrapped port 66000).
    """
    exc = failing_oserror(capture.exception)
    if exc is None:
        return None
    kind = code_kind(exc)
    fam = "windows" if exc.winerror is not None else family(capture.platform)
    call = _call_from_frames(exc.frames, capture)
    if kind == "eai" and call not in ("getaddrinfo", "getnameinfo"):
        call = "getaddrinfo"
    elif kind == "herror" and call not in ("gethostbyname", "gethostbyaddr"):
        call = "gethostbyaddr" if _last_event(capture, "gethostbyaddr") else "gethostbyname"
    elif kind == "ssl" and (call is None or not call.startswith("SSL_")):
        call = "SSL_do_handshake"
    if call is None:
        call = _BY_ERRNO.get(_errno_name(exc, fam))
    if call is None:
        return None
    args = _last_event(capture, call)
    shown = f"{call}({args})" if args is not None else f"{call}(…)"
    manual, url, how = _manual(call, fam)
    return KernelCall(
        syscall=call, call=shown, manual=manual, url=url, result=_result(exc, fam), kind=how
    )


def _call_from_frames(frames: tuple[Frame, ...], capture: Capture) -> str | None:
    for frame in reversed(frames[-4:]):
        text = frame.line or _user_line(frame, capture)
        for pattern, call in _CALL_PATTERNS:
            if pattern.search(text):
                return call
        if frame.name in _CALL_FUNCTIONS and frame.origin != "user":
            return _CALL_FUNCTIONS[frame.name]
    return None


def _user_line(frame: Frame, capture: Capture) -> str:
    """Source of a user frame the REPL printed without a line (``File "<stdin>", line 1``)."""
    if frame.origin != "user" or not frame.lineno:
        return ""
    raised = [step for step in capture.steps if step.raised]
    source = raised[-1].source if raised else capture.code
    lines = source.splitlines()
    return lines[frame.lineno - 1] if frame.lineno <= len(lines) else ""


def _last_event(capture: Capture, call: str) -> str | None:
    events = _AUDIT_EVENTS.get(call, ())
    for event in reversed(capture.syscalls):
        if event.event in events:
            return event.args
    return None


def _errno_name(exc: ExceptionInfo, fam: str) -> str:
    if exc.errno is None:
        return ""
    name = exc.errno_name
    if not name:
        table = _WINSOCK if fam == "windows" else (_BSD if fam == "bsd" else _LINUX)
        name = table.get(exc.errno, ("", ""))[0]
    return name[3:] if name.startswith("WSAE") else name


def _manual(call: str, fam: str) -> tuple[str, str, str]:
    if call.startswith("SSL_"):
        return f"{call}(3)", OPENSSL_DOCS.format(name=call), "openssl"
    section, header = _MANUALS[call]
    how = "syscall" if section == 2 else "libc"
    if fam == "windows":
        return f"{call} (WinSock)", WINSOCK_API.format(header=header, name=call), "winsock"
    if fam == "bsd":
        return f"{call}({section})", FREEBSD_MAN.format(name=call, section=section), how
    page = _MAN7_PAGES.get(call, call)
    return f"{call}({section})", MAN7.format(name=page, section=section), how


def _result(exc: ExceptionInfo, fam: str) -> str:
    """``ECONNREFUSED (111) Connection refused``: the answer in the platform's own terms."""
    explained = _explain(exc, fam, DEFAULT_ERRNO_URL)
    if not explained:
        return exc.strerror or exc.message
    first = explained[0]
    return f"{first.name} ({first.number}) {first.description}".strip()
