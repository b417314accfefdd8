"""Drive a docs tree without writing pages: every snippet's captures and drift, for the CLI.

``capture`` and ``check`` need exactly what a build computes (the same directive parsing for rst
and MyST, the same setup code, the same cache keys), so they run a real Sphinx with an output-less
builder (:class:`.builder.CollectBuilder`) into a temporary directory and watch each snippet
through :attr:`.session.Session.observer`.
Nothing is parsed from warnings or HTML.
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sphinx.errors import SphinxError

from sphinx_layertrace.capture import frozen as platforms
from sphinx_layertrace.capture.interpreters import Registry, resolve_executable
from sphinx_layertrace.checkformats import Case, Finding
from sphinx_layertrace.model import Capture
from sphinx_layertrace.sphinxext import warnings
from sphinx_layertrace.sphinxext.builder import CollectBuilder
from sphinx_layertrace.sphinxext.session import snippet_id


@dataclass(frozen=True)
class Observed:
    """One tab of one snippet (a planned capture, or a frozen one shown), as the build saw it."""

    source: str  # the file of the directive
    line: int | None
    snippet: str  # platform-independent snippet id (names frozen capture files)
    label: str  # interpreter label, or for a frozen capture where it was taken
    expect: tuple[str, ...]
    capture: Capture | None
    missing: str = ""  # why the interpreter is not available
    subtype: str = ""  # the warning the build gives for this tab ("" when none)
    short: str = ""  # that warning in check's words
    frozen: bool = False  # a capture file of layertrace_captures

    @property
    def location(self) -> str:
        return f"{_display_path(self.source)}:{self.line or 0}"

    @property
    def tab(self) -> str:
        """``Python 3.12`` for a live capture, the platform and version for a frozen one."""
        if not self.frozen:
            return f"Python {self.label}"
        kind = "not recorded" if self.capture and self.capture.reconstructed else "frozen"
        return f"{self.label}, {kind}"

    def problem(self) -> str:
        """What a build would warn about: drift from ``:expect:``, a timeout, a crash; else ""."""
        return self.short


#: the directives a misspelt name may have meant
DIRECTIVES = ("layertrace", "layertrace-setup")

#: subtypes judged per tab (:class:`Observed`); the others come straight from the warning
OUTCOME_SUBTYPES = frozenset(
    {"drift", "timeout", "crash", "missing-interpreter", "setup", "not-run"}
)


class NotConfigured(SphinxError):
    """The tree has no conf.py that loads the extension: nothing would run."""

    category = "sphinx-layertrace"


@dataclass
class Collected:
    observed: list[Observed] = field(default_factory=list)
    executed: int = 0
    from_cache: int = 0
    warnings: str = ""
    #: the warnings that are not about one tab's outcome (options, configuration, capture files)
    other: list[Finding] = field(default_factory=list)

    def drifted(self) -> list[Observed]:
        return [o for o in self.observed if o.problem()]

    def report(self) -> tuple[list[Finding], list[Case]]:
        """Every warning the build gave about snippets (configuration first, then by file and
        line), and one test case per snippet and tab, failed by its tab's warning."""
        several = len({o.label for o in self.observed if not o.frozen}) > 1
        cases = []
        for item in self.observed:
            file, line = _display_path(item.source), item.line or 0
            tab = item.tab if (several or item.frozen) else ""
            failure = Finding(file, line, item.subtype, item.short, tab) if item.short else None
            cases.append(Case(file, line, item.tab, failure))
        found = [*self.other, *(c.failure for c in cases if c.failure is not None)]
        found.sort(key=lambda f: (f.subtype != "config", f.file, f.line))
        return found, cases


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
    captures (``layertrace_captures``) are held to ``:expect:`` as the build does, unless
    ``overrides`` sets it to None (``capture`` is about what happens here).
    Raises :class:`sphinx.errors.SphinxError` (bad conf.py, unknown interpreter as
    :class:`.interpreters.MissingInterpreter`) for the caller to report.
    """
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    interpreters = [resolve_executable(spec) for spec in pythons]
    srcdir = Path(srcdir).resolve()
    confdir = Path(confdir).resolve() if confdir else srcdir
    settings: dict[str, Any] = {"layertrace_execute": execute, **(overrides or {})}
    result = Collected()
    stream = io.StringIO()
    # like sphinx-build: docutils' global registries are restored afterwards, so a caller that
    # builds again in the same process (tests, tools) does not see duplicate registrations
    with (
        tempfile.TemporaryDirectory(prefix="layertrace-collect-") as tmp,
        patch_docutils(confdir),
        docutils_namespace(),
        warnings.listening(_listener(result)),
    ):
        app, session = _start(srcdir, confdir, tmp, settings, stream)
        if interpreters:
            _run_under(app, session, interpreters)
        session.observer = _observer(result)
        with _misspelt_directives(result, app):
            app.build(force_all=True)
        result.other = [f for f in result.other if not _suppressed(app, f.subtype)]
        result.observed = [o for o in result.observed if not _suppressed(app, o.subtype)]
        result.executed = session.executed
        result.from_cache = session.from_cache
    result.warnings = stream.getvalue()
    return result


def _start(
    srcdir: Path, confdir: Path, tmp: str, settings: dict[str, Any], stream: io.StringIO
) -> tuple[Any, Any]:
    """The Sphinx application with the collect builder, and its layertrace session."""
    from sphinx.application import Sphinx

    try:
        app = Sphinx(
            srcdir,
            confdir if (confdir / "conf.py").exists() else None,
            os.path.join(tmp, "out"),
            os.path.join(tmp, "doctrees"),
            CollectBuilder.name,
            confoverrides=settings,
            status=None,
            warning=stream,
            freshenv=True,
        )
    except SphinxError as exc:
        if CollectBuilder.name in str(exc):  # only the extension registers it
            raise _not_configured(confdir) from None
        raise
    session = getattr(app, "layertrace", None)
    if session is None:
        raise _not_configured(confdir)
    return app, session


def _not_configured(confdir: Path) -> NotConfigured:
    where = confdir / "conf.py"
    if where.exists():
        return NotConfigured(
            f"{where} does not load sphinx_layertrace (add it to extensions, "
            "or point -c/--conf-dir at the directory of the right conf.py)"
        )
    return NotConfigured(
        f"no conf.py in {confdir} (point -c/--conf-dir at the docs' conf.py directory)"
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
    """The session observer that records each tab of each snippet in ``result``."""

    def observe(node: Any, verdicts: list[Any]) -> None:
        ident = snippet_id(node["code"], node["setup"], node["style"])
        for verdict in verdicts:
            result.observed.append(
                Observed(
                    source=node.source or "",
                    line=node.line,
                    snippet=ident,
                    label=verdict.label,
                    expect=tuple(node.get("expect") or ()),
                    capture=verdict.capture,
                    missing=verdict.missing,
                    subtype=verdict.subtype or "",
                    short=verdict.short,
                    frozen=verdict.frozen,
                )
            )

    return observe


def _listener(result: Collected) -> Any:
    """Keeps the warnings that are not about one tab's outcome (the observer has those)."""

    def heard(subtype: str, message: str, location: Any) -> None:
        if subtype in OUTCOME_SUBTYPES:
            return
        file, line = _where(location)
        result.other.append(Finding(_display_path(file), line, subtype, message))

    return heard


#: docutils' and MyST's words for a directive they do not know
_UNKNOWN_DIRECTIVE = re.compile(r"Unknown directive type:? [\"'](?P<name>[^\"']+)[\"']")


@contextmanager
def _misspelt_directives(result: Collected, app: Any) -> Iterator[None]:
    """docutils' error for ``.. layertrac::`` (the build reports it; the snippet silently stops
    being checked), kept as a ``directive`` finding: the typo that removes a whole guard.
    Sphinx hands a record to its handlers twice when it held it back while reading, so a
    finding already kept is not kept again."""

    class Heard(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            match = _UNKNOWN_DIRECTIVE.search(record.getMessage())
            if match is None or not difflib.get_close_matches(
                match["name"].lower(), DIRECTIVES, n=1, cutoff=0.75
            ):
                return
            location = getattr(record, "location", None)
            if isinstance(location, tuple) and location[0] in app.env.found_docs:
                location = (app.env.doc2path(location[0]), location[1])
            file, line = _where(location)
            message = f"unknown directive {match['name']!r} (did you mean layertrace?)"
            finding = Finding(_display_path(os.fspath(file)), line, "directive", message)
            if finding not in result.other:
                result.other.append(finding)

    handler = Heard(logging.WARNING)
    root = logging.getLogger("sphinx")  # sphinx.util.logging's namespace
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _where(location: Any) -> tuple[str, int]:
    """(file, line) of a warning's location: ``"path:line"``, ``(path, line)`` or a node."""
    if location is None:
        return "", 0
    if isinstance(location, tuple):
        return str(location[0] or ""), int(location[1] or 0)
    if isinstance(location, str):
        file, _, line = location.rpartition(":")
        return (file, int(line)) if line.isdigit() else (location, 0)
    return str(getattr(location, "source", "") or ""), int(getattr(location, "line", 0) or 0)


def _suppressed(app: Any, subtype: str) -> bool:
    """``suppress_warnings`` silences a warning in the build: then ``check`` is quiet too."""
    from sphinx.util.logging import is_suppressed_warning

    return bool(subtype) and is_suppressed_warning(
        warnings.TYPE, subtype, app.config.suppress_warnings
    )


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
