"""The descent across a chain: one path from the user's line to whoever answered.

CPython prints a chain innermost first, each exception with the frames from where it was caught
to where it was raised. Stitched at the catching frame, the tracebacks become one path down
(``requests.get`` → the pool → the connection → ``socket.create_connection``), and the links
between them are the conversions on the way back up (``ConnectionRefusedError`` became
``NewConnectionError``, ``from``: cause). A context that a library hid with ``raise ... from
None`` is still followed, marked hidden; the traceback text is never changed by any of this.
Pure: no Sphinx, no processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sphinx_layertrace.model import ExceptionInfo, Frame

#: How the upper exception is linked to the one it replaced.
Link = Literal["cause", "context", "hidden"]


@dataclass(frozen=True)
class Conversion:
    """One step of the way back up: ``lower`` was caught, and ``upper`` raised instead."""

    lower: str  # qualified name of the exception caught
    upper: str  # qualified name of the exception raised in its place
    where: str  # the call that raised ``upper`` ("urllib3.util.retry.Retry.increment"), or ""
    link: Link  # raise ... from (cause), raised while handling (context), or hidden (from None)

    @property
    def how(self) -> str:
        """How the two are linked, in words: ``cause``, ``context``, ``context, hidden …``."""
        return LINK_WORDS[self.link]


#: What each link is called where a conversion is shown.
LINK_WORDS: dict[Link, str] = {
    "cause": "cause: raise … from",
    "context": "context: raised while handling it",
    "hidden": "context, hidden by raise … from None",
}


@dataclass(frozen=True)
class Descent:
    """The stitched path, top to bottom, and the conversions, bottom to top."""

    frames: tuple[Frame, ...]
    conversions: tuple[Conversion, ...]
    bottom: ExceptionInfo  # the innermost exception on the path: where the failure began
    chain: tuple[ExceptionInfo, ...] = ()  # outermost first, hidden contexts included


def descend(exc: ExceptionInfo) -> Descent:
    """Follow ``exc``'s cause (else its context, hidden or not) down to the first failure."""
    chain, links = _chain(exc)
    path = list(chain[0].frames)
    for inner in chain[1:]:
        path = _stitch(path, list(inner.frames))
    conversions = tuple(
        Conversion(
            lower=lower.qualified,
            upper=upper.qualified,
            where=call_name(upper.frames[-1]) if upper.frames else "",
            link=link,
        )
        for upper, lower, link in reversed(list(zip(chain, chain[1:], links, strict=False)))
    )
    return Descent(tuple(path), conversions, chain[-1], tuple(chain))


def call_name(frame: Frame) -> str:
    """``smtplib.SMTP.connect`` (the user's own functions without a module)."""
    call = frame.qualname or frame.name
    if frame.origin != "user" and frame.module and frame.module != "__main__":
        call = f"{frame.module}.{call}"
    return call


def _chain(exc: ExceptionInfo) -> tuple[list[ExceptionInfo], list[Link]]:
    chain = [exc]
    links: list[Link] = []
    current = exc
    while True:
        link: Link
        if current.cause is not None:
            lower, link = current.cause, "cause"
        elif current.context is not None:
            lower, link = current.context, "hidden" if current.suppress_context else "context"
        else:
            return chain, links
        if any(lower is seen for seen in chain):
            return chain, links
        chain.append(lower)
        links.append(link)
        current = lower


def _stitch(path: list[Frame], inner: list[Frame]) -> list[Frame]:
    """``path`` down to the frame that caught ``inner``'s exception, then ``inner``'s frames.

    The catching frame is ``inner[0]`` (a traceback starts where its exception was caught); in
    ``path`` it is the same function, at the line of the handler rather than of the ``try``.
    Without such a frame (a task's traceback, a callback) the inner frames follow the path.
    """
    if not inner:
        return path
    first = inner[0]
    for index in range(len(path) - 1, -1, -1):
        frame = path[index]
        if (frame.filename, frame.name) == (first.filename, first.name):
            return path[:index] + inner
    return path + inner
