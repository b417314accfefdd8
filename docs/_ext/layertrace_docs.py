"""Docs-only helpers for the sphinx-layertrace documentation (not part of the package).

* ``.. layertrace-config-reference::`` renders every ``layertrace_*`` option from
  :data:`sphinx_layertrace.sphinxext.config.OPTIONS` as a ``confval`` entry, so the
  configuration reference is generated from the code that validates the values and cannot
  drift from it.
* ``.. layertrace-cli-reference::`` renders the ``--help`` of every CLI command from the argparse
  parser in :mod:`sphinx_layertrace.cli`.
* ``layertrace_docs_expected_warnings`` (``{docname: ["type.subtype", ...]}``) turns warnings that a
  page *demonstrates* into info lines ("expected warning: ...") so ``-W`` still guards every
  other page. The warning stays visible in the build log, and if an expected warning stops
  happening on a page that was read in this build, that is itself a warning.
"""

from __future__ import annotations

import argparse
import contextlib
import logging as std_logging
import os
from collections import Counter
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.logging import get_node_location
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

_DISPLAY_TYPE = {
    "layertrace_timeout": "int | float",
    "layertrace_interpreters": 'dict[str, str] | "auto"',
    "layertrace_env": "dict[str, str]",
    "layertrace_layers": "dict[str, str]",
    "layertrace_errno_url": "str",
    "layertrace_source_links": "bool",
    "layertrace_cache_dir": "str | os.PathLike | None",
    "layertrace_execute": '"auto" | "always" | "never"',
    "layertrace_captures": "str | os.PathLike | None",
    "layertrace_max_output": "int",
    "layertrace_color": "bool",
}


def _default_text(option: Any) -> str:
    value = option.default
    if option.name == "layertrace_max_output" and isinstance(value, int):
        return f"``{value}`` ({value // 1024} KiB)"
    return f"``{value!r}``"


class ConfigReference(SphinxDirective):
    """Every ``layertrace_*`` option, straight from ``sphinxext.config.OPTIONS``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from sphinx_layertrace.sphinxext.config import OPTIONS

        lines: list[str] = []
        for option in OPTIONS:
            rebuild = option.rebuild or "nothing (read at build time only)"
            lines += [
                f".. confval:: {option.name}",
                f"   :type: ``{_DISPLAY_TYPE.get(option.name, type(option.default).__name__)}``",
                f"   :default: {_default_text(option)}",
                "",
                f"   {option.doc}",
                "",
                f"   Changing it rebuilds: ``{rebuild}``.",
                "",
            ]
        return self._parse(lines)

    def _parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        source = f"<generated from sphinx_layertrace.sphinxext.config.OPTIONS, {self.env.docname}>"
        nested_parse_with_titles(
            self.state, StringList(lines, source), container, self.content_offset
        )
        return container.children


def _find_parser(module: Any) -> argparse.ArgumentParser | None:
    for name in ("build_parser", "make_parser", "get_parser", "parser", "_parser"):
        candidate = getattr(module, name, None)
        if isinstance(candidate, argparse.ArgumentParser):
            return candidate
        if callable(candidate):
            with contextlib.suppress(Exception):
                parser = candidate()
                if isinstance(parser, argparse.ArgumentParser):
                    return parser
    return None


class CliReference(SphinxDirective):
    """``--help`` of ``python -m sphinx_layertrace`` and of each command, from the real parser."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from sphinx_layertrace import cli

        parser = _find_parser(cli)
        if parser is None:
            logger.warning(
                "layertrace-cli-reference: no argparse parser found in sphinx_layertrace.cli",
                location=self.get_location(),
                type="layertrace-docs",
                subtype="cli",
            )
            return []
        parser.prog = "python -m sphinx_layertrace"
        out: list[nodes.Node] = []
        old_columns = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "96"  # argparse wraps to the terminal: make the page stable
        try:
            out.append(self._block(parser.format_help()))
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for name, sub in action.choices.items():
                        sub.prog = f"python -m sphinx_layertrace {name}"
                        out.append(
                            nodes.rubric(
                                name,
                                f"python -m sphinx_layertrace {name} --help",
                                ids=[f"cli-help-{name}"],
                            )
                        )
                        out.append(self._block(sub.format_help()))
        finally:
            if old_columns is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = old_columns
        return out

    @staticmethod
    def _block(text: str) -> nodes.literal_block:
        text = text.rstrip() + "\n"
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return block


class LayerMap(SphinxDirective):
    """The built-in module → layer map, from ``sphinx_layertrace.meaning.layers``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from sphinx_layertrace.meaning.layers import DEFAULT_LAYERS, LAYER_DESCRIPTIONS, LAYERS

        by_layer: dict[str, list[str]] = {layer: [] for layer in LAYERS}
        for prefix, layer in sorted(DEFAULT_LAYERS.items()):
            by_layer.setdefault(layer, []).append(prefix)
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 12 30 58",
            "",
            "   * - layer",
            "     - meaning",
            "     - module prefixes (built in)",
        ]
        for layer in LAYERS:
            prefixes = (
                ", ".join(f"``{p}``" for p in by_layer.get(layer, [])) or "(assigned by rule)"
            )
            lines += [
                f"   * - ``{layer}``",
                f"     - {LAYER_DESCRIPTIONS.get(layer, '')}",
                f"     - {prefixes}",
            ]
        container = nodes.container()
        self.state.nested_parse(
            StringList(lines, "<sphinx_layertrace.meaning.layers>"), self.content_offset, container
        )
        return container.children


def warning_subtypes() -> set[str]:
    """Every ``layertrace.<subtype>`` the package can emit: its one list of them."""
    from sphinx_layertrace.sphinxext.warnings import SUBTYPES

    return set(SUBTYPES)


class WarningCheck(SphinxDirective):
    """Placed after the subtype sections: each subtype in the code has one, and vice versa."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        documented = {
            ident[len("layertrace-") :]
            for ident in self.state.document.ids
            if ident.startswith("layertrace-") and not ident.startswith("layertrace-docs")
        }
        in_code = warning_subtypes()
        for subtype in sorted(in_code - documented):
            logger.warning(
                "warning subtype layertrace.%s is emitted by the code but not documented",
                subtype,
                location=self.get_location(),
                type="layertrace-docs",
                subtype="undocumented",
            )
        text = (
            f"This page was checked against the extension's source when it was built: the code "
            f"emits {len(in_code)} warning subtypes, and each has a section above."
        )
        return [nodes.paragraph(text, text)]


class ExpectedWarnings(std_logging.Filter):
    """Demote warnings that a page demonstrates on purpose; count them; never hide others."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app
        self.seen: Counter[tuple[str, str]] = Counter()
        self.read: set[str] = set()

    def _docname(self, location: Any) -> str | None:
        env = getattr(self.app, "env", None)
        if env is None or location is None:
            return None
        if isinstance(location, tuple):
            return location[0] or None
        text = get_node_location(location) if isinstance(location, nodes.Node) else str(location)
        if not text:
            return None
        path = text.rsplit(":", 1)[0] if text.rsplit(":", 1)[-1].isdigit() else text
        for docname in self.app.config.layertrace_docs_expected_warnings:
            if path == docname or path == str(env.doc2path(docname)):
                return docname
        return None

    def filter(self, record: std_logging.LogRecord) -> bool:
        kind = f"{getattr(record, 'type', '') or ''}.{getattr(record, 'subtype', '') or ''}"
        docname = self._docname(getattr(record, "location", None))
        if docname is None:
            return True
        expected = self.app.config.layertrace_docs_expected_warnings.get(docname, ())
        if kind not in expected:
            return True
        self.seen[docname, kind] += 1
        where = getattr(record, "location", None)
        if isinstance(where, tuple):
            where = f"{self.app.env.doc2path(where[0])}:{where[1]}"
        elif isinstance(where, nodes.Node):
            where = get_node_location(where)
        message = std_logging.LogRecord.getMessage(record)
        logger.info(
            "%s: expected warning (demonstrated on this page): %s [%s]", where, message, kind
        )
        return False


def _install_filter(app: Any) -> ExpectedWarnings:
    flt = ExpectedWarnings(app)
    for handler in std_logging.getLogger("sphinx").handlers:
        if type(handler).__name__ == "WarningStreamHandler":
            handler.filters.insert(0, flt)  # before Sphinx counts it for -W
    return flt


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("layertrace_docs_expected_warnings", {}, "", types=(dict,))
    app.add_directive("layertrace-config-reference", ConfigReference)
    app.add_directive("layertrace-cli-reference", CliReference)
    app.add_directive("layertrace-layer-map", LayerMap)
    app.add_directive("layertrace-warning-check", WarningCheck)
    flt = _install_filter(app)

    def note_read(app: Any, env: Any, docnames: list[str]) -> None:
        flt.read.update(docnames)

    def check_expected(app: Any, exception: Exception | None) -> None:
        if exception is not None:
            return
        for docname, kinds in app.config.layertrace_docs_expected_warnings.items():
            if docname not in flt.read:
                continue  # not re-read in this build: its warnings were not re-emitted
            for kind in kinds:
                if not flt.seen[docname, kind]:
                    logger.warning(
                        "%s demonstrates a %s warning, but this build did not emit it",
                        docname,
                        kind,
                        type="layertrace-docs",
                        subtype="expected",
                        location=docname,
                    )

    app.connect("env-before-read-docs", note_read)
    app.connect("build-finished", check_expected)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
