"""Explanation → annotated traceback: CPython's own text, cut into segments that know their layer.

The text stays exactly what the interpreter printed; annotation only says which lines belong to
which frame, adds the frame's link, and inserts one pseudo-frame for the kernel's answer. The
meaning of each frame comes from the :class:`.Explanation`; nothing is worked out here. Every
builder renders from these segments, so HTML, text and LaTeX can never disagree about a layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sphinx_layertrace.meaning.explanation import Explanation, FrameMeaning
from sphinx_layertrace.meaning.kernel import KernelCall

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
    component: str = ""  # "urllib3 pool"; for the answer's row, who answered ("OpenSSL")
    glue: str = ""  # "glue" when the frame only passes an exception on
    fold: str = ""  # the id of the folded run this frame belongs to (HTML hides it until opened)
    fold_label: str = ""  # on a run's first frame: "4 more frames in urllib3 pool"

    @property
    def label(self) -> str:
        """``application · urllib3 pool``: what the frame's label says."""
        return f"{self.layer} · {self.component}" if self.component else self.layer

    def to_dict(self) -> dict[str, str]:
        """The fields that are set (a doctree keeps plain dicts; empty ones would bloat it)."""
        out = {"kind": self.kind, "text": self.text}
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


#: The fields of a :class:`Segment` besides ``kind`` and ``text``, all empty unless set.
_OPTIONAL = ("layer", "href", "filename", "module", "component", "glue", "fold", "fold_label")


def segments(explanation: Explanation) -> tuple[Segment, ...]:
    """The traceback text of ``explanation``'s capture, cut into labelled segments."""
    exc = explanation.exception
    if exc is None:
        return ()
    out = _segments(exc.formatted, explanation)
    kernel, carrier = explanation.kernel, explanation.carrier
    if kernel is not None and carrier is not None:
        header = carrier.header.splitlines()[0] if carrier.header else ""
        out = _insert_kernel(out, header, kernel)
    return tuple(out)


def _segments(text: str, explanation: Explanation) -> list[Segment]:
    out: list[Segment] = []
    lines = text.splitlines(keepends=True)
    pending: list[str] = []  # text lines not yet in a segment: one segment per run of them
    i = 0
    while i < len(lines):
        # every frame line has 'File "': the regex runs only where it can match
        match = _FILE_LINE.match(lines[i].rstrip("\n")) if 'File "' in lines[i] else None
        if not match:
            pending.append(lines[i])
            i += 1
            continue
        if pending:
            out.append(Segment("text", "".join(pending)))
            pending = []
        meaning = explanation.frame_at((match["file"], int(match["line"]), match["name"]))
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
        out.append(_frame_segment("".join(body), match["file"], meaning))
    if pending:
        out.append(Segment("text", "".join(pending)))
    return out


def _frame_segment(text: str, filename: str, meaning: FrameMeaning | None) -> Segment:
    if meaning is None:
        return Segment("frame", text, filename=filename)
    return Segment(
        "frame",
        text,
        meaning.layer,
        meaning.href,
        filename,
        meaning.frame.module,
        meaning.component,
        "glue" if meaning.glue else "",
    )


def _indent_of(line: str) -> int:
    stripped = line.lstrip(" |")
    return len(line) - len(stripped)


def _insert_kernel(segments: list[Segment], header: str, kernel: KernelCall) -> list[Segment]:
    """Put the kernel pseudo-frame right above the line that names the errno's exception."""
    kernel_segment = Segment(
        "kernel",
        f"  {kernel.call}  →  {kernel.short_answer}\n",
        layer=kernel.layer,
        href=kernel.url,
        component=kernel.component,
    )
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


def plain_text(segments: tuple[Segment, ...]) -> str:
    """The annotated traceback for builders without HTML: labels in brackets, kernel marked."""
    out: list[str] = []
    for segment in segments:
        if segment.kind == "frame" and segment.layer:
            first, _, rest = segment.text.partition("\n")
            out.append(f"{first}  [{segment.label}]\n{rest}")
        elif segment.kind == "kernel":
            out.append(f"{segment.text.rstrip()}  [{segment.label}]\n")
        else:
            out.append(segment.text)
    return "".join(out)
