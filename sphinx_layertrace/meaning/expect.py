"""Whether a capture met ``:expect:``.

An expectation is comma-separated alternatives; each is a chain written outermost first with
``>`` (``requests.ConnectionError > ConnectionRefusedError(ECONNREFUSED)``), each link an
exception name optionally pinned to a symbolic code in parentheses. Names match on the recorded
MRO, so subclasses match exactly as an ``except`` clause would, without importing anything from
the snippet's interpreter. Codes are read through the capture's platform (:mod:`.codes`), so
``ECONNREFUSED`` holds for errno 111 on Linux, 61 on macOS and WinError 10061 on Windows, and
one expectation serves every platform's capture. Pure: no Sphinx, no processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sphinx_layertrace.meaning import codes
from sphinx_layertrace.model import Capture, ExceptionInfo, Platform

NOTHING = "nothing"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LINK = re.compile(r"(?P<name>[^()\s]+)\s*(?:\((?P<code>[^()]*)\))?")
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
_SSL_REASON = re.compile(r"\[SSL: ([A-Z0-9_]+)\]")

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


@dataclass(frozen=True)
class Link:
    """One exception of an expected chain: its name and, optionally, its symbolic code."""

    name: str
    code: str = ""

    def __str__(self) -> str:
        return f"{self.name}({self.code})" if self.code else self.name


def parse_expect(text: str) -> tuple[str, ...]:
    """Split ``:expect:`` into alternatives, each normalised (``A > B(CODE)``).

    ``nothing`` means a normal return is expected. Raises :class:`ValueError` with one line
    saying what is wrong, for the directive's option warning.
    """
    parts = tuple(part.strip() for part in text.replace("\n", ",").split(","))
    parts = tuple(part for part in parts if part)
    if not parts:
        raise ValueError(":expect: needs exception names (such as OSError) or 'nothing'")
    return tuple(" > ".join(str(link) for link in parse_chain(part)) for part in parts)


def parse_chain(text: str) -> tuple[Link, ...]:
    """One alternative, outermost first; :class:`ValueError` when it is malformed."""
    pieces = [piece.strip() for piece in text.split(">")]
    if len(pieces) > 1 and any(p == NOTHING for p in pieces):
        raise ValueError(f":expect: {text!r}: 'nothing' cannot be part of a chain")
    if any(not piece for piece in pieces):
        raise ValueError(
            f":expect: {text!r} has an empty link (write a chain as 'Outer > Inner', "
            "outermost first)"
        )
    return tuple(_parse_link(piece, text) for piece in pieces)


def _parse_link(piece: str, whole: str) -> Link:
    match = _LINK.fullmatch(piece)
    if match is None or not _NAME.fullmatch(match["name"]):
        raise ValueError(
            f":expect: {piece!r} is not an exception name "
            "(write names like ConnectionRefusedError or socket.gaierror, comma-separated)"
        )
    code = match["code"]
    if code is None:
        return Link(match["name"])
    code = code.strip()
    if not _CODE.fullmatch(code):
        raise ValueError(
            f":expect: {whole!r}: the code in parentheses must be a symbolic name such as "
            f"ECONNREFUSED or EAI_NONAME (got {code!r}); a number differs between platforms"
        )
    return Link(match["name"], code)


def expectation_matches(
    expected: str,
    exc: ExceptionInfo | None,
    python_version: str = "",
    platform: Platform | None = None,
) -> bool:
    """Would ``except <expected>`` catch ``exc`` (and, for a chain, its causes hold the rest)?

    ``None`` is a normal return. ``python_version`` (the capturing interpreter's) makes aliases
    exact: ``socket.timeout`` is ``TimeoutError`` only from 3.10 on; without it, aliases apply
    on every version. ``platform`` (the capture's) reads codes; without it, Linux's numbering.
    """
    if expected == NOTHING:
        return exc is None
    if exc is None:
        return False
    chain = parse_chain(expected)
    where = platform or Platform(system="Linux")
    if not _link_matches(chain[0], exc, python_version, where):
        return False
    return _below(chain[1:], exc, python_version, where, set())


def _below(
    chain: tuple[Link, ...],
    exc: ExceptionInfo,
    version: str,
    platform: Platform,
    seen: set[int],
) -> bool:
    """Do the links of ``chain`` appear, in order, among the causes and contexts of ``exc``?"""
    if not chain:
        return True
    if id(exc) in seen:
        return False
    seen = seen | {id(exc)}
    for child in (exc.cause, exc.context):
        if child is None:
            continue
        if _link_matches(chain[0], child, version, platform) and _below(
            chain[1:], child, version, platform, seen
        ):
            return True
        if _below(chain, child, version, platform, seen):
            return True
    return False


def _link_matches(link: Link, exc: ExceptionInfo, version: str, platform: Platform) -> bool:
    mro = exc.mro or (f"{exc.module or 'builtins'}.{exc.type}",)
    candidates = [link.name]
    alias = _ALIASES.get(link.name)
    if alias is not None and _at_least(version, alias[1]):
        candidates.append(alias[0])
    if not any(_mro_has(candidate, mro) for candidate in candidates):
        return False
    return not link.code or link.code in code_names(exc, platform)


def code_names(exc: ExceptionInfo, platform: Platform) -> set[str]:
    """Every symbolic name the exception's codes have on ``platform``: ``ECONNREFUSED`` for
    errno 111 on Linux, 61 on macOS and WinError 10061 (``WSAECONNREFUSED``) on Windows."""
    names = {item.name for item in codes.explain(exc, platform)}
    if exc.errno_name:
        names.add(exc.errno_name)
    names |= {name[3:] for name in names if name.startswith("WSAE")}
    names.update(_SSL_REASON.findall(exc.message))
    return names


def expectations_met(
    expected: tuple[str, ...],
    exc: ExceptionInfo | None,
    python_version: str = "",
    platform: Platform | None = None,
) -> bool:
    """True when any of the alternatives of one ``:expect:`` holds; empty means no check."""
    return not expected or any(
        expectation_matches(e, exc, python_version, platform) for e in expected
    )


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
    return expectations_met(tuple(expected), exc, capture.python.version, capture.platform)
