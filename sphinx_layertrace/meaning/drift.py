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
from sphinx_layertrace.model import Capture


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
        """The raised type, with its codes' names when the expectation pins a code (the type
        alone may be what was expected: ``ConnectionRefusedError (ETIMEDOUT)``)."""
        exc = self.capture.exception
        assert exc is not None
        if not any("(" in e for e in self.expected):
            return exc.qualified
        names = sorted(n for n in code_names(exc, self.capture.platform) if not n.startswith("WSA"))
        return f"{exc.qualified} ({', '.join(names)})" if names else exc.qualified


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
