"""Captures → a builder-neutral doctree: session, traceback, explanations, layer stack, caption.

Only docutils nodes and text come out of here (never raw HTML), so everything a snippet printed
is escaped by the writers. Per-builder code lives in :mod:`.nodes`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from docutils import nodes

from sphinx_layertrace.meaning.explanation import Explanation, explain_capture
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render import colour
from sphinx_layertrace.render.annotate import Segment, plain_text, segments
from sphinx_layertrace.render.fold import DEFAULT_FOLD, folded_dicts
from sphinx_layertrace.render.nodes import (
    layertrace_block,
    lt_details,
    lt_panel,
    lt_session,
    lt_tabs,
    lt_traceback,
)
from sphinx_layertrace.render.tabs import Shown, differs_line
from sphinx_layertrace.render.transcript import session_text
from sphinx_layertrace.render.words import FLATTENED_LABEL, caption, counted

__all__ = ["ErrnoResolver", "RenderOptions", "Shown", "build", "caption", "counted"]

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
    fold: int = DEFAULT_FOLD  # frames beyond which the HTML folds a traceback; 0 never
    show_args: bool = True  # what each layer was asked, in the stack picture
    color: bool = True  # HTML shows the colours the capturing interpreter gave (3.13+)


def build(
    shown: Sequence[Shown], options: RenderOptions, *, group: str, classes: Sequence[str] = ()
) -> layertrace_block:
    first = next((s.capture for s in shown if s.capture is not None), None)
    block = layertrace_block(classes=["layertrace", *classes])
    block["outcome"] = first.outcome if first else "missing"
    explained = [_explain(s.capture, options) if s.capture else None for s in shown]
    if len(shown) == 1:
        body = _panel_body(shown[0], explained[0], options)
        _name_folds(body, group)
        block.extend(body)
        return block
    differs = differs_line(shown, explained)
    if differs:
        block += nodes.paragraph("", differs, classes=["lt-differs"])
    selected = next((n for n, s in enumerate(shown) if s.capture is not None), 0)
    tabs = lt_tabs(group=group, selected=selected)
    bodies = [
        _panel_body(item, explanation, options)
        for item, explanation in zip(shown, explained, strict=True)
    ]
    _name_folds([node for body in bodies for node in body], group)
    for item, body in zip(shown, bodies, strict=True):
        panel = lt_panel(label=item.label)
        panel += nodes.paragraph("", item.label, classes=["lt-panel-title"])
        panel.extend(body)
        tabs += panel
    block += tabs
    return block


def _name_folds(body: list[nodes.Node], group: str) -> None:
    """Give each traceback the prefix of its fold toggles' ids: unique across the whole site
    (the group names the page and the block), so blocks can be put together anywhere.
    Tracebacks are always top-level nodes of a panel body, in document order here: no need
    to search the finished block's tree for them."""
    tracebacks = [node for node in body if isinstance(node, lt_traceback)]
    for number, node in enumerate(tracebacks):
        node["fold_prefix"] = f"{group}-{number}"


def _explain(capture: Capture, options: RenderOptions) -> Explanation:
    return explain_capture(
        capture, options.layers, source_links=options.source_links, errno_url=options.errno_url
    )


def _panel_body(
    item: Shown, explanation: Explanation | None, options: RenderOptions
) -> list[nodes.Node]:
    capture = item.capture
    if capture is None or explanation is None:
        return [nodes.paragraph("", item.missing, classes=["lt-missing", "lt-note"])]
    out: list[nodes.Node] = []
    if capture.reconstructed:
        out.append(_not_recorded(capture))
    if not options.hide_code:
        out.append(_session(capture))
    if capture.exception is not None and capture.outcome in ("raised", "error"):
        out.append(_traceback(explanation, options.fold, options.color))
    elif capture.outcome in ("timeout", "crashed", "error") and capture.stderr.strip():
        out.append(_plain_block(capture.stderr, "lt-stderr"))
    if options.drift:
        out.append(nodes.paragraph("", options.drift, classes=["lt-drift", "lt-note"]))
    out.append(_outcome_line(capture))
    out.extend(_explanations(explanation, options))
    out.append(_details(explanation, options))
    return out


def _not_recorded(capture: Capture) -> nodes.paragraph:
    """The visible note on a capture written by hand: what it rests on, and that nothing ran."""
    system = capture.platform.pretty.split(" (")[0]
    para = nodes.paragraph(classes=["lt-reconstructed", "lt-note"])
    para += nodes.strong("", "Not recorded.")
    para += nodes.Text(
        f" No {system} machine has run this snippet yet: this tab is reconstructed from "
        f"{capture.reconstructed.rstrip('.')}. Anything it shows beyond that is unverified."
    )
    return para


def _session(capture: Capture) -> nodes.literal_block:
    """The code as typed, highlighted as a console session or a script."""
    text = session_text(capture)
    block = lt_session(text, text, classes=["lt-code"])
    block["language"] = "python" if capture.style == "script" else "pycon"
    # Code that does not lex (a SyntaxError shown on purpose, a stray symbol) is shown less
    # highlighted, without Sphinx's misc.highlighting_failure warning: the outcome says it all.
    block["force"] = True
    return block


def _traceback(explanation: Explanation, limit: int, color: bool = True) -> lt_traceback:
    cut = segments(explanation)
    text = plain_text(cut)  # every line: text and LaTeX never fold
    # rawsource differs from the text, so Sphinx treats it as parsed-literal (no re-highlighting)
    # no-search: the search index keeps the outcome and errno lines, not every frame's words
    node = lt_traceback("layertrace traceback", text, classes=["lt-traceback", "no-search"])
    node["segments"] = folded_dicts(cut, limit)
    exc = explanation.exception
    if color and exc is not None and exc.colored:
        _add_colours(node["segments"], cut, exc.formatted, exc.colored)  # folding keeps texts
    node["language"] = "none"
    return node


def _add_colours(
    out: list[dict[str, Any]], cut: Sequence[Segment], formatted: str, coloured: str
) -> None:
    """HTML only: each segment's share of CPython's colour runs (``colors``, relative spans)."""
    texts = [None if segment.kind == "kernel" else segment.text for segment in cut]
    spans = colour.spans_for(formatted, coloured)
    if spans is None or "".join(t for t in texts if t is not None) != formatted:
        return
    for item, share in zip(out, colour.split(texts, spans), strict=True):
        if share:
            item["colors"] = share


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


def _explanations(explanation: Explanation, options: RenderOptions) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for item in explanation.codes:
        url = item.url
        if options.resolve_errno and item.kind == "errno":
            url = options.resolve_errno(item.name) or url
        para = nodes.paragraph(classes=["lt-errno"])
        para += nodes.reference("", "", nodes.literal(item.name, item.name), refuri=url)
        label = {
            "winerror": "WinError",
            "eai": "getaddrinfo code",
            "herror": "h_errno",
            "verify": "OpenSSL verify code",
        }.get(item.kind, item.kind)
        para += nodes.Text(f" ({label} {item.number}): {item.description}")
        out.append(para)
    return out


def _details(explanation: Explanation, options: RenderOptions) -> lt_details:
    """Kernel note, layer stack and caption: one node, attributes for HTML, nodes for others."""
    node = lt_details(classes=["lt-details", "no-search"])
    kernel = explanation.kernel
    if kernel is not None:
        node["kernel"] = {
            "who": kernel.who,
            "call": kernel.call,
            "manual": kernel.manual,
            "url": kernel.url,
            "answer": kernel.answer,
        }
    node["stack"] = [
        [
            entry.layer,
            " → ".join(entry.calls),
            entry.component,
            entry.asked if options.show_args else "",
        ]
        for entry in explanation.stack
    ]
    node["conversions"] = [[c.lower, c.upper, c.how, c.where] for c in explanation.conversions]
    node["flattened"] = [[row.source, row.where, row.error] for row in explanation.flattened]
    node["caption"] = caption(explanation.capture)
    if options.fallback:
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
        para += nodes.Text(f") and {kernel['answer']}.")
        out.append(para)
    if details["stack"] or details.get("flattened"):
        out.append(_stack_nodes(details["stack"], details.get("flattened") or []))
    if details.get("conversions"):
        out.extend(_conversion_nodes(details["conversions"]))
    out.append(nodes.paragraph("", details["caption"], classes=["lt-meta"]))
    return out


def _stack_nodes(stack: list[list[str]], flattened: list[list[str]]) -> nodes.bullet_list:
    """The path by component, top to bottom, as a list every builder can print; then the
    errors a library kept on its exception, each marked as read from it."""
    out = nodes.bullet_list(classes=["lt-stack"])
    for layer, calls, component, *rest in stack:
        item = nodes.list_item(classes=[f"lt-stack-{layer}"])
        para = nodes.paragraph()
        label = f"{layer} · {component}" if component else layer
        para += nodes.inline("", label, classes=["lt-stack-layer"])
        para += nodes.Text(": ")
        para += nodes.literal("", calls)
        asked = rest[0] if rest else ""
        if asked:
            para += nodes.inline("", " asked ", classes=["lt-asked-word"])
            para += nodes.literal(asked, asked, classes=["lt-asked"])
        item += para
        out += item
    for source, where, error in flattened:
        item = nodes.list_item(classes=["lt-stack-flattened"])
        para = nodes.paragraph()
        para += nodes.inline("", FLATTENED_LABEL, classes=["lt-flat-label"])
        para += nodes.Text(f" ({source}): {where + ': ' if where else ''}")
        para += nodes.literal(error, error)
        item += para
        out += item
    return out


def _conversion_nodes(conversions: list[list[str]]) -> list[nodes.Node]:
    """The way back up, bottom to top: each exception caught and the one raised instead."""
    items = nodes.enumerated_list(classes=["lt-conversions"])
    for lower, upper, how, where in conversions:
        para = nodes.paragraph()
        para += nodes.literal(lower, lower)
        para += nodes.Text(" → ")
        para += nodes.literal(upper, upper)
        para += nodes.Text(f" ({how})")
        if where:
            para += nodes.Text(" in ")
            para += nodes.literal(where, where)
        item = nodes.list_item()
        item += para
        items += item
    title = nodes.paragraph("", "On the way back up:", classes=["lt-conversions-title"])
    return [title, items]
