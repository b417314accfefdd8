"""Ctrl-C: one line, and no snippet left running.

On KeyboardInterrupt Sphinx prints ``Interrupted!`` and returns without ``build-finished``, so a
build's runner is still open when the interpreter exits. Each open runner is stopped here at
exit, at once (the worker gets SIGTERM and removes its directories), and the build says how many
snippets it stopped, in one line.
"""

from __future__ import annotations

import atexit
import os
import sys

from sphinx_layertrace.capture.runner import Runner
from sphinx_layertrace.render.doctree import counted

#: open runner -> the pid that made it (a forked ``-j`` reader inherits the table, not the
#: workers). Strong references: an interrupted build's app is gone by exit, its runner is not.
_OPEN: dict[Runner, int] = {}


def watch(runner: Runner) -> None:
    _OPEN[runner] = os.getpid()


def unwatch(runner: Runner) -> None:
    _OPEN.pop(runner, None)


def _at_exit() -> None:
    for runner, owner in list(_OPEN.items()):
        if owner != os.getpid():
            continue
        running = runner.running()
        runner.close(urgent=True)
        stopped = counted(running, "running snippet") if running else "no snippet was running"
        print(f"layertrace: interrupted; stopped {stopped}", file=sys.stderr, flush=True)
    _OPEN.clear()


atexit.register(_at_exit)
