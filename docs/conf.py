"""Sphinx configuration of the sphinx-layertrace documentation.

The docs dogfood the extension: every traceback on these pages is produced by the build that
renders it, on the build machine's OS and Python. Every network example talks to loopback
(127.0.0.1, ::1, localhost), and the name-resolution examples use a name the C library refuses
before asking any DNS server, so a build needs no network and sends nothing off the machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))  # docs-only helpers (config table, expected warnings)
sys.path.insert(0, str(HERE.parent))  # the extension itself, when not pip-installed

project = "sphinx-layertrace"
author = "sphinx-layertrace developers"
copyright = "sphinx-layertrace developers"

try:
    from sphinx_layertrace import __version__ as release
except ImportError:  # pragma: no cover - only while bootstrapping a checkout
    release = "dev"
version = release

extensions = [
    "myst_parser",
    "sphinx_layertrace",
    "layertrace_docs",  # docs/_ext/layertrace_docs.py
    "audit_report",  # docs/_ext/audit_report.py: `audit` run while the docs build
    "layertrace_compat",  # docs/_ext/layertrace_compat.py: the compatibility table
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", ".layertrace-cache", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- sphinx-layertrace --------------------------------------------------------------------------

# Every snippet here finishes in well under a second; a short timeout makes a hang cheap.
layertrace_timeout = 5


def _cpythons() -> list[str]:
    """Executables of the CPythons this machine has that can run snippets, oldest first."""
    from sphinx_layertrace.capture.interpreters import MissingInterpreter, discover, supported

    usable = []
    for interp in discover().values():
        try:
            usable.append(supported(interp))
        except MissingInterpreter:
            continue  # too old for the worker
    usable.sort(key=lambda i: tuple(int(p) for p in i.version.split(".")[:2]))
    return [interp.executable for interp in usable]


# reference/directive shows `:python: oldest, newest`, tutorial/platforms adds `build` (the Python
# running Sphinx, whatever its version). All three always exist: on a machine with one Python they
# name the same interpreter.
_found = _cpythons() or [sys.executable]
layertrace_interpreters = {"build": sys.executable, "oldest": _found[0], "newest": _found[-1]}

# Set LAYERTRACE_EXECUTE=never on hosts that must not run code (see guides/hosting): the build then
# uses the capture cache and frozen captures only.
layertrace_execute = os.environ.get("LAYERTRACE_EXECUTE", "auto")

# Frozen captures from other platforms (guides/platform-pages), when the directory is present.
# The committed set holds one hand-written macOS capture of the seed (marked reconstructed) until CI
# replaces it (_captures/README.txt, tutorial/platforms). Pages whose prose is about this build
# machine's own traceback keep their seed block to the live capture with `:platforms: none`.
_captures = HERE / "_captures"
layertrace_captures = str(_captures) if _captures.is_dir() else None

# The drift page (guides/drift) deliberately expects an exception that does not happen. Its
# warning is *expected*: docs/_ext/layertrace_docs.py reports it as "expected warning" in the
# build log (still visible, not counted), and fails the build if it stops happening. Every other
# page keeps its drift warnings fatal under `make docs` (-W). `python -m sphinx_layertrace check
# docs` reports the drift page too, with its file and line.
layertrace_docs_expected_warnings = {"guides/drift": ["layertrace.drift"]}

# -- HTML ---------------------------------------------------------------------------------------

html_theme = "furo"
html_title = "sphinx-layertrace"
html_static_path = ["_static"]
# WCAG-AA highlighting (accessible-pygments, a furo dependency): checked by axe in tests/browser.
pygments_style = "a11y-light"
pygments_dark_style = "a11y-dark"

# -- other builders -----------------------------------------------------------------------------

latex_documents = [
    (root_doc, "sphinx-layertrace.tex", "sphinx-layertrace", author, "manual"),
]
man_pages = [(root_doc, "sphinx-layertrace", "sphinx-layertrace documentation", [author], 1)]
