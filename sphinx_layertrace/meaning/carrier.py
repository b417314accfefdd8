"""Which exception of a chain carries the OS's error code.

Two answers, both needed: the last exception CPython *prints* with a code (its header line is
where the kernel's row goes, and its frames are the path the picture shows), and the exception
whose frames really reached the OS (a wrapper such as aiohttp's ``ClientConnectorError`` copies
the code of the ``ConnectionRefusedError`` beneath it). Pure: no Sphinx, no processes.
"""

from __future__ import annotations

from sphinx_layertrace.model import ExceptionInfo


def carries_code(exc: ExceptionInfo) -> bool:
    """Whether ``exc`` has an errno or a WinError (a Python-level timeout has neither)."""
    return exc.errno is not None or exc.winerror is not None


def printed_carrier(exc: ExceptionInfo | None) -> ExceptionInfo | None:
    """The last exception CPython prints that carries a code; None when none does."""
    return None if exc is None else last_carrier(exc.walk())


def last_carrier(chain: list[ExceptionInfo]) -> ExceptionInfo | None:
    """:func:`printed_carrier` of a chain already walked (``ExceptionInfo.walk``)."""
    found = None
    for item in chain:
        if carries_code(item):
            found = item
    return found


def failing_oserror(exc: ExceptionInfo | None) -> ExceptionInfo | None:
    """The exception that carries the OS's answer, innermost wrapper removed.

    Starts at the last code-carrying exception CPython prints and steps into its cause/context
    while that carries the same code, so aiohttp's ``ClientConnectorError(errno=111)`` yields the
    ``ConnectionRefusedError`` whose frames reach the socket. Suppressed contexts (httpcore's
    ``raise ... from None``) are searched only when nothing printed carries a code.
    """
    if exc is None:
        return None
    return failing_beneath(exc, printed_carrier(exc))


def failing_beneath(exc: ExceptionInfo, chosen: ExceptionInfo | None) -> ExceptionInfo | None:
    """:func:`failing_oserror` of ``exc`` whose printed carrier is already known (``chosen``):
    the explanation finds that carrier anyway, and walking the chain again for it is waste."""
    if chosen is None:
        hidden = [e for e in walk_all(exc) if carries_code(e)]
        if not hidden:
            return None
        chosen = hidden[-1]
    while True:
        inner = next(
            (
                e
                for e in walk_all(chosen)
                if e is not chosen
                and carries_code(e)
                and (e.errno, e.winerror) == (chosen.errno, chosen.winerror)
            ),
            None,
        )
        if inner is None:
            return chosen
        chosen = inner


def walk_all(exc: ExceptionInfo) -> list[ExceptionInfo]:
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
