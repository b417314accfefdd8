"""Write time: collect each snippet's captures, warn where reality drifted, render the block.

Runs at ``doctree-resolved``, which Sphinx emits in the main process even under ``-j N``, so it
can wait on the runner that the main process owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docutils import nodes
from sphinx.util import logging

from sphinx_layertrace.capture import frozen as platforms
from sphinx_layertrace.meaning.drift import drift
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render.doctree import RenderOptions, build
from sphinx_layertrace.render.fold import DEFAULT_FOLD
from sphinx_layertrace.render.nodes import layertrace_pending
from sphinx_layertrace.render.tabs import Shown, beside
from sphinx_layertrace.render.words import caption
from sphinx_layertrace.sphinxext import warnings
from sphinx_layertrace.sphinxext.session import Planned, Session

logger = logging.getLogger(__name__)
NOT_RUN = "not run: layertrace_execute is 'never' and no cached capture exists"


def resolve_doctree(app: Any, doctree: nodes.document, docname: str) -> None:
    session: Session | None = getattr(app, "layertrace", None)
    pending = list(doctree.findall(layertrace_pending))
    if session is None or not pending:
        return
    resolver = Resolver(app.config, app.env, docname, session)
    resolver.fallback = app.builder.format != "html"  # HTML writes details from attributes
    for index, node in enumerate(pending):
        node.replace_self(resolver.render(node, index))


class Resolver:
    """Renders the pending nodes of one document."""

    def __init__(self, config: Any, env: Any, docname: str, session: Session) -> None:
        self.config = config
        self.env = env
        self.docname = docname
        self.session = session
        self.layers = LayerMap.build(config.layertrace_layers)
        self.fallback = True

    def render(self, node: Any, index: int) -> nodes.Node:
        session, layers = self.session, self.layers
        planned = session.plan(node)
        shown: list[Shown] = []
        for plan in planned:
            capture = session.capture(plan)
            shown.append(_shown(plan, capture))
        # Platform pages: frozen captures fill in for live ones not run here, then follow them.
        frozen = session.frozen.for_node(node)
        shown = beside(
            shown,
            [p.names for p in planned],
            frozen,
            node.get("platforms") or [],
            here=platforms.this_platform_key(),
        )
        primary = next((s.capture for s in shown if s.capture is not None), None)
        verdicts = judge(node, planned, shown)
        drift_line = ""
        for verdict in verdicts:
            if verdict.subtype:
                warnings.warn(logger, verdict.subtype, verdict.message, node)
            if verdict.subtype == "drift" and not verdict.frozen:
                drift_line = verdict.message
        if session.observer is not None:  # collect.py: the CLI's capture/check watch here
            session.observer(node, verdicts)
        options = RenderOptions(
            layers=layers,
            source_links=self.config.layertrace_source_links,
            errno_url=self.config.layertrace_errno_url,
            hide_code=node["hide_code"],
            expect=tuple(node["expect"]),
            drift=drift_line,
            resolve_errno=self._intersphinx_errno,
            fallback=self.fallback,
            fold=_fold_limit(node, self.config),
            show_args=bool(node.get("show_args", self.config.layertrace_show_args)),
            color=self.config.layertrace_color,
        )
        group = f"lt-{self.docname}-{index}".replace("/", "-")
        block = build(shown, options, group=group, classes=node.get("classes", []))
        block["ids"] = node.get("ids", [])
        block.source, block.line = node.source, node.line
        if primary is None and not shown:
            block += nodes.paragraph("", NOT_RUN)
        return block

    def _intersphinx_errno(self, name: str) -> str | None:
        """The errno page from the project's intersphinx inventory, if it has one."""
        if not hasattr(self.env, "intersphinx_inventory"):
            return None  # before the import: loading intersphinx costs ~0.1 s when unused
        try:
            from sphinx.ext.intersphinx import InventoryAdapter
        except ImportError:  # pragma: no cover
            return None
        entry = InventoryAdapter(self.env).main_inventory.get("py:data", {}).get(f"errno.{name}")
        if entry is None:
            return None
        uri = getattr(entry, "uri", None) or entry[2]  # an _InventoryItem (8.2+) or a tuple
        return str(uri)


def _fold_limit(node: Any, config: Any) -> int:
    """``:fold:`` of the snippet, else ``layertrace_fold`` (both validated where they are read)."""
    value = node.get("fold")
    if value is None:
        value = config.layertrace_fold
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_FOLD


def _shown(plan: Planned, capture: Capture | None) -> Shown:
    if plan.missing:
        return Shown(plan.label, None, f"Python {plan.label} is not available on this machine.")
    if capture is None:
        return Shown(plan.label, None, NOT_RUN)
    return Shown(caption(capture), capture)


#: outcome -> (warning subtype, message template); ``detail`` is already one line
_FAILURES: dict[str, tuple[warnings.Subtype, str]] = {
    "timeout": ("timeout", "snippet {detail}"),
    "crashed": ("crash", "snippet {detail}"),
    "error": ("setup", "{detail}"),
}


@dataclass(frozen=True)
class Verdict:
    """What one tab of a snippet deserves: the warning the build gives (or none), and where."""

    label: str  # the tab: an interpreter label, or where a frozen capture was taken
    capture: Capture | None
    subtype: warnings.Subtype | None = None
    message: str = ""  # the build's warning
    short: str = ""  # ``check``'s shorter words for the same problem
    frozen: bool = False  # a capture file from another machine (layertrace_captures)
    missing: str = ""  # why the interpreter is not available


def judge(node: Any, planned: list[Planned], shown: list[Shown]) -> list[Verdict]:
    """One verdict per tab: the live ones (one per plan), then each frozen capture shown.

    Frozen captures of other platforms are held to the same ``:expect:``; their warning names
    the platform, since the build machine cannot see that failure itself.
    """
    verdicts = []
    for plan, item in zip(planned, shown, strict=False):
        subtype, message, short = _problem(node, plan, item.capture)
        verdicts.append(
            Verdict(plan.label, item.capture, subtype, message, short, missing=plan.missing)
        )
    for item in shown[len(planned) :]:
        if item.capture is None:
            continue
        subtype, message, short = _problem(node, None, item.capture)
        kind = "frozen capture, not recorded" if item.capture.reconstructed else "frozen capture"
        where = f"{caption(item.capture)} ({kind})"
        verdicts.append(
            Verdict(
                caption(item.capture),
                item.capture,
                subtype,
                f"{where}: {message}" if subtype else "",
                short,
                frozen=True,
            )
        )
    return verdicts


def _problem(
    node: Any, plan: Planned | None, capture: Capture | None
) -> tuple[warnings.Subtype | None, str, str]:
    """(subtype, the build's message, check's message), or (None, "", "") when all is well."""
    if plan is not None and plan.missing:
        message = f"interpreter {plan.label!r} is missing ({plan.missing})"
        return "missing-interpreter", message, message
    if capture is None:
        message = "no capture (layertrace_execute = 'never' and nothing cached)"
        return "not-run", message, message
    if capture.outcome in _FAILURES:
        subtype, template = _FAILURES[capture.outcome]
        message = template.format(detail=capture.detail)
        return subtype, message, f"{capture.outcome}: {capture.detail or 'no detail'}"
    drifted = drift(node.get("expect") or (), capture)
    if drifted is None:
        return None, "", ""
    return "drift", drifted.sentence(), drifted.short()
