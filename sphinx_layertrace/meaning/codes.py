"""What an error code means on the platform that produced it, and which exception carries it.

The same number means different things per platform and per exception type: 61 is ECONNREFUSED
on macOS but ENODATA on Linux, gaierror 8 is EAI_NONAME on macOS (not ENOEXEC), herror 1 is
HOST_NOT_FOUND (not EPERM), and ``ssl.SSLError.errno`` is an ``SSL_ERROR_*`` code. So every code
is read through the capture's platform and the exception's MRO, never through the build machine's
``errno`` module. Pure: no Sphinx, no processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sphinx_layertrace.meaning import tables
from sphinx_layertrace.meaning.tables import DEFAULT_ERRNO_URL
from sphinx_layertrace.model import ExceptionInfo, Platform

__all__ = ["DEFAULT_ERRNO_URL", "CodeExplanation", "code_kind", "explain", "family"]


@dataclass(frozen=True)
class CodeExplanation:
    """One code of one exception, named and linked (``ECONNREFUSED``, ``EAI_NONAME``, ...)."""

    kind: str  # "errno" | "winerror" | "eai" | "herror" | "ssl" | "verify"
    number: int
    name: str
    description: str
    url: str


def family(platform: Platform) -> str:
    """``linux``, ``bsd`` (macOS and the BSDs) or ``windows``: which tables and manuals apply."""
    system = platform.system.lower()
    if system.startswith(("win", "cygwin")):
        return "windows"
    if system in ("darwin", "freebsd", "openbsd", "netbsd", "dragonfly"):
        return "bsd"
    return "linux"


def code_family(exc: ExceptionInfo, platform: Platform) -> str:
    """The family whose tables read ``exc``'s codes: a WinError is Windows wherever it is read."""
    return "windows" if exc.winerror is not None else family(platform)


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
    return explain_in(exc, code_family(exc, platform), errno_url)


def explain_in(exc: ExceptionInfo, fam: str, errno_url: str) -> list[CodeExplanation]:
    """:func:`explain` for a platform family already decided."""
    kind = code_kind(exc)
    out: list[CodeExplanation] = []
    if exc.winerror is not None:
        out.append(_winerror(exc.winerror, exc.strerror))
    if exc.verify_code is not None:
        out.append(_verify(exc.verify_code, exc.verify_message))
    if exc.errno is None or kind is None:
        return out
    number = exc.errno
    item: CodeExplanation | None
    if kind == "errno":
        item = _errno(exc, number, fam, errno_url)
    elif kind == "eai":
        item = _eai(exc, number, fam)
    elif kind == "herror":
        item = _herror(exc, number)
    else:
        item = _ssl(number)
    if item is not None:
        out.append(item)
    return out


def errno_table(fam: str) -> dict[int, tuple[str, str]]:
    """The errno numbering of a family (WinSock first on Windows: sockets are what fail here)."""
    if fam == "windows":
        return tables.WINSOCK
    return tables.BSD if fam == "bsd" else tables.LINUX


def errno_name(exc: ExceptionInfo, fam: str) -> str:
    """``ECONNREFUSED`` for errno 111 on Linux, 61 on macOS, 10061 on Windows; "" when none."""
    if exc.errno is None:
        return ""
    name = exc.errno_name or errno_table(fam).get(exc.errno, ("", ""))[0]
    return name[3:] if name.startswith("WSAE") else name


def answer(exc: ExceptionInfo, fam: str) -> str:
    """``ECONNREFUSED (111) Connection refused``: the answer in the platform's own terms."""
    explained = explain_in(exc, fam, DEFAULT_ERRNO_URL)
    if not explained:
        return exc.strerror or exc.message
    first = explained[0]
    return f"{first.name} ({first.number}) {first.description}".strip()


def _errno(exc: ExceptionInfo, number: int, fam: str, errno_url: str) -> CodeExplanation | None:
    if fam == "windows":
        known = tables.WINSOCK.get(number) or tables.WINDOWS_CRT.get(number)
    else:
        known = errno_table(fam).get(number)
    name = exc.errno_name or (known[0] if known else "")
    if name.startswith("WSAE"):
        name = name[3:]  # Python's errno module names 10061 ECONNREFUSED on Windows
    if not name.startswith("E"):
        return None
    # The table's text unless it names another constant (MIPS numbers differently): asyncio
    # rewrites strerror to "Connect call failed (...)", which explains nothing.
    table_text = known[1] if known and known[0].removeprefix("WSA") == name else ""
    return CodeExplanation(
        kind="errno",
        number=number,
        name=name,
        description=table_text or exc.strerror,
        url=errno_url.format(name=name, number=number),
    )


def _winerror(number: int, strerror: str) -> CodeExplanation:
    if number in tables.WINSOCK:
        name, text = tables.WINSOCK[number]
        url = tables.WINSOCK_ERRORS.format(name=name)
    else:
        name, text = tables.WINDOWS_SYSTEM.get(number, ("", ""))
        page = next((p for top, p in tables.WINDOWS_SYSTEM_PAGES if number <= top), "")
        if name and page:
            url = tables.WINDOWS_SYSTEM_ERRORS.format(page=page, name=name)
        else:
            url = tables.WINDOWS_SYSTEM_ERRORS.format(page="0-499", name="").rstrip("#")
    return CodeExplanation(
        kind="winerror",
        number=number,
        name=name or f"WinError {number}",
        description=strerror or text,
        url=url,
    )


_EAI_TABLES = {"linux": tables.EAI_LINUX, "bsd": tables.EAI_BSD, "windows": tables.EAI_WINDOWS}


def _eai(exc: ExceptionInfo, number: int, fam: str) -> CodeExplanation:
    known = _EAI_TABLES[fam].get(number)
    name = exc.errno_name if exc.errno_name.startswith("EAI_") else (known[0] if known else "")
    # Windows prints only "getaddrinfo failed"; the table's text says why.
    return CodeExplanation(
        kind="eai",
        number=number,
        name=name or f"EAI code {number}",
        description=(known[1] if known else "") or exc.strerror,
        url=tables.SOCKET_DOCS.format(name="gaierror"),
    )


def _herror(exc: ExceptionInfo, number: int) -> CodeExplanation:
    name, text = tables.HERROR.get(number, (f"h_errno {number}", ""))
    return CodeExplanation(
        kind="herror",
        number=number,
        name=name,
        description=exc.strerror or text,
        url=tables.SOCKET_DOCS.format(name="herror"),
    )


def _verify(number: int, message: str) -> CodeExplanation:
    """OpenSSL's certificate verify result: ``X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT`` (18)."""
    name, text = tables.X509_VERIFY.get(number, (f"X509 verify error {number}", ""))
    return CodeExplanation(
        kind="verify",
        number=number,
        name=name,
        description=message or text,
        url=tables.OPENSSL_DOCS.format(name="X509_STORE_CTX_get_error"),
    )


def _ssl(number: int) -> CodeExplanation:
    name, text = tables.SSL.get(number, (f"SSL error {number}", ""))
    return CodeExplanation(
        kind="ssl",
        number=number,
        name=name,
        description=text,
        url=tables.OPENSSL_DOCS.format(name="SSL_get_error"),
    )
