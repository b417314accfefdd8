"""Drive a docs tree without writing pages: every snippet's captures and drift, for the CLI.

``capture`` and ``check`` need exactly what a build computes (the same directive parsing for rst
and MyST, the same setup code, the same cache keys), so they run a real Sphinx with an output-less
builder (:class:`.builder.CollectBuilder`) into a temporary directory and watch each snippet
through :attr:`.session.Session.observer`.
Nothing is parsed from warnings or HTML.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sphinx.errors import SphinxError

from sphinx_layertrace.capture import frozen as platforms
from sphinx_layertrace.capture.interpreters import Registry, resolve_executable
from sphinx_layertrace.meaning.drift import drift
from sphinx_layertrace.model import Capture
from sphinx_layertrace.sphinxext.builder import CollectBuilder
from sphinx_layertrace.sphinxext.session import snippet_id


@dataclass(frozen=True)
class Observed:
    """One planned capture of one snippet, as the build saw it."""

    source: str  # the file of the directive
    line: int | None
    snippet: str  # platform-independent snippet id (names frozen capture files)
    label: str  # interpreter label
    expect: tuple[str, ...]
    capture: Capture | None
    missing: str = ""  # why the interpreter is not available

    @property
    def location(self) -> str:
        return f"{_display_path(self.source)}:{self.line or 0}"

    def problem(self) -> str:
        """What a build would warn about: drift from ``:expect:``, a timeout, a crash; else ""."""
        if self.missing:
            return f"interpreter {self.label!r} is not available: {self.missing}"
        capture = self.capture
        if capture is None:
            return "not run (layertrace_execute = 'never' and nothing cached)"
        if capture.outcome in FAILED:
            return f"{capture.outcome}: {capture.detail or 'no detail'}"
        drifted = drift(self.expect, capture)
        return drifted.short() if drifted else ""


#: outcomes that warn in a build whatever ``:expect:`` says (so ``check`` fails on them too)
FAILED = ("timeout", "crashed", "error")


class NotConfigured(SphinxError):
    """The tree has no conf.py that loads the extension: nothing would run."""

    category = "sphinx-layertrace"


@dataclass
class Collected:
    observed: list[Observed] = field(default_factory=list)
    executed: int = 0
    from_cache: int = 0
    warnings: str = ""

    def drifted(self) -> list[Observed]:
        return [o for o in self.observed if o.problem()]


def _display_path(path: str) -> str:
    """Relative to the working directory when below it (what a terminal reader clicks)."""
    if not path:
        return "<unknown>"
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def collect(
    srcdir: str | os.PathLike,
    *,
    pythons: Sequence[str] = (),
    execute: str = "auto",
    confdir: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
) -> Collected:
    """Read and resolve every document of ``srcdir``; return what each snippet did.

    ``pythons`` (labels like ``3.12`` or executables) replaces every snippet's ``:python:``
    labels, so one command captures the whole tree under each given interpreter. Frozen
    captures (``layertrace_captures``) are ignored: this is about what happens here.
    Raises :class:`sphinx.errors.SphinxError` (bad conf.py, unknown interpreter as
    :class:`.interpreters.MissingInterpreter`) for the caller to report.
    """
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    interpreters = [resolve_executable(spec) for spec in pythons]
    srcdir = Path(srcdir).resolve()
    confdir = Path(confdir).resolve() if confdir else srcdir
    settings = {"layertrace_captures": None, "layertrace_execute": execute, **(overrides or {})}
    result = Collected()
    warnings = io.StringIO()
    # like sphinx-build: docutils' global registries are restored afterwards, so a caller that
    # builds again in the same process (tests, tools) does not see duplicate registrations
    with (
        tempfile.TemporaryDirectory(prefix="layertrace-collect-") as tmp,
        patch_docutils(confdir),
        docutils_namespace(),
    ):
        try:
            app = Sphinx(
                srcdir,
                confdir if (confdir / "conf.py").exists() else None,
                os.path.join(tmp, "out"),
                os.path.join(tmp, "doctrees"),
                CollectBuilder.name,
                confoverrides=settings,
                status=None,
                warning=warnings,
                freshenv=True,
            )
        except SphinxError as exc:
            if CollectBuilder.name in str(exc):  # only the extension registers it
                raise _not_configured(confdir) from None
            raise
        session = getattr(app, "layertrace", None)
        if session is None:
            raise _not_configured(confdir)
        if interpreters:
            _run_under(app, session, interpreters)
        session.observer = _observer(result)
        app.build(force_all=True)
        result.executed = session.executed
        result.from_cache = session.from_cache
    result.warnings = warnings.getvalue()
    return result


def _not_configured(confdir: Path) -> NotConfigured:
    where = confdir / "conf.py"
    if where.exists():
        return NotConfigured(
            f"{where} does not load sphinx_layertrace (add it to extensions, "
            "or point -c/--confdir at the directory of the right conf.py)"
        )
    return NotConfigured(
        f"no conf.py in {confdir} (point -c/--confdir at the docs' conf.py directory)"
    )


def _run_under(app: Any, session: Any, interpreters: Sequence[Any]) -> None:
    """Every snippet runs under ``interpreters`` instead of its own ``:python:`` labels."""
    configured = app.config.layertrace_interpreters
    table: dict[str, str] = {}
    if configured == "auto":
        table["*discovered*"] = "auto"
    elif isinstance(configured, dict):
        table.update(configured)
    table.update({interp.label: interp.executable for interp in interpreters})
    session.registry = Registry(table)
    labels = [interp.label for interp in interpreters]

    def relabel(_app: Any, doctree: Any) -> None:
        from sphinx_layertrace.render.nodes import layertrace_pending

        for node in doctree.findall(layertrace_pending):
            node["labels"] = list(labels)

    # before events.doctree_read (priority 500) plans and submits the snippets
    app.connect("doctree-read", relabel, priority=400)


def _observer(result: Collected) -> Any:
    """The session observer that records each planned capture of each snippet in ``result``."""

    def observe(node: Any, planned: list[Any], captures: list[Any], _drift: str) -> None:
        ident = snippet_id(node["code"], node["setup"], node["style"])
        for plan, capture in zip(planned, captures, strict=False):
            result.observed.append(
                Observed(
                    source=node.source or "",
                    line=node.line,
                    snippet=ident,
                    label=plan.label,
                    expect=tuple(node.get("expect") or ()),
                    capture=capture,
                    missing=plan.missing,
                )
            )

    return observe


def write_captures(collected: Collected, out: str | os.PathLike) -> list[Path]:
    """One capture file per snippet, platform and interpreter.

    The same snippet run under two labels of one interpreter (``:python: build`` on one page,
    the default on another) is one file; it keeps the interpreter's own ``X.Y`` label, so the
    file does not depend on which page came last.
    """
    chosen: dict[str, tuple[str, Capture]] = {}
    for item in collected.observed:
        capture = item.capture
        if capture is None:
            continue
        name = platforms.file_name(item.snippet, capture)
        canonical = capture.python.label == capture.python.short_version
        if name not in chosen or canonical:
            chosen[name] = (item.snippet, capture)
    return [platforms.write(out, snippet, capture) for snippet, capture in chosen.values()]
