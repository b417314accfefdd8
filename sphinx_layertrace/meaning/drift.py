"""Whether a capture drifted from its ``:expect:``, and how that is said.

One decision, two phrasings: the build's warning and the page say "expected X, but the snippet
raised Y: message"; ``check`` prints the shorter "expected X, got Y: message" a terminal line
wants. Both come from the same :class:`Drift`, so they can never disagree about what drifted.
Pure: no Sphinx, no processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sphinx_layertrace.meaning.expect import NOTHING, capture_meets, code_names
from sphinx_layertrace.model import Capture, ExceptionInfo


@dataclass(frozen=True)
class Drift:
    """What ``:expect:`` asked for and what the capture did instead."""

    expected: tuple[str, ...]
    capture: Capture

    @property
    def wanted_nothing(self) -> bool:
        return self.expected == (NOTHING,)

    def sentence(self) -> str:
        """The warning's and the page's words."""
        exc = self.capture.exception
        if self.wanted_nothing:
            got = exc.qualified if exc else self.capture.outcome
            return f"expected no exception, but the snippet raised {got}"
        wanted = ", ".join(self.expected)
        if self.capture.outcome != "raised" or exc is None:
            return f"expected {wanted}, but the snippet did not raise"
        return (
            f"expected {wanted}, but the snippet raised {self._raised()}: {one_line(exc.message)}"
        )

    def short(self) -> str:
        """``check``'s words: ``expected X, got Y``."""
        wanted = "no exception" if self.wanted_nothing else ", ".join(self.expected)
        exc = self.capture.exception
        if self.capture.outcome == "raised" and exc is not None:
            message = one_line(exc.message, 100)
            got = f"{self._raised()}: {message}" if message else self._raised()
            return f"expected {wanted}, got {got}"
        return f"expected {wanted}, got {outcome_words(self.capture)}"

    def _raised(self) -> str:
        """What was raised, in the expectation's own terms: with its codes when a code is
        pinned (``ConnectionRefusedError (ETIMEDOUT)``: the type alone may be what was
        expected), and as the whole chain, outermost first, when a chain is expected."""
        exc = self.capture.exception
        assert exc is not None
        codes = any("(" in e for e in self.expected)
        links = _chain(exc) if any(">" in e for e in self.expected) else [exc]
        return " > ".join(self._link(link, codes) for link in links)

    def _link(self, exc: ExceptionInfo, codes: bool) -> str:
        if not codes:
            return exc.qualified
        names = code_names(exc, self.capture.platform)
        shown = sorted(n for n in names if not n.startswith("WSA"))
        return f"{exc.qualified} ({', '.join(shown)})" if shown else exc.qualified


def _chain(exc: ExceptionInfo) -> list[ExceptionInfo]:
    """The exception and what it came from (cause, else context), outermost first."""
    found: list[ExceptionInfo] = []
    current: ExceptionInfo | None = exc
    while current is not None and not any(current is seen for seen in found):
        found.append(current)
        current = current.cause or current.context
    return found


def drift(expected: Sequence[str], capture: Capture) -> Drift | None:
    """The drift of ``capture`` from ``expected``, or None when it did what was expected."""
    if capture_meets(tuple(expected), capture):
        return None
    return Drift(tuple(expected), capture)


def outcome_words(capture: Capture) -> str:
    """What the capture did, in a few words: ``Type: message``, ``no exception``, the detail."""
    exc = capture.exception
    if capture.outcome == "raised" and exc is not None:
        message = one_line(exc.message, 100)
        return f"{exc.qualified}: {message}" if message else exc.qualified
    if capture.outcome == "returned":
        return "no exception"
    return capture.detail or capture.outcome


def one_line(text: str, limit: int = 120) -> str:
    """``text`` on one line, cut with an ellipsis at ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
