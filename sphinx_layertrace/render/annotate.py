"""Model → annotated traceback: CPython's own text, cut into segments that know their layer.

The text stays exactly what the interpreter printed; annotation only says which lines belong to
which frame, adds a link, and inserts one pseudo-frame for the kernel's answer. Every builder
renders from these segments, so HTML, text and LaTeX can never disagree about a layer.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from sphinx_layertrace.child import protocol
from sphinx_layertrace.meaning.codes import CodeExplanation, KernelCall, explain, kernel_call
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.meaning.links import source_url
from sphinx_layertrace.model import Capture, ExceptionInfo, Frame, Step

_FILE_LINE = re.compile(
    r'^(?P<indent>[ |+\-]*)File "(?P<file>.*)", line (?P<line>\d+), in (?P<name>.*)$'
)


@dataclass(frozen=True)
class Segment:
    """A run of traceback text. ``kind`` is text, frame or kernel; frames carry a layer."""

    kind: str
    text: str
    layer: str = ""
    href: str = ""
    filename: str = ""
    module: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class StackEntry:
    """One box of the layer diagram: a layer and the calls the failure passed through in it."""

    layer: str
    calls: tuple[str, ...]


@dataclass(frozen=True)
class Annotated:
    segments: tuple[Segment, ...]
    stack: tuple[StackEntry, ...]
    explanations: tuple[CodeExplanation, ...]
    kernel: KernelCall | None


def annotate(
    capture: Capture, layers: LayerMap, *, source_links: bool = True, errno_url: str = ""
) -> Annotated:
    exc = capture.exception
    if exc is None:
        return Annotated((), (), (), None)
    frames = _frame_index(exc)
    kernel = kernel_call(capture)
    carrier = _errno_carrier(exc)
    segments = _segments(exc.formatted, frames, layers, capture, source_links)
    if kernel is not None and carrier is not None:
        segments = _insert_kernel(segments, carrier, kernel)
    explanations: list[CodeExplanation] = []
    for item in exc.walk():
        kwargs = {"errno_url": errno_url} if errno_url else {}
        for found in explain(item, capture.platform, **kwargs):
            if found not in explanations:
                explanations.append(found)
    return Annotated(tuple(segments), _stack(exc, layers, kernel), tuple(explanations), kernel)


def _frame_index(exc: ExceptionInfo) -> dict[tuple[str, int | None, str], Frame]:
    index: dict[tuple[str, int | None, str], Frame] = {}
    for item in exc.walk():
        for frame in item.frames:
            index.setdefault((frame.filename, frame.lineno, frame.name), frame)
    return index


def _errno_carrier(exc: ExceptionInfo) -> ExceptionInfo | None:
    found = None
    for item in exc.walk():
        if item.errno is not None or item.winerror is not None:
            found = item
    return found


def _segments(
    text: str,
    frames: dict[tuple[str, int | None, str], Frame],
    layers: LayerMap,
    capture: Capture,
    source_links: bool,
) -> list[Segment]:
    segments: list[Segment] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        match = _FILE_LINE.match(lines[i].rstrip("\n"))
        if not match:
            _append_text(segments, lines[i])
            i += 1
            continue
        key = (match["file"], int(match["line"]), match["name"])
        frame = frames.get(key)
        body = [lines[i]]
        depth = len(match["indent"]) + 2
        i += 1
        while (
            i < len(lines)
            and _indent_of(lines[i]) > depth
            and not _FILE_LINE.match(lines[i].rstrip("\n"))
        ):
            body.append(lines[i])
            i += 1
        layer = layers.layer_of(frame) if frame else ""
        href = ""
        if frame and source_links:
            href = source_url(frame, capture.python) or ""
        segments.append(
            Segment(
                "frame",
                "".join(body),
                layer=layer,
                href=href,
                filename=match["file"],
                module=frame.module if frame else "",
            )
        )
    return segments


def _indent_of(line: str) -> int:
    stripped = line.lstrip(" |")
    return len(line) - len(stripped)


def _append_text(segments: list[Segment], line: str) -> None:
    if segments and segments[-1].kind == "text":
        segments[-1] = Segment("text", segments[-1].text + line)
    else:
        segments.append(Segment("text", line))


def _insert_kernel(
    segments: list[Segment], carrier: ExceptionInfo, kernel: KernelCall
) -> list[Segment]:
    """Put the kernel pseudo-frame right above the line that names the errno's exception."""
    header = carrier.header.splitlines()[0] if carrier.header else ""
    kernel_segment = Segment("kernel", _kernel_text(kernel), layer="os", href=kernel.url)
    out: list[Segment] = []
    inserted = False
    for segment in segments:
        if inserted or segment.kind != "text" or not header:
            out.append(segment)
            continue
        lines = segment.text.splitlines(keepends=True)
        for n, line in enumerate(lines):
            if line.rstrip("\n").lstrip(" |").startswith(header.strip()):
                before, after = "".join(lines[:n]), "".join(lines[n:])
                if before:
                    out.append(Segment("text", before))
                out.append(kernel_segment)
                out.append(Segment("text", after))
                inserted = True
                break
        else:
            out.append(segment)
    if not inserted:
        out.append(kernel_segment)
    return out


def _kernel_text(kernel: KernelCall) -> str:
    """Short enough to fit beside the frames: the call and the code (its text is just below)."""
    answer = kernel.result.split(") ", 1)[0] + ")" if ") " in kernel.result else kernel.result
    return f"  {kernel.call}  →  {answer}\n"


def _stack(
    exc: ExceptionInfo, layers: LayerMap, kernel: KernelCall | None
) -> tuple[StackEntry, ...]:
    """The layers the failure crossed, top (the user's call) to bottom (the kernel)."""
    carrier = _errno_carrier(exc) or exc
    frames = list(carrier.frames)
    entries: list[StackEntry] = []
    for frame in frames:
        layer = layers.layer_of(frame)
        call = frame.qualname or frame.name
        if frame.origin != "user" and frame.module and frame.module != "__main__":
            call = f"{frame.module}.{call}"
        if entries and entries[-1].layer == layer:
            if call not in entries[-1].calls:
                entries[-1] = StackEntry(layer, (*entries[-1].calls, call))
        else:
            entries.append(StackEntry(layer, (call,)))
    if kernel is not None:
        entries.append(StackEntry("os", (kernel.call,)))
    return tuple(entries)


def plain_text(annotated: Annotated) -> str:
    """The annotated traceback for builders without HTML: labels in brackets, kernel marked."""
    out: list[str] = []
    for segment in annotated.segments:
        if segment.kind == "frame" and segment.layer:
            first, _, rest = segment.text.partition("\n")
            out.append(f"{first}  [{segment.layer}]\n{rest}")
        elif segment.kind == "kernel":
            out.append(f"{segment.text.rstrip()}  [os]\n")
        else:
            out.append(segment.text)
    return "".join(out)


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
    if protocol.is_comment(step.source):
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
