"""Where a stdlib frame's source is: the CPython line at the capturing interpreter's tag.

Source links go to the CPython tag of the interpreter that produced the capture, because line
numbers move between patch releases (``socket.py`` 851 in 3.11.7, 864 in 3.13.0). Pure: no
Sphinx, no processes.
"""

from __future__ import annotations

import re

from sphinx_layertrace.model import Frame, PythonInfo

CPYTHON_SOURCE_URL = "https://github.com/python/cpython/blob/v{version}/Lib/{path}#L{lineno}"

# A released tag: 3.11.7, 3.13.0rc1, 3.12.0b4, 3.14.0a1. Anything else (3.14.0a1+ dev builds,
# vendor suffixes) has no tag to link to.
_TAGGED_VERSION = re.compile(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?")


def source_url(frame: Frame, python: PythonInfo) -> str | None:
    """The exact CPython source line of a stdlib frame, or None when no tag can be trusted."""
    if python.implementation != "CPython" or not _TAGGED_VERSION.fullmatch(python.version):
        return None
    if frame.origin != "stdlib" or frame.lineno is None:
        return None
    path = frame.stdlib_path.replace("\\", "/")
    if not path and frame.filename.startswith("<frozen ") and frame.filename.endswith(">"):
        path = frame.filename[len("<frozen ") : -1].replace(".", "/") + ".py"
    if not path or path.startswith(("/", "../")) or "site-packages/" in path:
        return None
    return CPYTHON_SOURCE_URL.format(version=python.version, path=path, lineno=frame.lineno)
