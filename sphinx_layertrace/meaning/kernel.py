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
    """The call whose answer the failing exception carries: the bottom row of the picture.

    Usually the kernel's (``os``); OpenSSL's for a handshake (``tls``), the resolver's for a
    name lookup. A non-blocking connect (asyncio, anyio) has two answers: ``connect`` said
    ``EINPROGRESS`` (``pending``) and the refusal came later through ``SO_ERROR``.
    """

    call: str  # "connect(('127.0.0.1', 464))": what was really asked, from the audit hook
    manual: str  # "connect(2)"
    url: str
    result: str  # "ECONNREFUSED (111) Connection refused"
    kind: str = "syscall"  # "syscall" | "libc" | "winsock" | "openssl"
    pending: str = ""  # "EINPROGRESS": what a non-blocking connect said first

    @property
    def name(self) -> str:
        """The call's name alone: ``connect``, ``getaddrinfo``, ``SSL_do_handshake``."""
        return self.call.partition("(")[0]

    @property
    def layer(self) -> str:
        """``tls`` when OpenSSL answered, else ``os``: the layer of the answer's row."""
        return "tls" if self.kind == "openssl" else "os"

    @property
    def component(self) -> str:
        """Who answered, as a label: ``kernel``, ``resolver``, ``OpenSSL``, ``WinSock``."""
        if self.name in _RESOLVER_CALLS:
            return "resolver"
        return _COMPONENTS.get(self.kind, "kernel")

    @property
    def who(self) -> str:
        """Who answered, as a sentence starts: ``The kernel``, ``The resolver``, ``OpenSSL``."""
        if self.name in _RESOLVER_CALLS:
            return "The resolver"
        return _WHO.get(self.kind, "The kernel")

    @property
    def answer(self) -> str:
        """What came back, as the sentence "... was asked X and <answer>." ends."""
        if self.pending:
            return (
                f"answered {self.pending} (in progress); the refusal came later through "
                f"getsockopt(SO_ERROR): {self.result}"
            )
        return f"answered {self.result}"

    @property
    def short_answer(self) -> str:
        """The code alone, short enough for the row beside the frames: ``ECONNREFUSED (111)``."""
        if self.kind == "openssl":
            return self.result.partition(":")[0]  # OpenSSL's reason: CERTIFICATE_VERIFY_FAILED
        code = self.result.split(") ", 1)[0] + ")" if ") " in self.result else self.result
        return f"{self.pending}, then SO_ERROR  →  {code}" if self.pending else code


_RESOLVER_CALLS = frozenset({"getaddrinfo", "getnameinfo", "gethostbyname", "gethostbyaddr"})
_WHO = {"libc": "The C library", "openssl": "OpenSSL", "winsock": "WinSock"}
_COMPONENTS = {"libc": "C library", "openssl": "OpenSSL", "winsock": "WinSock"}
#: What a non-blocking connect returns at once, per platform family.
_PENDING = {"linux": "EINPROGRESS", "bsd": "EINPROGRESS"}
#: asyncio's selector loop reads the refusal with getsockopt(SO_ERROR) in this callback.
_DEFERRED_CONNECT = frozenset({"_sock_connect_cb"})


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
    result = _ssl_answer(exc) if how == "openssl" else ""
    return KernelCall(
        call=shown,
        manual=manual,
        url=url,
        result=result or answer(exc, fam),
        kind=how,
        pending=_pending(exc, call, fam),
    )


def _pending(exc: ExceptionInfo, call: str, fam: str) -> str:
    """``EINPROGRESS`` when the answer came through ``SO_ERROR`` after a non-blocking connect."""
    if call != "connect" or not exc.frames:
        return ""
    raiser = exc.frames[-1]
    if raiser.name in _DEFERRED_CONNECT or "SO_ERROR" in raiser.line:
        return _PENDING.get(fam, "")
    return ""


#: How CPython words an ``ssl.SSLError``: ``[SSL: REASON] text (_ssl.c:1006)``.
_SSL_MESSAGE = re.compile(
    r"^\[(?P<library>[A-Z0-9_]+): (?P<reason>[A-Z0-9_]+)\] (?P<text>.*?)(?: \(_ssl\.c:\d+\))?$"
)


def _ssl_answer(exc: ExceptionInfo) -> str:
    """``CERTIFICATE_VERIFY_FAILED: certificate verify failed: self-signed certificate``.

    OpenSSL's reason code and its text (the verify message of a certificate failure), read
    from the message in the fixed form CPython's ``_ssl`` module gives every ``SSLError``.
    """
    match = _SSL_MESSAGE.match(exc.message.strip())
    if exc.verify_message:  # the child read it from the exception: OpenSSL's own words
        reason = match["reason"] if match is not None else "CERTIFICATE_VERIFY_FAILED"
        code = f" (verify code {exc.verify_code})" if exc.verify_code is not None else ""
        return f"{reason}{code}: {exc.verify_message}"
    if match is None:
        return ""
    return f"{match['reason']}: {match['text']}"


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
