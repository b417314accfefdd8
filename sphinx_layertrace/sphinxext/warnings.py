"""The extension's one warning type and its subtypes, defined once.

Every problem is logged as ``layertrace.<subtype>`` so an author can silence one kind
(``suppress_warnings = ["layertrace.timeout"]``) or all of them (``["layertrace"]``). Emitters
call :func:`warn` (or :func:`error`); the warnings reference page checks its sections against
:data:`SUBTYPES`, so a new subtype cannot go undocumented. ``Subtype`` is a ``Literal``: mypy
rejects a subtype that is not listed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, get_args

from sphinx.util.logging import SphinxLoggerAdapter

TYPE = "layertrace"

Subtype = Literal[
    "drift",  # the outcome is not what :expect: says
    "timeout",  # the snippet ran past its :timeout:
    "crash",  # the child died without reporting
    "missing-interpreter",  # a :python: label names no working interpreter
    "setup",  # layertrace-setup code raised, or the child could not report
    "not-run",  # layertrace_execute = "never" and nothing cached or frozen
    "captures",  # a frozen capture file could not be read
    "cache",  # the capture cache directory cannot be written (full, read-only, a file)
    "option",  # an unknown or invalid directive option
    "config",  # an invalid layertrace_* value in conf.py (an error)
]
#: Every subtype the extension can emit, in the order the reference page lists them.
SUBTYPES: tuple[str, ...] = get_args(Subtype)


#: Called as ``listener(subtype, message, location)`` for every warning and error emitted, so the
#: CLI's ``check`` reports what a build would say without parsing Sphinx's output.
Listener = Callable[[str, str, Any], None]
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call ``listener`` for each warning emitted inside the ``with`` block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _tell(subtype: Subtype, message: str, location: Any) -> None:
    for listener in list(_listeners):
        listener(subtype, message, location)


def warn(logger: SphinxLoggerAdapter, subtype: Subtype, message: str, location: Any = None) -> None:
    """One warning line, ``layertrace: <message>``, at the author's ``location``."""
    logger.warning(f"{TYPE}: {message}", location=location, type=TYPE, subtype=subtype)
    _tell(subtype, message, location)


def error(
    logger: SphinxLoggerAdapter, subtype: Subtype, message: str, location: Any = None
) -> None:
    """One error line (a bad setting the build replaced by its default), ``message`` as is."""
    logger.error(message, location=location, type=TYPE, subtype=subtype)
    _tell(subtype, message, location)
