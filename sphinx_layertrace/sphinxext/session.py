"""One build's execution state: which snippets to run, the runner, the cache, frozen captures.

Snippets are planned as soon as a document is read and submitted at once, so they run while
Sphinx keeps parsing; results are collected only when a page is written. Under ``-j N`` the
reading happens in forked processes that cannot reach the runner, so the plans travel back
through the environment and the main process submits them at ``env-updated``.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import json
import os
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.util import logging

from sphinx_layertrace import __version__
from sphinx_layertrace.capture import distributions
from sphinx_layertrace.capture.cache import CaptureCache, cache_key, child_digest
from sphinx_layertrace.capture.hygiene import Hygiene
from sphinx_layertrace.capture.interpreters import Interpreter, MissingInterpreter, Registry
from sphinx_layertrace.capture.runner import Request, Runner, child_environment
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render.words import counted
from sphinx_layertrace.sphinxext import warnings
from sphinx_layertrace.sphinxext.config import cache_dir, env_values

logger = logging.getLogger(__name__)
#: Size bound of the capture cache; least recently used entries beyond it are evicted.
CACHE_MAX_BYTES = 256 * 2**20
#: Seconds a build's end waits, in all, for snippets no page asked for (``Session.close``).
UNASKED_GRACE = 2.0


@dataclass(frozen=True)
class Planned:
    """One capture a snippet needs: which interpreter, what to run, under which cache key."""

    label: str
    request: Request
    key: str = ""
    missing: str = ""  # set when the interpreter does not exist
    interpreter: Interpreter | None = None  # the one the key was made for, when it exists

    @property
    def version(self) -> str:
        """X.Y of the interpreter behind the label, when it exists."""
        return ".".join(self.interpreter.version.split(".")[:2]) if self.interpreter else ""

    @property
    def names(self) -> tuple[str, ...]:
        """What a frozen capture of this interpreter may be labelled: the label or its X.Y."""
        return (self.label, self.version) if self.version else (self.label,)


def snippet_id(code: str, setup: list[str] | tuple[str, ...], style: str) -> str:
    """Platform-independent name of a snippet: how frozen captures of it are found."""
    data = json.dumps([code, list(setup), style], sort_keys=True).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:16]


def request_for(node: Any, config: Any) -> Request:
    filename = node.get("caption", "") if str(node.get("caption", "")).endswith(".py") else ""
    return Request(
        code=node["code"],
        style=node["style"],
        setup=tuple(node.get("setup", ())),
        timeout=float(node["timeout"]),
        max_output=int(config.layertrace_max_output),
        filename=filename,
    )


class Session:
    """Owns the runner and the cache for one ``sphinx-build`` (attached as ``app.layertrace``)."""

    def __init__(self, app: Any) -> None:
        config = app.config
        self.config = config
        self.execute = config.layertrace_execute
        self.env_passed = env_values(config)
        self.registry = Registry(config.layertrace_interpreters)
        self.cache = CaptureCache(cache_dir(config, app.confdir), max_bytes=CACHE_MAX_BYTES)
        self.hygiene = Hygiene.from_environment(
            paths=[(os.fspath(app.srcdir), "<docs>"), (os.fspath(app.confdir), "<docs>")],
            # the author's values are secrets by definition, whatever their names
            secrets=self.env_passed.values(),
        )
        self.owner = os.getpid()
        self.child_code = child_digest()  # read again at each build's start
        self._runner: Runner | None = None
        self._tickets: dict[str, int] = {}
        self._memo: dict[str, Capture] = {}
        self._planned: dict[tuple, list[Planned]] = {}
        self.read_elsewhere: set[str] = set()  # documents read by forked -j readers
        self.srcdir = os.fspath(app.srcdir)
        #: cache key -> what changed in the distributions its cached capture had imported
        self.rerun: dict[str, list[distributions.Change]] = {}
        self._where: dict[str, str] = {}  # cache key -> "doc.rst:line" of its first snippet
        self._installed: dict[str, dict[str, distributions.Installed]] = {}  # by executable
        self.executed = 0
        self.from_cache = 0
        self._refusal_told = False
        self.frozen = FrozenCaptures.load(config.layertrace_captures, app.confdir)
        # Platform pages (collect.py): called by resolve as observer(node, planned, captures,
        # drift) for every snippet, so the CLI sees each outcome without parsing output.
        self.observer: Any = None

    # -- planning and submitting ----------------------------------------------------------

    def plan(self, node: Any) -> list[Planned]:
        """The captures a snippet needs; the same snippet is planned once per build (the
        document's read and its write both ask, and identical snippets share the answer)."""
        memo_key = (
            node["code"],
            node["style"],
            tuple(node.get("setup", ())),
            float(node["timeout"]),
            tuple(node.get("labels") or ()),
            node.get("caption", ""),
        )
        planned = self._planned.get(memo_key)
        if planned is None:
            planned = self._planned[memo_key] = self._plan(node)
            where = self._location(node)
            for plan in planned:
                self._where.setdefault(plan.key, where)
        return planned

    def _location(self, node: Any) -> str:
        source, line = getattr(node, "source", None) or "", getattr(node, "line", None)
        if source.startswith(self.srcdir):
            source = os.path.relpath(source, self.srcdir)
        return f"{source}:{line}" if line else source

    def _plan(self, node: Any) -> list[Planned]:
        request = request_for(node, self.config)
        default = self.registry.default()
        labels = node.get("labels") or [default.label]
        planned = []
        for label in labels:
            try:
                interp = self.registry.get(label) if node.get("labels") else default
            except MissingInterpreter as exc:
                planned.append(Planned(label, request, missing=str(exc)))
                continue
            key = cache_key(
                request,
                interp,
                self.env_passed,
                extension_version=__version__,
                child_code=self.child_code,
            )
            planned.append(Planned(label, request, key, interpreter=interp))
        return planned

    def submit(self, planned: Planned) -> None:
        key = planned.key
        if not key or key in self._memo or key in self._tickets:
            return
        if self.execute != "always":
            cached = self._from_cache(planned)
            if cached is not None:
                self._memo[key] = cached
                self.from_cache += 1
                return
        if self.execute == "never" or os.getpid() != self.owner:
            return
        self._tickets[key] = self.runner.submit(planned.request, planned.interpreter)
        self.executed += 1

    def _from_cache(self, planned: Planned) -> Capture | None:
        """The cached capture, unless a distribution it imported has changed since (then it is
        noted in :attr:`rerun` and run again). Only the main process judges: what a forked
        ``-j`` reader finds is not kept, the main process submits the plan itself."""
        cached = self.cache.get(planned.key)
        if cached is None or not cached.distributions or planned.interpreter is None:
            return cached
        if self.execute == "never" or os.getpid() != self.owner:
            return cached
        changed = distributions.changes(cached.distributions, self._installed_for(planned))
        if changed:
            self.rerun[planned.key] = changed
            return None
        return cached

    def _installed_for(self, planned: Planned) -> dict[str, distributions.Installed]:
        """What the plan's interpreter has installed, read once per build."""
        assert planned.interpreter is not None
        executable = planned.interpreter.executable
        found = self._installed.get(executable)
        if found is None:
            env = child_environment(self.env_passed)
            found = distributions.scan(distributions.sys_path(executable, env))
            self._installed[executable] = found
        return found

    def rerun_line(self) -> str:
        """The one info line naming the snippets run again and why ("" when none was)."""
        if not self.rerun:
            return ""
        changes = sorted({str(c) for found in self.rerun.values() for c in found})
        where = sorted(self._where[key] for key in self.rerun if key in self._where)
        shown = ", ".join(where[:3]) + (", …" if len(where) > 3 else "")
        snippets = "1 snippet" if len(self.rerun) == 1 else f"{len(self.rerun)} snippets"
        return (
            f"layertrace: {snippets} run again, a distribution they imported changed "
            f"({'; '.join(changes)})" + (f": {shown}" if shown else "")
        )

    def capture(self, planned: Planned) -> Capture | None:
        """The capture for a plan, waiting for it if it is still running."""
        if planned.missing:
            return None
        key = planned.key
        if key not in self._memo:
            if os.getpid() != self.owner:
                return None  # a forked process cannot wait on the main process's worker
            self.submit(planned)  # a page written but not re-read: from the cache, or run now
            ticket = self._tickets.pop(key, None)
            if ticket is not None:
                capture = self.runner.result(ticket)
                self.keep(key, capture)
                self._memo[key] = capture
        return self._memo.get(key)  # None only when layertrace_execute is "never"

    def keep(self, key: str, capture: Capture) -> None:
        """Store a capture; the first time the cache refuses, say so once for the build (not
        once per snippet): the pages are right, only the next build runs everything again."""
        if self.cache.put(key, capture) or self.cache.refused is None or self._refusal_told:
            return
        self._refusal_told = True
        warnings.warn(logger, "cache", refusal_line(self.cache.directory, self.cache.refused))

    def poll(self) -> None:
        # Only the process that started the worker may read its pipe: a forked -j reader that
        # polled would swallow results the main process then waits for forever.
        if self._runner is not None and os.getpid() == self.owner:
            self._runner.poll()

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = Runner(env=self.env_passed, hygiene=self.hygiene)
            _OPEN.add(self)
        return self._runner

    def start_build(self) -> None:
        """Everything but the configuration is per build: one app can build more than once
        (tests, autobuild), and a new build must not see the last one's tickets or results."""
        self.executed = 0
        self.from_cache = 0
        # a fresh view of the directory: a disk that was full or read-only may be fixed by now
        self.cache = CaptureCache(self.cache.directory, max_bytes=CACHE_MAX_BYTES)
        self._refusal_told = False
        # labels are resolved again: an interpreter may have been upgraded since the last build,
        # and the child's code may have changed under a long-lived process
        self.registry = Registry(self.config.layertrace_interpreters)
        self.child_code = child_digest()
        self._tickets.clear()
        self._memo.clear()
        self._planned.clear()
        self.read_elsewhere.clear()
        self.rerun.clear()
        self._where.clear()
        self._installed.clear()

    def close(self) -> None:
        """Stop the worker; results no page asked for (a snippet inside an excluded ``.. only::``
        block) still go to the cache, so the next build need not rerun them. Such a snippet was
        submitted when its page was read and may still be running when a small build ends: it
        gets ``UNASKED_GRACE`` seconds in all to finish, and one still running then is dropped.
        """
        if self._runner is not None:
            grace = time.monotonic() + UNASKED_GRACE
            for key, ticket in self._tickets.items():
                while not self._runner.done(ticket) and time.monotonic() < grace:
                    time.sleep(0.002)
                if self._runner.done(ticket):
                    self.keep(key, self._runner.result(ticket))
            self._tickets.clear()
            self._runner.close()
            self._runner = None
        _OPEN.discard(self)

    def prune_cache(self, after_kill: bool = False) -> None:
        """Keep the cache under its size bound and sweep what killed writers left in it; only
        after a build that wrote to it, or that followed one that did not finish."""
        if self.cache.stats.writes or after_kill:
            self.cache.prune()

    def interrupted(self) -> str:
        """At exit with the worker still running (Ctrl-C: Sphinx emits no build-finished):
        stop it at once and say, in one line, what was left."""
        runner, self._runner = self._runner, None
        if runner is None or os.getpid() != self.owner:
            return ""
        with contextlib.suppress(Exception):
            runner.poll()  # what finished but was not read yet is not "left"
        left = runner.unfinished
        runner.abort()
        if not left:
            return ""
        return f"layertrace: interrupted; {counted(left, 'snippet')} left unfinished"


#: Sessions whose worker is running; what is left of them at exit is stopped by ``_at_exit``.
_OPEN: weakref.WeakSet[Session] = weakref.WeakSet()


@atexit.register
def _at_exit() -> None:
    for session in list(_OPEN):
        line = session.interrupted()
        if line:
            with contextlib.suppress(Exception):
                sys.stderr.write(line + "\n")
                sys.stderr.flush()


#: What an errno means for the cache directory, as the one line a build says it.
_REFUSALS = {
    errno.ENOSPC: "is full (no space left on the device)",
    errno.EDQUOT: "is over its disk quota",
    errno.EFBIG: "takes no file that large (a file size limit)",
    errno.EROFS: "is on a read-only file system",
    errno.EACCES: "is not writable",
    errno.EPERM: "is not writable",
    errno.EEXIST: "is a file, not a directory",
    errno.ENOTDIR: "is under a file, not a directory",
}


def refusal_line(directory: Path, exc: OSError) -> str:
    why = _REFUSALS.get(exc.errno or 0) or f"cannot be written ({exc.strerror or exc})"
    return (
        f"captures are not being kept: the cache directory {os.fspath(directory)} {why}; "
        "the pages are complete, but the next build runs every snippet again "
        "(layertrace_cache_dir sets another place)"
    )


class FrozenCaptures:
    """Capture files from other machines, by snippet id (``layertrace_captures``)."""

    def __init__(self, by_snippet: dict[str, list[Capture]]) -> None:
        self.by_snippet = by_snippet

    @classmethod
    def load(cls, directory: str | os.PathLike | None, confdir: Any) -> FrozenCaptures:
        found: dict[str, list[Capture]] = {}
        if not directory:
            return cls(found)
        from sphinx_layertrace.capture.frozen import FILE_NAME, MergeError, read

        root = Path(confdir, directory)
        for path in sorted(root.glob("*.json")):
            try:
                capture = read(path)
            except MergeError as exc:
                warnings.warn(logger, "captures", str(exc))
                continue
            match = FILE_NAME.match(path.name)
            ident = match["ident"] if match else path.name.split(".", 1)[0]
            found.setdefault(ident, []).append(capture)
        return cls(found)

    def for_snippet(self, ident: str) -> list[Capture]:
        return self.by_snippet.get(ident, [])

    def for_node(self, node: Any) -> list[Capture]:
        """:meth:`for_snippet` of a pending node; its id (JSON and SHA-256 of the snippet) is
        worked out only when capture files were loaded, which most builds have none of."""
        if not self.by_snippet:
            return []
        return self.for_snippet(snippet_id(node["code"], node["setup"], node["style"]))
