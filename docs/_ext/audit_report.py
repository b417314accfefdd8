"""Docs-only: ``.. layertrace-audit:: DIR`` shows what ``python -m sphinx_layertrace audit DIR``
prints when these docs are built (``DIR`` relative to the docs' ``conf.py``).

With ``:rewrite: FILE`` it shows instead the diff that ``audit --rewrite`` makes to ``FILE`` of a
temporary copy of ``DIR``. The command runs as a separate process, as a reader would run it, so
the guide shows the real report of this build's Python, never a pasted one. Like a snippet, it
does not run where ``layertrace_execute = "never"`` or on a builder that shows no capture.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from sphinx_layertrace.sphinxext.events import QUIET_BUILDERS


def _audit(srcdir: Path, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sphinx_layertrace", "audit", str(srcdir), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout + done.stderr


class AuditReport(SphinxDirective):
    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"rewrite": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        srcdir = (Path(self.env.app.confdir) / self.arguments[0]).resolve()
        for page in srcdir.rglob("*"):
            if page.suffix in (".rst", ".md"):
                self.env.note_dependency(str(page))
        target = self.options.get("rewrite")
        if not self._may_run():
            text = "(not run: this build runs no code, see guides/hosting)"
            language = "text"
        elif target is None:
            text = f"$ python -m sphinx_layertrace audit {srcdir.name}\n" + _audit(srcdir)
            language = "console"
        else:
            text, language = _rewritten(srcdir, target), "diff"
        block = nodes.literal_block(text, text, language=language)
        self.set_source_info(block)
        return [block]

    def _may_run(self) -> bool:
        """As the extension's snippets: never where ``layertrace_execute`` is ``never`` or on
        a builder that shows no capture."""
        app = self.env.app
        return app.config.layertrace_execute != "never" and app.builder.name not in QUIET_BUILDERS


def _rewritten(srcdir: Path, target: str) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / srcdir.name
        shutil.copytree(srcdir, copy)
        _audit(copy, "--rewrite")
        before = (srcdir / target).read_text("utf-8").splitlines(keepends=True)
        after = (copy / target).read_text("utf-8").splitlines(keepends=True)
    diff = difflib.unified_diff(before, after, f"a/{target}", f"b/{target}", n=1)
    return "".join(diff)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("layertrace-audit", AuditReport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
