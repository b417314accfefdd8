"""Which OS (or C library, or OpenSSL) call gave the answer the failing exception carries.

That call is the ``os`` row of a traceback: what the kernel was really asked, from the child's
audit hook, and what it answered, in the platform's own terms. Pure: no Sphinx, no processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sphinx_layertrace.meaning.carrier import failing_oserror
from sphinx_layertrace.meaning.codes import answer, code_family, code_kind, errno_name
from sphinx_layertrace.meaning.tables import FREEBSD_MAN, MAN7, OPENSSL_DOCS, WINSOCK_API
from sphinx_layertrace.model import Capture, ExceptionInfo, Frame


@dataclass(frozen=True)
class KernelCall:
    """The OS (or C library) call whose answer the final OSError carries: the ``os`` row."""

    call: str  # "connect(('127.0.0.1', 464))": what was really asked, from the audit hook
    manual: str  # "connect(2)"
    url: str
    result: str  # "ECONNREFUSED (111) Connection refused"
    kind: str = "syscall"  # "syscall" | "libc" | "winsock" | "openssl"

    @property
    def who(self) -> str:
        """Who answered, as a sentence starts: ``The kernel``, ``The C library``, ``OpenSSL``."""
        return _WHO.get(self.kind, "The kernel")


_WHO = {"libc": "The C library", "openssl": "OpenSSL", "winsock": "WinSock"}


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
    """The OS call behind the final OSError, with its real arguments; None when unknown."""
    return kernel_call_for(capture, failing_oserror(capture.exception))


def kernel_call_for(capture: Capture, exc: ExceptionInfo | None) -> KernelCall | None:
    """The OS call whose answer ``exc`` (the failing OSError of ``capture``) carries.

    Decided from the exception type (gaierror means getaddrinfo), then the failing exception's
    last frames, then the errno; the arguments come from the last matching audited socket event
    (so the seed shows ``connect(('127.0.0.1', 464))``: glibc wrapped port 66000).
    """
    if exc is None:
        return None
    fam = code_family(exc, capture.platform)
    call = _call_name(exc, capture, fam)
    if call is None:
        return None
    args = _last_event(capture, call)
    shown = f"{call}({args})" if args is not None else f"{call}(…)"
    manual, url, how = _manual(call, fam)
    return KernelCall(call=shown, manual=manual, url=url, result=answer(exc, fam), kind=how)


def _call_name(exc: ExceptionInfo, capture: Capture, fam: str) -> str | None:
    kind = code_kind(exc)
    call = _call_from_frames(exc.frames, capture)
    if kind == "eai" and call not in ("getaddrinfo", "getnameinfo"):
        return "getaddrinfo"
    if kind == "herror" and call not in ("gethostbyname", "gethostbyaddr"):
        return "gethostbyaddr" if _last_event(capture, "gethostbyaddr") else "gethostbyname"
    if kind == "ssl" and (call is None or not call.startswith("SSL_")):
        return "SSL_do_handshake"
    return call if call is not None else _BY_ERRNO.get(errno_name(exc, fam))


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
