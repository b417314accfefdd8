"""Captures → a builder-neutral doctree: session, traceback, explanations, layer stack, caption.

Only docutils nodes and text come out of here (never raw HTML), so everything a snippet printed
is escaped by the writers. Per-builder code lives in :mod:`.nodes`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from docutils import nodes

from .annotate import Annotated, annotate, plain_text
from .layers import LayerMap
from .model import Capture, Step
from .nodes import layertrace_block, lt_panel, lt_tabs, lt_traceback

#: Finds a better URL for an errno name (intersphinx), or None to keep the template's.
ErrnoResolver = Callable[[str], str | None]


@dataclass(frozen=True)
class RenderOptions:
    layers: LayerMap
    source_links: bool = True
    errno_url: str = ""
    hide_code: bool = False
    expect: tuple[str, ...] = ()
    drift: str = ""  # one sentence when the outcome differs from :expect:
    resolve_errno: ErrnoResolver | None = None


@dataclass(frozen=True)
class Shown:
    """One capture to show, with the tab label it gets."""

    label: str
    capture: Capture | None
    missing: str = ""  # why there is no capture (missing interpreter, nothing cached)


def build(
    shown: Sequence[Shown], options: RenderOptions, *, group: str, classes: Sequence[str] = ()
) -> layertrace_block:
    first = next((s.capture for s in shown if s.capture is not None), None)
    block = layertrace_block(classes=["layertrace", *classes])
    block["outcome"] = first.outcome if first else "missing"
    if len(shown) == 1:
        block.extend(_panel_body(shown[0], options))
        return block
    differs = what_differs(shown)
    if differs:
        block += nodes.paragraph("", differs, classes=["lt-differs"])
    tabs = lt_tabs(group=group)
    for item in shown:
        panel = lt_panel(label=item.label)
        panel += nodes.paragraph("", item.label, classes=["lt-panel-title"])
        panel.extend(_panel_body(item, options))
        tabs += panel
    block += tabs
    return block


def _panel_body(item: Shown, options: RenderOptions) -> list[nodes.Node]:
    capture = item.capture
    if capture is None:
        return [nodes.paragraph("", item.missing, classes=["lt-missing", "lt-note"])]
    out: list[nodes.Node] = []
    annotated = annotate(
        capture, options.layers, source_links=options.source_links, errno_url=options.errno_url
    )
    if not options.hide_code:
        out.append(_session(capture))
    if capture.exception is not None and capture.outcome in ("raised", "error"):
        out.append(_traceback(annotated))
    elif capture.outcome in ("timeout", "crashed", "error") and capture.stderr.strip():
        out.append(_plain_block(capture.stderr, "lt-stderr"))
    if options.drift:
        out.append(nodes.paragraph("", options.drift, classes=["lt-drift", "lt-note"]))
    out.append(_outcome_line(capture))
    out.extend(_explanations(annotated, options))
    if annotated.stack:
        out.append(_stack(annotated))
    out.append(nodes.paragraph("", caption(capture), classes=["lt-meta"]))
    return out


def caption(capture: Capture) -> str:
    return f"{capture.platform.pretty} · {capture.python.pretty}"


def _session(capture: Capture) -> nodes.literal_block:
    """The code as typed: a ``>>>`` session with its output, or the script."""
    if capture.style == "script" or not capture.steps:
        text = capture.code if capture.code.endswith("\n") else capture.code + "\n"
        out = text
        if capture.stdout:
            out += capture.stdout
        block = nodes.literal_block(out, out, language="python", classes=["lt-code"])
        block["language"] = "python"
        return block
    lines: list[str] = []
    for step in capture.steps:
        lines.append(_prompted(step))
        if step.ran and step.output and not (step.raised and capture.exception is not None):
            lines.append(step.output)
        elif step.raised and step.output:
            lines.append(_without_traceback(step.output, capture))
    if capture.truncated:
        lines.append("[… output cut at the layertrace_max_output limit]\n")
    text = "".join(lines)
    block = nodes.literal_block(text, text, classes=["lt-code"])
    block["language"] = "pycon"
    return block


def _prompted(step: Step) -> str:
    lines = step.source.rstrip("\n").split("\n")
    out = [f">>> {lines[0]}\n"] + [f"... {line}\n" for line in lines[1:]]
    if len(lines) > 1 or lines[0].rstrip().endswith(":"):
        out.append("...\n")
    if not step.ran:
        out = [f"{line.rstrip()}    # not run\n" if i == 0 else line for i, line in enumerate(out)]
    return "".join(out)


def _without_traceback(output: str, capture: Capture) -> str:
    return output


def _traceback(annotated: Annotated) -> lt_traceback:
    text = plain_text(annotated)
    # rawsource differs from the text, so Sphinx treats it as parsed-literal (no re-highlighting)
    node = lt_traceback("layertrace traceback", text, classes=["lt-traceback"])
    node["segments"] = [segment.to_dict() for segment in annotated.segments]
    node["language"] = "none"
    return node


def _plain_block(text: str, cls: str) -> nodes.literal_block:
    node = nodes.literal_block(text, text, classes=[cls])
    node["language"] = "none"
    return node


def _outcome_line(capture: Capture) -> nodes.paragraph:
    exc = capture.exception
    para = nodes.paragraph(classes=["lt-outcome", f"lt-outcome-{capture.outcome}"])
    if capture.outcome == "raised" and exc is not None:
        para += nodes.Text("Raised ")
        para += nodes.literal(exc.qualified, exc.qualified)
        if exc.type == "SystemExit":
            para += nodes.Text(": the interpreter would exit here")
    elif capture.outcome == "returned":
        para += nodes.Text("No exception: the snippet ran to the end.")
    elif capture.outcome == "timeout":
        para += nodes.Text(f"Timed out: {capture.detail}.")
    elif capture.outcome == "crashed":
        para += nodes.Text(f"The interpreter {capture.detail}.")
    else:
        para += nodes.Text(capture.detail or "The snippet could not be run.")
    return para


def _explanations(annotated: Annotated, options: RenderOptions) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for item in annotated.explanations:
        url = item.url
        if options.resolve_errno and item.kind == "errno":
            url = options.resolve_errno(item.name) or url
        para = nodes.paragraph(classes=["lt-errno"])
        para += nodes.reference("", "", nodes.literal(item.name, item.name), refuri=url)
        label = {"winerror": "WinError", "eai": "getaddrinfo code", "herror": "h_errno"}.get(
            item.kind, item.kind
        )
        para += nodes.Text(f" ({label} {item.number}): {item.description}")
        out.append(para)
    kernel = annotated.kernel
    if kernel is not None:
        para = nodes.paragraph(classes=["lt-kernel-note"])
        who = {"libc": "The C library", "openssl": "OpenSSL", "winsock": "WinSock"}
        para += nodes.Text(f"{who.get(kernel.kind, 'The kernel')} was asked ")
        para += nodes.literal(kernel.call, kernel.call)
        para += nodes.Text(" (")
        para += nodes.reference("", kernel.manual, refuri=kernel.url)
        para += nodes.Text(f") and answered {kernel.result}.")
        out.append(para)
    return out


def _stack(annotated: Annotated) -> nodes.bullet_list:
    stack = nodes.bullet_list(classes=["lt-stack"])
    for entry in annotated.stack:
        item = nodes.list_item(classes=[f"lt-stack-{entry.layer}"])
        para = nodes.paragraph()
        para += nodes.inline("", entry.layer, classes=["lt-stack-layer"])
        para += nodes.Text(": ")
        para += nodes.literal("", " → ".join(entry.calls))
        item += para
        stack += item
    return stack


def what_differs(shown: Sequence[Shown]) -> str:
    """One line comparing captures: exception type, errno, WinError, frames, layers."""
    parts: list[str] = []
    captures = [(s.label, s.capture) for s in shown if s.capture is not None]
    if len(captures) < 2:
        return ""

    def describe(cap: Capture) -> str:
        exc = cap.exception
        if cap.outcome != "raised" or exc is None:
            return cap.outcome
        carrier = next((e for e in reversed(exc.walk()) if e.errno is not None), exc)
        code = ""
        if carrier.winerror is not None:
            code = f" WinError {carrier.winerror}"
        elif carrier.errno is not None:
            code = f" errno {carrier.errno}" + (
                f" {carrier.errno_name}" if carrier.errno_name else ""
            )
        frames = sum(len(e.frames) for e in exc.walk())
        return f"{exc.type}{code}, {frames} frames"

    descriptions = [(label, describe(cap)) for label, cap in captures]
    if len({d for _, d in descriptions}) == 1:
        return f"Same result everywhere: {descriptions[0][1]}."
    for label, text in descriptions:
        parts.append(f"{label}: {text}")
    return "What differs — " + "; ".join(parts) + "."
