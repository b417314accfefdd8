"""The few phrases every part of the page and the terminal words the same way."""

from __future__ import annotations

from sphinx_layertrace.model import Capture


def counted(number: int, noun: str, plural: str = "") -> str:
    """``1 snippet``, ``2 snippets``: the one plural rule every count shown to people follows."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def caption(capture: Capture) -> str:
    """``Linux (glibc 2.36) · CPython 3.11.7``: where a capture was taken."""
    return f"{capture.platform.pretty} · {capture.python.pretty}"


def tab_label(capture: Capture) -> str:
    """The tab of a capture: its caption, and ``not recorded`` for one written by hand."""
    return caption(capture) + (" · not recorded" if capture.reconstructed else "")


#: How a row of the picture read from an exception object is marked, in every output.
FLATTENED_LABEL = "flattened · read from the exception"
