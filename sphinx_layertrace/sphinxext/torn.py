"""What a killed build leaves in the output directory, made harmless for the next build.

Sphinx writes its pages, ``searchindex.js`` and ``.buildinfo`` in place. A build killed while
writing (SIGKILL, Ctrl-C, a machine going down) can leave any of them cut short, and Sphinx's
next incremental build trusts them: a torn ``.buildinfo`` fails it (an IndexError in Sphinx 9, a
warning that fails ``-W`` in others), a torn ``searchindex.js`` makes it warn that the index is
incomplete or fail in ``freeze``, and a torn page is newer than its source, so it is never
written again. A mark in the doctree directory says a build is under way; a build that finds
the mark of a build that did not finish reads and writes every document again (snippets come
from the cache, so this costs Sphinx's time only).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sphinx.util import logging

logger = logging.getLogger(__name__)
MARK = "layertrace-unfinished"
#: The first line of the ``.buildinfo`` file Sphinx's HTML builders write.
_BUILDINFO_HEADER = "# Sphinx build info version 1"


def builder_inited(app: Any) -> None:
    mark = Path(app.doctreedir) / MARK
    # a mark of a build still running counts too: its pages may be half written as well
    app.layertrace_unfinished = mark.exists()
    drop_torn_buildinfo(Path(app.outdir))
    if app.layertrace_unfinished:
        logger.info("layertrace: the last build here did not finish; every page is written again")
    with contextlib.suppress(OSError):
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(str(os.getpid()), encoding="ascii")


def outdated(
    app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``: after an unfinished build, every document."""
    if getattr(app, "layertrace_unfinished", False):
        return sorted(set(env.found_docs) - added - removed)
    return []


def build_finished(app: Any) -> None:
    """The build ended the way Sphinx ends one (after an exception Sphinx itself drops its
    environment, so its next build starts afresh)."""
    with contextlib.suppress(OSError):
        (Path(app.doctreedir) / MARK).unlink()


def drop_torn_buildinfo(outdir: Path) -> None:
    """Remove a ``.buildinfo`` cut short: Sphinx 9 fails on one (IndexError) and others warn.
    Without it Sphinx judges pages by their times, and the re-read rewrites them all."""
    path = outdir / ".buildinfo"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return  # none, or unreadable: Sphinx ignores both
    torn = len(lines) < 4 or lines[0].rstrip() != _BUILDINFO_HEADER
    if torn or not lines[2].startswith("config: ") or not lines[3].startswith("tags: "):
        with contextlib.suppress(OSError):
            path.unlink()
