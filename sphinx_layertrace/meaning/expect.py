"""Whether a capture met ``:expect:``.

Expectation matching works on the recorded MRO, so subclasses match exactly as an ``except``
clause would, without importing anything from the snippet's interpreter. Pure: no Sphinx, no
processes.
"""

from __future__ import annotations

import re

from sphinx_layertrace.model import Capture, ExceptionInfo

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
