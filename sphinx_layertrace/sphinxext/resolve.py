"""Write time: collect each snippet's captures, warn where reality drifted, render the block.

Runs at ``doctree-resolved``, which Sphinx emits in the main process even under ``-j N``, so it
can wait on the runner that the main process owns.
"""

from __future__ import annotations

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
from sphinx_layertrace.sphinxext.session import Planned, Session, snippet_id

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
        frozen = session.frozen.for_snippet(snippet_id(node["code"], node["setup"], node["style"]))
        shown = beside(
            shown,
            [p.names for p in planned],
            frozen,
            node.get("platforms") or [],
            here=platforms.this_platform_key(),
        )
        primary = next((s.capture for s in shown if s.capture is not None), None)
        drift_line = ""
        for plan, item in zip(planned, shown, strict=False):
            drift_line = _warn(node, plan, item) or drift_line
        if session.observer is not None:  # collect.py: the CLI's capture/check watch here
            session.observer(node, planned, [s.capture for s in shown[: len(planned)]], drift_line)
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


def _warn(node: Any, plan: Planned, item: Shown) -> str:
    """Emit the one warning a capture deserves; return the drift sentence for the page."""
    subtype, message = _problem(node, plan, item.capture)
    if subtype:
        warnings.warn(logger, subtype, message, node)
    return message if subtype == "drift" else ""


def _problem(
    node: Any, plan: Planned, capture: Capture | None
) -> tuple[warnings.Subtype | None, str]:
    """(subtype, one-line message) of what went wrong, or (None, "") when nothing did."""
    if plan.missing:
        return "missing-interpreter", f"interpreter {plan.label!r} is missing ({plan.missing})"
    if capture is None:
        return "not-run", "no capture (layertrace_execute = 'never' and nothing cached)"
    if capture.outcome in _FAILURES:
        subtype, template = _FAILURES[capture.outcome]
        return subtype, template.format(detail=capture.detail)
    drifted = drift(node.get("expect") or (), capture)
    return ("drift", drifted.sentence()) if drifted else (None, "")
