"""What the warm worker does once, before forking, so that no child pays for it.

Preloading what every child needs, importing the stdlib modules a snippet names the first time
one does, running the traceback formatter and the resolver once, keeping the source lines that
tracebacks show, reading the installed distributions: then hiding all of it again, so each
child still looks like a fresh interpreter (``imports.ModuleStash``).
"""

import ast
import gc
import linecache
import os
import sys

from . import imports
from .protocol import CHILD_DIR, read_file
from .repl import split_statements, walk
from .report import describe

# Imported into the warm worker before forking: what every child needs itself (so no child
# pays for it). Everything else is imported by ``Warmer.warm`` the first time a snippet names
# it; a small worker forks faster (fewer pages to map and copy on write) than one with
# everything. Not tempfile or shutil: they bring random (whose at-fork hook reseeds in every
# child), zlib, bz2 and lzma, and the worker does without them.
PRELOAD = (
    "traceback", "linecache", "tokenize", "resource", "faulthandler", "errno", "select", "socket",
)  # fmt: skip
# Imported into the worker when a snippet names them; importing any of them has no side effect.
WARM_SAFE = frozenset((
    "socket", "ssl", "smtplib", "http", "urllib", "asyncio", "ftplib", "poplib", "imaplib",
    "xmlrpc", "email", "json", "selectors", "select", "errno", "struct", "time", "datetime",
    "collections", "functools", "itertools", "re", "math", "random", "string", "typing",
    "dataclasses", "enum", "io", "pathlib", "os", "sys", "threading", "queue", "subprocess",
    "signal", "contextlib", "base64", "hashlib", "hmac", "ipaddress", "shutil", "tempfile",
    "textwrap", "uuid", "zlib", "gzip", "csv", "decimal", "fractions", "statistics", "array",
    "weakref", "copy", "pprint", "logging", "concurrent", "wsgiref", "socketserver", "xml", "html",
    "mimetypes", "binascii", "codecs", "unicodedata", "operator", "abc", "inspect", "traceback",
    "warnings", "platform", "locale", "ctypes",
))  # fmt: skip
_SOURCES_MAX_FILES = 32
_SOURCES_MAX_BYTES = 1 << 20


def freeze():
    """Keep what the worker holds out of every child's garbage collections."""
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()


class Warmer:
    """The forking server's side of warming: it fills ``prepared`` for the children."""

    def __init__(self, prepared):
        self.prepared = prepared
        self.tried = set()

    def hide(self):
        """Hide the preloaded modules in the warm worker itself, once, instead of in every
        child. Between forks the worker's own code reaches modules only through names it bound
        at import, never through ``sys.modules``, so the hidden state stays exactly what a
        child needs; ``ModuleStash.check`` in the child catches the case where it did not."""
        imports.track_imports(False)
        if self.prepared.stash is not None:
            self.prepared.stash.unhide()
        imports.forget_own(CHILD_DIR)
        self.prepared.stash = imports.ModuleStash().hide()

    def plan(self, request):
        """Before forking: split a REPL snippet into its statements (the child would parse it
        again); returns the modules it and its setup code import, for ``warm``."""
        trees = []  # type: list
        if request.get("style", "repl") != "script":
            try:
                request["split"] = split_statements(request.get("code", ""), trees)
            except Exception:  # ValueError, RecursionError...: the child meets it itself
                request.pop("split", None)
        sources = [] if trees else [request.get("code", "")]
        for source in sources + list(request.get("setup") or ()):
            try:
                trees.append(ast.parse(source))
            except Exception:
                pass
        return _imported_names(trees)

    def warm(self, names):
        """Import, into the warm worker, the stdlib modules named here (each once); read the
        installed distributions once a name is not the standard library's."""
        index = self.prepared.distributions
        if index is not None and not index.warmed and index.outside_stdlib(names):
            index.warm()
        wanted = []
        stash = self.prepared.stash
        for name in names:
            if name.split(".")[0] in WARM_SAFE and name not in self.tried:
                self.tried.add(name)
                if name not in sys.modules and not (stash and name in stash.modules):
                    wanted.append(name)
        if not wanted:
            return
        if stash is not None:
            stash.unhide()
            self.prepared.stash = None
        imports.track_imports(True)
        for name in wanted:
            try:
                __import__(name)
            except BaseException:
                pass
        self.hide()
        freeze()

    def keep_sources(self, data):
        """Keep the lines of the files a child named (bounded; the child wrote the list after
        the snippet ran, so only real, small, regular .py files are read)."""
        import stat

        kept = self.prepared.sources
        added = False
        total = sum(kept.values())
        for name in data.decode("utf-8", "replace").split("\n")[:_SOURCES_MAX_FILES]:
            if len(kept) >= _SOURCES_MAX_FILES or name in kept:
                continue
            if not (os.path.isabs(name) and name.endswith(".py")):
                continue
            try:
                info = os.stat(name)
            except (OSError, ValueError):
                continue
            if not stat.S_ISREG(info.st_mode) or total + info.st_size > _SOURCES_MAX_BYTES:
                continue
            try:
                linecache.getlines(name)
            except Exception:
                continue
            kept[name] = info.st_size
            total += info.st_size
            added = True
        if added:
            freeze()


def read_notes(workdir, names):
    """``{note: bytes}``: the notes a finished child left in its directory (bounded)."""
    return {
        note: read_file(os.path.join(workdir, note), 1 << 16)
        for note in ("sources", "carets")
        if note in names
    }


def _imported_names(trees):
    names = []  # type: list[str]
    for tree in trees:
        for node in walk(tree):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return names


def warm_formatting(masker, carets=None):
    """Run the traceback formatting path once in the worker, so no child pays for its first
    use, through a frame of socket.py: its lines stay in linecache for every child (a network
    snippet's traceback nearly always shows them). No connection: an unknown address family."""
    try:
        import socket

        socket.socket(-12345)
    except Exception as exc:
        try:
            describe(exc, masker, carets)
        except Exception:
            pass
    if carets is not None:
        carets.new = []  # parsed here: known to every child already


def warm_resolver():
    """Initialise the C library's resolver once, so no child pays for it.

    A fresh process's first ``getaddrinfo`` (even of a numeric address) loads the NSS modules,
    reads nsswitch.conf/gai.conf and asks the kernel for the interface list: measured at about
    4 ms, against 0.35 ms in a child forked after the parent did it once. Only loopback names;
    nothing of it is Python state a snippet could see, and audit hooks are installed later, in
    each child, so none of it shows in a capture.
    """
    try:
        import socket

        for host in ("127.0.0.1", "localhost"):
            try:
                socket.getaddrinfo(host, 9, 0, socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                pass
    except Exception:
        pass
