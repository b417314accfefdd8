"""CPython's own traceback colours (3.13+, ``PYTHON_COLORS=1``) as CSS classes for HTML.

The child keeps the coloured text beside the plain one (``ExceptionInfo.colored``). Only the SGR
codes CPython's ``_colorize`` writes matter here (reset, bold, the eight colours and their bright
forms), so a dozen lines read them; no terminal emulator is needed. The colours become spans over
the plain text, which every builder still prints as it is: text, LaTeX and a reader's copy never
see an escape code, and HTML adds classes (``lt-ansi-magenta``, ``lt-ansi-bold``) that
``layertrace.css`` themes light and dark.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from html import escape

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
#: (start, end, "lt-ansi-magenta lt-ansi-bold") over the plain text
Span = tuple[int, int, str]


def _apply(codes: str, colour: str, bold: bool) -> tuple[str, bool]:
    for part in codes.split(";") if codes else ["0"]:
        code = int(part) if part.isdigit() else -1
        if code == 0:
            colour, bold = "", False
        elif code == 1:
            bold = True
        elif code == 22:
            bold = False
        elif code == 39:
            colour = ""
        elif 30 <= code <= 37:
            colour = _NAMES[code - 30]
        elif 90 <= code <= 97:
            colour = "grey" if code == 90 else f"bright-{_NAMES[code - 90]}"
    return colour, bold


def _classes(colour: str, bold: bool) -> str:
    return " ".join(c for c in (colour and f"lt-ansi-{colour}", bold and "lt-ansi-bold") if c)


def parse(coloured: str) -> tuple[str, list[Span]]:
    """The text without its SGR codes, and the coloured runs of it."""
    plain: list[str] = []
    spans: list[Span] = []
    colour, bold, at, last = "", False, 0, 0
    for match in [*_SGR.finditer(coloured), None]:
        piece = coloured[last : match.start() if match else len(coloured)]
        if piece and (colour or bold):
            spans.append((at, at + len(piece), _classes(colour, bold)))
        plain.append(piece)
        at += len(piece)
        if match:
            colour, bold = _apply(match[1], colour, bold)
            last = match.end()
    return "".join(plain), spans


def spans_for(formatted: str, coloured: str) -> list[Span] | None:
    """The colour spans of ``formatted``, or None when ``coloured`` is not the same text
    (no colour, or the two were cut or masked differently): then the page stays plain."""
    if not coloured:
        return None
    plain, spans = parse(coloured)
    return spans if plain == formatted else None


def split(texts: Sequence[str | None], spans: list[Span]) -> list[list[list[int | str]]]:
    """Per piece of the traceback, its spans relative to that piece. ``None`` pieces are not
    part of the text (the kernel's pseudo-frame) and get none."""
    out: list[list[list[int | str]]] = []
    at = first = 0  # spans before ``first`` end before the current piece (they are in order)
    for text in texts:
        if text is None:
            out.append([])
            continue
        end = at + len(text)
        while first < len(spans) and spans[first][1] <= at:
            first += 1
        share: list[list[int | str]] = []
        for s, e, classes in itertools.islice(spans, first, None):
            if s >= end:
                break
            share.append([max(s, at) - at, min(e, end) - at, classes])
        out.append(share)
        at = end
    return out


def html(text: str, spans: Sequence[Sequence[int | str]], start: int = 0, end: int = -1) -> str:
    """``text[start:end]`` escaped, with each coloured run in a ``<span>``."""
    end = len(text) if end < 0 else end
    if not spans:  # no colours (before 3.13, or turned off): the common case, kept cheap
        return escape(text[start:end], quote=False)
    out: list[str] = []
    at = start
    for first, last, classes in spans:
        s, e = max(int(first), start), min(int(last), end)
        if s >= e:
            continue
        out.append(escape(text[at:s], quote=False))
        out.append(f'<span class="{escape(str(classes))}">{escape(text[s:e], quote=False)}</span>')
        at = e
    out.append(escape(text[at:end], quote=False))
    return "".join(out)
