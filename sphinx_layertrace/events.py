"""Sphinx event handlers: create the session, plan snippets as documents are read, clean up."""

from __future__ import annotations

import os
from typing import Any

from docutils import nodes
from sphinx.util import logging

from . import STATIC
from .nodes import layertrace_pending
from .runner import Request
from .session import Planned, Session

logger = logging.getLogger(__name__)
PLANS = "layertrace_plans"


def builder_inited(app: Any) -> None:
    app.layertrace = Session(app)
    if app.builder.format == "html":
        static = os.fspath(STATIC)
        if static not in app.config.html_static_path:
            app.config.html_static_path.append(static)


def before_read(app: Any, env: Any, docnames: list[str]) -> None:
    session: Session | None = getattr(app, "layertrace", None)
    if session is not None:
        session.start_build()


def _plans(env: Any) -> dict[str, list[dict[str, Any]]]:
    if not hasattr(env, PLANS):
        setattr(env, PLANS, {})
    return getattr(env, PLANS)


def doctree_read(app: Any, doctree: nodes.document) -> None:
    """Plan every snippet of the document and, in the main process, start running it now."""
    session: Session = app.layertrace
    records = []
    for node in doctree.findall(layertrace_pending):
        for plan in session.plan(node):
            if not plan.key:
                continue
            records.append({"label": plan.label, "key": plan.key, "request": plan.request.__dict__})
            session.submit(plan)
    _plans(app.env)[app.env.docname] = records
    session.poll()


def purge_doc(app: Any, env: Any, docname: str) -> None:
    _plans(env).pop(docname, None)


def merge_info(app: Any, env: Any, docnames: list[str], other: Any) -> None:
    """A chunk of forked readers is done: submit its snippets now, while the rest is read."""
    theirs = _plans(other)
    ours = _plans(env)
    for docname in docnames:
        if docname in theirs:
            ours[docname] = theirs[docname]
    session: Session = app.layertrace
    session.read_elsewhere.update(docnames)
    _submit_records(session, ours, docnames)


def env_updated(app: Any, env: Any) -> list[str]:
    """After parallel reads: submit whatever forked readers planned and is not running yet."""
    session: Session = app.layertrace
    _submit_records(session, _plans(env), sorted(session.read_elsewhere))
    return []


def _submit_records(
    session: Session, plans: dict[str, list[dict[str, Any]]], docnames: Any
) -> None:
    for docname in docnames:
        for record in plans.get(docname, ()):
            request = dict(record["request"])
            request["setup"] = tuple(request.get("setup", ()))
            session.submit(Planned(record["label"], Request(**request), record["key"]))
    session.poll()


def build_finished(app: Any, exception: Exception | None) -> None:
    session: Session | None = getattr(app, "layertrace", None)
    if session is None:
        return
    session.close()
    if session.executed or session.from_cache:
        logger.info(
            f"layertrace: {session.executed} snippets run, {session.from_cache} from the cache"
        )
    damaged = session.cache.stats.corrupt
    if damaged:
        logger.info(f"layertrace: {damaged} damaged cache entries were discarded and run again")
    session.prune_cache()
