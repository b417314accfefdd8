"""The code as it was typed: a ``>>>`` session with its output, or the script and its output.

Comment-only inputs and compound statements are recognised exactly as the child's prompt did,
so the transcript on the page is the one a reader would see in a terminal.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from sphinx_layertrace.child import protocol
from sphinx_layertrace.model import Capture, Step

#: The child's own test of a comment-only input (typed here: the child module is not).
_is_comment: Callable[[str], bool] = protocol.is_comment


def session_text(capture: Capture) -> str:
    """The code as typed: a ``>>>`` session with its output, or the script and its output."""
    if capture.style == "script":
        text = capture.code if capture.code.endswith("\n") else capture.code + "\n"
        return text + capture.stdout
    if not capture.steps:  # the child died before reporting (timeout, crash): prompts by layout
        return _prompted_source(capture.code) + capture.stdout
    lines: list[str] = []
    for step in capture.steps:
        lines.append(_prompted(step))
        if step.ran and step.output:
            lines.append(step.output)
    if capture.truncated:
        lines.append("[… output cut at the layertrace_max_output limit]\n")
    return "".join(lines)


def _prompted(step: Step) -> str:
    lines = step.source.rstrip("\n").split("\n")
    if _is_comment(step.source):
        out = [f">>> {line}".rstrip() + "\n" for line in lines]  # each comment line is an input
    else:
        out = [f">>> {lines[0]}\n"] + [f"... {line}\n" for line in lines[1:]]
    waits = step.waits if step.waits is not None else _ends_with_empty_line(step.source)
    if waits:
        out.append("...\n")
    if not step.ran:
        out = [f"{line.rstrip()}    # not run\n" if i == 0 else line for i, line in enumerate(out)]
    return "".join(out)


def _ends_with_empty_line(source: str) -> bool:
    """Whether the input was finished with an empty ``...`` line, as typed at the prompt (an
    input that does not parse ends as soon as the prompt reads the offending line). Only for
    captures that did not record it: this parses with the Python running Sphinx, not the
    snippet's (``def f[T]()`` is a compound statement on 3.12, a syntax error on 3.11)."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return False
    return bool(body) and isinstance(body[-1], protocol.COMPOUND)


def _prompted_source(code: str) -> str:
    """``>>>`` before each top-level line, ``...`` before the indented ones: how it was typed."""
    out = []
    for line in code.rstrip("\n").split("\n"):
        top = line and not line[0].isspace() and not line.startswith((")", "]", "}"))
        out.append(f"{'>>>' if top else '...'} {line}".rstrip() + "\n")
    return "".join(out)
