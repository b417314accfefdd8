"""Sphinx event handlers: create the session, plan snippets as documents are read, clean up."""

from __future__ import annotations

import os
from typing import Any

from docutils import nodes
from sphinx.util import logging

from sphinx_layertrace import STATIC
from sphinx_layertrace.render.doctree import counted
from sphinx_layertrace.render.nodes import layertrace_pending
from sphinx_layertrace.sphinxext import torn
from sphinx_layertrace.sphinxext.domain import LayertraceDomain
from sphinx_layertrace.sphinxext.session import Session

logger = logging.getLogger(__name__)
#: Builders whose output never shows a capture (no output, link checking, doctests, message
#: catalogs, change lists): they get no session, so no snippet runs and no snippet warns there.
QUIET_BUILDERS = frozenset({"dummy", "linkcheck", "doctest", "gettext", "changes", "coverage"})


def builder_inited(app: Any) -> None:
    torn.builder_inited(app)
    if app.builder.name in QUIET_BUILDERS:
        app.layertrace = None
        return
    app.layertrace = Session(app)


def add_static_path(app: Any, config: Any) -> None:
    """``config-inited``: our CSS folder joins ``html_static_path`` before Sphinx compares the
    configuration with the pickled one, so both hold it and no rebuild reads every page again
    ("the configuration has changed: html_static_path")."""
    static = os.fspath(STATIC)
    if static not in config.html_static_path:
        config.html_static_path.append(static)


def before_read(app: Any, env: Any, docnames: list[str]) -> None:
    session: Session | None = getattr(app, "layertrace", None)
    if session is not None:
        session.start_build()


def _domain(env: Any) -> LayertraceDomain:
    return env.get_domain(LayertraceDomain.name)


def doctree_read(app: Any, doctree: nodes.document) -> None:
    """Plan every snippet of the document and, in the main process, start running it now."""
    session: Session | None = app.layertrace
    if session is None:
        return
    planned = [plan for node in doctree.findall(layertrace_pending) for plan in session.plan(node)]
    for plan in planned:
        session.submit(plan)
    _domain(app.env).set_plans(app.env.docname, planned)
    session.poll()


def merge_info(app: Any, env: Any, docnames: list[str], other: Any) -> None:
    """A chunk of forked readers is done (its plans are merged into the domain by now): submit
    its snippets, while the rest is read."""
    session: Session | None = app.layertrace
    if session is None:
        return
    session.read_elsewhere.update(docnames)
    _submit(session, _domain(env).plans_of(docnames))


def env_updated(app: Any, env: Any) -> list[str]:
    """After parallel reads: submit whatever forked readers planned and is not running yet."""
    session: Session | None = app.layertrace
    if session is None:
        return []
    _submit(session, _domain(env).plans_of(sorted(session.read_elsewhere)))
    return []


def _submit(session: Session, planned: list) -> None:
    for plan in planned:
        session.submit(plan)
    session.poll()


def build_finished(app: Any, exception: Exception | None) -> None:
    torn.build_finished(app)
    session: Session | None = getattr(app, "layertrace", None)
    if session is None:
        return
    session.close()
    if session.executed or session.from_cache:
        logger.info(
            f"layertrace: {counted(session.executed, 'snippet')} run, "
            f"{session.from_cache} from the cache"
        )
    rerun = session.rerun_line()
    if rerun:
        logger.info(rerun)
    damaged = session.cache.stats.corrupt
    if damaged:
        entries = counted(damaged, "damaged cache entry", "damaged cache entries")
        logger.info(f"layertrace: {entries} discarded and run again")
    session.prune_cache(after_kill=getattr(app, "layertrace_unfinished", False))
