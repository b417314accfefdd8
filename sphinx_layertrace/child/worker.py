"""The child's entry point, launched by path in the *target* interpreter.

Standard library only, Python 3.8 syntax, and it never imports the rest of the package, because
it runs under whichever CPython the author asked for::

    python worker.py serve [PARALLEL [PARENT]]   the warm forking worker (server.py)
    python worker.py once WORKDIR       one snippet in this fresh interpreter (once.py)
    python worker.py info               what this interpreter is (protocol.interpreter_info)

Started as a file, Python puts this folder first on ``sys.path``. It is taken off at once: the
other modules of the folder are loaded as the package ``_layertrace_child`` through its
``__path__`` alone, and dropped from ``sys.modules`` before a snippet runs, so a snippet can
import none of them (as in a fresh ``python -i``, ``import protocol`` raises
ModuleNotFoundError).
"""

import sys

# What a fresh interpreter has loaded before running anything: every other module is hidden
# from a snippet, so a warm worker and a fresh interpreter look the same.
_STARTUP = frozenset(sys.modules)
_USAGE = "usage: worker.py serve [PARALLEL [PARENT]] | once WORKDIR | info\n"


def _load_package():
    """Load this folder as the package ``_layertrace_child``, without it on ``sys.path``."""
    import os  # loaded at start-up already (site imports it)

    here = os.path.dirname(os.path.realpath(__file__))
    if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == here:
        del sys.path[0]
    package = type(sys)("_layertrace_child")
    package.__path__ = [here]
    package.__package__ = package.__name__
    sys.modules[package.__name__] = package
    from _layertrace_child import imports

    imports.start(_STARTUP)


def main(argv):
    command = argv[1] if len(argv) >= 2 else ""
    if command == "serve":
        import os

        from _layertrace_child.server import Server

        os.set_blocking(1, False)
        parent = int(argv[3]) if len(argv) > 3 else 0
        Server(int(argv[2]) if len(argv) > 2 else 2).serve(parent)
        return 0
    if command == "once" and len(argv) >= 3:
        from _layertrace_child.once import run_once

        return run_once(argv[2])
    if command == "info":
        import json

        from _layertrace_child.protocol import interpreter_info

        sys.stdout.write(json.dumps(interpreter_info()) + "\n")
        return 0
    sys.stderr.write(_USAGE)
    return 2


if __name__ == "__main__":
    _load_package()
    sys.exit(main(sys.argv))
