"""What differs between the Sphinx releases of the matrix, for the tests that read build logs."""

from __future__ import annotations

import re

import sphinx

#: Sphinx prints a warning's `` [type.subtype]`` from 7.3 on (``show_warning_types``, the default
#: from 8.0; the matrix's test roots turn it on).
WARNING_TYPES = sphinx.version_info >= (7, 3)


def typed(kind: str) -> str:
    """Regex for the ``[kind]`` suffix of a warning line, empty where Sphinx does not print it."""
    return rf" \[{re.escape(kind)}\]" if WARNING_TYPES else ""


_COLOUR_SPAN = re.compile(r'<span class="lt-ansi-[^"]*">([^<]*)</span>')


def uncoloured(html: str) -> str:
    """A page without the spans of CPython 3.13's traceback colours (``render/colour.py``), so a
    test can look for a traceback line on every Python of the matrix. The spans hold escaped
    text only and never nest."""
    return _COLOUR_SPAN.sub(r"\1", html)
