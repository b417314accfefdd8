"""Captures → a builder-neutral doctree: session, traceback, explanations, layer stack, caption.

Only docutils nodes and text come out of here (never raw HTML), so everything a snippet printed
is escaped by the writers. Per-builder code lives in :mod:`.nodes`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from docutils import nodes

from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render.annotate import Annotated, annotate, plain_text, session_text
from sphinx_layertrace.render.nodes import (
    layertrace_block,
    lt_details,
    lt_panel,
    lt_session,
    lt_tabs,
    lt_traceback,
)

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
    # Ordinary nodes under the kernel note, layer stack and caption, for builders other than
    # HTML (whose visitor writes them from the node's attributes and never reads children).
    fallback: bool = True


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
    differs = what_differs(shown, options.layers)
    if differs:
        block += nodes.paragraph("", differs, classes=["lt-differs"])
    selected = next((n for n, s in enumerate(shown) if s.capture is not None), 0)
    tabs = lt_tabs(group=group, selected=selected)
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
    out.append(_details(annotated, capture, options.fallback))
    return out


def counted(number: int, noun: str, plural: str = "") -> str:
    """``1 snippet``, ``2 snippets``: the one plural rule every count shown to people follows."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def caption(capture: Capture) -> str:
    return f"{capture.platform.pretty} · {capture.python.pretty}"


def _session(capture: Capture) -> nodes.literal_block:
    """The code as typed, highlighted as a console session or a script."""
    text = session_text(capture)
    block = lt_session(text, text, classes=["lt-code"])
    block["language"] = "python" if capture.style == "script" else "pycon"
    return block


def _traceback(annotated: Annotated) -> lt_traceback:
    text = plain_text(annotated)
    # rawsource differs from the text, so Sphinx treats it as parsed-literal (no re-highlighting)
    # no-search: the search index keeps the outcome and errno lines, not every frame's words
    node = lt_traceback("layertrace traceback", text, classes=["lt-traceback", "no-search"])
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
        para += nodes.Text(f"{capture.detail[:1].upper()}{capture.detail[1:]}.")
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
    return out


_WHO = {"libc": "The C library", "openssl": "OpenSSL", "winsock": "WinSock"}


def _details(annotated: Annotated, capture: Capture, fallback: bool) -> lt_details:
    """Kernel note, layer stack and caption: one node, attributes for HTML, nodes for others."""
    node = lt_details(classes=["lt-details", "no-search"])
    kernel = annotated.kernel
    if kernel is not None:
        node["kernel"] = {
            "who": _WHO.get(kernel.kind, "The kernel"),
            "call": kernel.call,
            "manual": kernel.manual,
            "url": kernel.url,
            "result": kernel.result,
        }
    node["stack"] = [[entry.layer, " → ".join(entry.calls)] for entry in annotated.stack]
    node["caption"] = caption(capture)
    if fallback:
        node.extend(_details_nodes(node))
    return node


def _details_nodes(details: lt_details) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    kernel = details.get("kernel")
    if kernel:
        para = nodes.paragraph(classes=["lt-kernel-note"])
        para += nodes.Text(f"{kernel['who']} was asked ")
        para += nodes.literal(kernel["call"], kernel["call"])
        para += nodes.Text(" (")
        para += nodes.reference("", kernel["manual"], refuri=kernel["url"])
        para += nodes.Text(f") and answered {kernel['result']}.")
        out.append(para)
    if details["stack"]:
        stack = nodes.bullet_list(classes=["lt-stack"])
        for layer, calls in details["stack"]:
            item = nodes.list_item(classes=[f"lt-stack-{layer}"])
            para = nodes.paragraph()
            para += nodes.inline("", layer, classes=["lt-stack-layer"])
            para += nodes.Text(": ")
            para += nodes.literal("", calls)
            item += para
            stack += item
        out.append(stack)
    out.append(nodes.paragraph("", details["caption"], classes=["lt-meta"]))
    return out


def what_differs(shown: Sequence[Shown], layer_map: LayerMap | None = None) -> str:
    """One line comparing the tabs: only what differs, and what they share said once.

    Each capture is reduced to aspects (exception type or outcome, errno/WinError, number of
    frames, layers crossed by the default map); an aspect with one value on every tab goes into
    "Same on every tab", the others list each value with the tabs that have it. Tabs are named
    as briefly as tells them apart: ``Linux`` when a value holds for every Linux tab, ``CPython
    3.13.0`` when it holds for every tab of that version, else platform and version.
    """
    present = [s for s in shown if s.capture is not None]
    tabs = [s.capture for s in present if s.capture is not None]
    if len(tabs) < 2:
        return ""
    layer_map = layer_map or LayerMap()

    def aspects(cap: Capture) -> list[str | None]:
        exc = cap.exception
        if cap.outcome != "raised" or exc is None:
            outcome = {"returned": "no exception", "timeout": "timed out"}.get(cap.outcome)
            return [outcome or cap.outcome, None, None, None]
        chain = exc.walk()
        carrier = next(
            (e for e in reversed(chain) if e.errno is not None or e.winerror is not None), None
        )
        code = "no errno"
        if carrier is not None and carrier.winerror is not None:
            code = f"WinError {carrier.winerror}"
        elif carrier is not None:
            code = f"errno {carrier.errno}" + (
                f" {carrier.errno_name}" if carrier.errno_name else ""
            )
        frames = [f for e in chain for f in e.frames]
        layers = " → ".join(layer_map.crossed(frames, kernel=carrier is not None))
        return [
            exc.qualified,
            code,
            counted(len(frames), "frame"),
            f"layers {layers}" if layers else None,
        ]

    def platform_of(cap: Capture) -> str:
        return cap.platform.pretty.split(" (")[0]

    several_platforms = len({c.platform.key for c in tabs}) > 1
    several_pythons = len({c.python.pretty for c in tabs}) > 1

    def tab_name(cap: Capture) -> str:
        parts = [platform_of(cap)] if several_platforms else []
        if several_pythons or not parts:
            parts.append(cap.python.pretty)
        return " · ".join(parts)

    names = [tab_name(cap) for cap in tabs]
    if len(set(names)) < len(names):  # same platform and version twice: the tab labels tell
        names = [s.label for s in present]

    def who(members: list[int]) -> str:
        chosen = set(members)
        for key, name in (
            (lambda c: c.platform.key, platform_of),
            (lambda c: c.python.pretty, lambda c: c.python.pretty),
        ):
            keys = {key(tabs[i]) for i in chosen}
            if {i for i, c in enumerate(tabs) if key(c) in keys} == chosen:
                return ", ".join(dict.fromkeys(name(tabs[i]) for i in members))
        return ", ".join(dict.fromkeys(names[i] for i in members))

    table = [aspects(cap) for cap in tabs]
    same: list[str] = []
    differ: list[str] = []
    for column in zip(*table, strict=True):
        values = [v for v in column if v is not None]
        if not values:
            continue
        groups: dict[str, list[int]] = {}
        for i, value in enumerate(column):
            if value is not None:
                groups.setdefault(value, []).append(i)
        if len(groups) == 1:
            if len(values) == len(column):
                same.append(values[0])
            continue
        differ.append(" · ".join(f"{value} ({who(members)})" for value, members in groups.items()))
    missing = [s.label for s in shown if s.capture is None]
    gap = f" No capture: {', '.join(missing)}." if missing else ""
    if not differ:
        where = "on every tab that ran" if missing else "everywhere"
        return f"Same result {where}: {', '.join(same)}.{gap}"
    line = "What differs: " + "; ".join(differ) + "."
    if same:
        line += f" Same on every tab: {', '.join(same)}."
    return line + gap
