"""The child side of sphinx-layertrace: runs inside the *target* interpreter.

Standard library only, Python 3.8 syntax, and it never imports the rest of the package, because
it runs under whichever CPython the author asked for. Two ways to use it:

``python _worker.py serve``
    A warm worker. It reads one JSON request per line on stdin, forks a fresh child per snippet
    (so every snippet starts from the same clean, already-imported state), enforces the timeout,
    kills whatever the snippet left behind and writes one JSON response per line to stdout.
    On Linux it is a child subreaper, so processes that escape with ``setsid`` come back to it.

``python _worker.py once WORKDIR``
    Runs the request in ``WORKDIR/request.json`` in this very process and writes
    ``WORKDIR/result.json``. This is the path for platforms where forking is unavailable or
    unsafe; the parent enforces the timeout from outside.

The snippet's own output never reaches the worker's stdout: file descriptors 1 and 2 of the
snippet point at files in its private working directory, and ``sys.stdout``/``sys.stderr`` are
capped writers, so a 300 MB print costs the parent nothing.
"""

import sys

# What a fresh interpreter has loaded before running anything: every other module is hidden
# from a snippet (see ModuleStash), so a warm worker and a fresh interpreter look the same.
_STARTUP_MODULES = frozenset(sys.modules)
# importer module -> modules its import statements named, recorded while the worker warms up,
# so a hidden module comes back together with everything a fresh import of it would load.
_IMPORT_EDGES = {}
_REAL_IMPORT = __builtins__.__import__ if hasattr(__builtins__, "__import__") else None


def _tracking_import(name, globals=None, locals=None, fromlist=(), level=0):
    module = _REAL_IMPORT(name, globals, locals, fromlist, level)
    try:
        importer = globals.get("__name__") if isinstance(globals, dict) else None
        if importer:
            absname = name
            if level:
                package = globals.get("__package__") or (
                    importer if "__path__" in globals else importer.rpartition(".")[0]
                )
                base = package.rsplit(".", level - 1)[0] if level > 1 else package
                absname = base + "." + name if name else base
            targets = _IMPORT_EDGES.setdefault(importer, set())
            parts = absname.split(".")
            for end in range(1, len(parts) + 1):
                targets.add(".".join(parts[:end]))
            for item in fromlist or ():
                sub = absname + "." + str(item)
                if sub in sys.modules:
                    targets.add(sub)
    except Exception:
        pass
    return module


def _track_imports(on):
    import builtins

    if _REAL_IMPORT is not None:
        builtins.__import__ = _tracking_import if on else _REAL_IMPORT


if __name__ == "__main__":
    _track_imports(True)

import _signal  # noqa: E402 - signal without its enum conversions (loaded at start-up anyway)
import ast  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

# Modules the child-side code uses, bound by ``_bind`` (the forking server binds them before it
# hides the preloaded modules, so nothing the worker runs imports through ``sys.modules`` later
# and makes a hidden module visible again).
errno_mod = faulthandler = gc = linecache = resource = traceback = None


def _bind():
    global errno_mod, faulthandler, gc, linecache, resource, traceback
    if traceback is not None:
        return  # bound already (and an import statement now could unhide a module)
    import errno as errno_mod
    import faulthandler
    import gc
    import linecache
    import resource
    import traceback


WORKER_FILE = os.path.abspath(__file__)
WORKER_NAME = os.path.basename(WORKER_FILE)
IS_LINUX = sys.platform.startswith("linux")
POSIX = os.name == "posix"
MAX_FRAMES = 200
MAX_MESSAGE = 16384
MAX_SYSCALLS = 64
MAX_CHAIN = 32
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_H_ERRNO = {1: "HOST_NOT_FOUND", 2: "TRY_AGAIN", 3: "NO_RECOVERY", 4: "NO_DATA"}
# Imported into the warm worker before forking so no snippet pays for them; importing any of
# them has no side effect. Anything else a snippet imports is loaded in its own child only.
# Imported into the warm worker before forking: what every child needs itself (so no child
# pays for it). Everything else is imported by ``warm`` the first time a snippet names it; a
# small worker forks faster (fewer pages to map and copy on write) than one with everything.
# Not tempfile or shutil: they bring random (whose at-fork hook reseeds in every child), zlib,
# bz2 and lzma, and the worker does without them.
PRELOAD = (
    "traceback",
    "linecache",
    "tokenize",
    "resource",
    "faulthandler",
    "errno",
    "select",
    "socket",
)
_WARM_SAFE = frozenset(
    [
        "socket",
        "ssl",
        "smtplib",
        "http",
        "urllib",
        "asyncio",
        "ftplib",
        "poplib",
        "imaplib",
        "xmlrpc",
        "email",
        "json",
        "selectors",
        "select",
        "errno",
        "struct",
        "time",
        "datetime",
        "collections",
        "functools",
        "itertools",
        "re",
        "math",
        "random",
        "string",
        "typing",
        "dataclasses",
        "enum",
        "io",
        "pathlib",
        "os",
        "sys",
        "threading",
        "queue",
        "subprocess",
        "signal",
        "contextlib",
        "base64",
        "hashlib",
        "hmac",
        "ipaddress",
        "shutil",
        "tempfile",
        "textwrap",
        "uuid",
        "zlib",
        "gzip",
        "csv",
        "decimal",
        "fractions",
        "statistics",
        "array",
        "weakref",
        "copy",
        "pprint",
        "logging",
        "concurrent",
        "http",
        "wsgiref",
        "socketserver",
        "xml",
        "html",
        "mimetypes",
        "binascii",
        "codecs",
        "unicodedata",
        "operator",
        "abc",
        "inspect",
        "traceback",
        "warnings",
        "platform",
        "locale",
        "ctypes",
    ]
)


# ---------------------------------------------------------------------------------------------
# Interpreter facts, computed once per process (before any fork)
# ---------------------------------------------------------------------------------------------


def interpreter_info():
    import platform

    libc = ""
    if hasattr(os, "confstr"):
        try:
            libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError):
            libc = ""
    release = platform.release()
    if sys.platform == "darwin":
        release = platform.mac_ver()[0] or release
    return {
        "platform": {
            "system": platform.system(),
            "release": release,
            "machine": platform.machine(),
            "libc": libc,
        },
        "python": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
        },
    }


class PathMasker:
    """Maps absolute paths of this machine to readable placeholders.

    Site-packages is checked before the stdlib because it usually sits inside it.
    """

    def __init__(self, extra=()):
        import sysconfig

        pairs = []
        sites = set()
        try:
            import site

            sites.update(site.getsitepackages())
            sites.add(site.getusersitepackages())
        except Exception:
            pass
        for key in ("purelib", "platlib"):
            try:
                sites.add(sysconfig.get_paths()[key])
            except Exception:
                pass
        for entry in sys.path:
            base = os.path.basename(entry.rstrip("/\\"))
            if base in ("site-packages", "dist-packages"):
                sites.add(entry)
        self.sites = sorted(_real_variants(sites), key=len, reverse=True)
        stdlib = set()
        try:
            stdlib.add(sysconfig.get_paths()["stdlib"])
        except Exception:
            pass
        stdlib.add(os.path.dirname(os.__file__))
        if getattr(sys, "_stdlib_dir", None):
            stdlib.add(sys._stdlib_dir)
        self.stdlib = sorted(_real_variants(stdlib), key=len, reverse=True)
        for path in self.sites:
            pairs.append((path, "<site-packages>"))
        for path in self.stdlib:
            pairs.append((path, "<stdlib>"))
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        for path in _real_variants(prefixes):
            pairs.append((path, "<prefix>"))
        for path, label in extra:
            for variant in _real_variants([path]):
                pairs.append((variant, label))
        try:
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        except Exception:
            home = os.path.expanduser("~")
        pairs.append((os.path.dirname(WORKER_FILE), "<layertrace>"))
        temps = {_temp_dir(), "/tmp", "/var/tmp", "/dev/shm"}
        for path in _real_variants(temps):
            pairs.append((path, "<tmp>"))
        if home and home not in ("/", ""):
            for path in _real_variants([home]):
                pairs.append((path, "~"))
        # Longest first, so /home/u/.venv/lib/site-packages wins over /home/u.
        self.pairs = sorted(
            [(p, label) for p, label in pairs if p and len(p) > 1], key=lambda x: -len(x[0])
        )

    def text(self, text):
        if not text:
            return text
        for path, label in self.pairs:
            if path in text:
                text = text.replace(path, label)
        return text

    def classify(self, filename, module):
        """Return (origin, stdlib relative path) for a frame."""
        if filename.startswith("<frozen "):
            name = filename[len("<frozen ") : -1]
            return "stdlib", name.replace(".", "/") + ".py"
        if filename.startswith("<") or module == "__main__" or not os.path.isabs(filename):
            return "user", ""  # a pseudo-file, or the snippet's own relative script name
        real = os.path.normcase(os.path.abspath(filename))
        for path in self.sites:
            if _under(real, path):
                return "site", ""
        parts = real.replace("\\", "/").split("/")
        if "site-packages" in parts or "dist-packages" in parts:
            return "site", ""
        for path in self.stdlib:
            if _under(real, path):
                return "stdlib", os.path.relpath(real, path).replace(os.sep, "/")
        return "other", ""


def _temp_dir():
    """``tempfile.gettempdir()`` without importing tempfile (and random, shutil, bz2...)."""
    candidates = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    candidates += ["/tmp", "/var/tmp", "/usr/tmp"]
    for path in candidates:
        if path and os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK):
            return os.path.abspath(path)
    return os.getcwd()


_USER_TASKS = [None]  # tasks (threads) of this user when the worker started; see user_tasks()


def user_tasks():
    """How many tasks this user runs now (Linux /proc), or None where that cannot be told."""
    if not IS_LINUX:
        return None
    uid = str(os.getuid())
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except (OSError, ValueError):
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            total += int(fields.get("Threads", "1").strip() or 1)
    return total


def remove_tree(path, names=None):
    """``shutil.rmtree(path, ignore_errors=True)`` for the snippets' working directories."""
    if names is None:
        try:
            names = os.listdir(path)
        except OSError:
            names = []
    for name in names:
        full = os.path.join(path, name)
        try:
            os.unlink(full)
        except OSError:
            try:
                import stat

                if stat.S_ISDIR(os.lstat(full).st_mode):
                    remove_tree(full)
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def _real_variants(paths):
    out = set()
    for path in paths:
        if not path:
            continue
        path = path.rstrip("/\\") or path
        out.add(path)
        try:
            out.add(os.path.realpath(path))
        except OSError:
            pass
    return out


def _under(path, root):
    root = os.path.normcase(root)
    return path == root or path.startswith(root.rstrip("/\\") + os.sep)


# ---------------------------------------------------------------------------------------------
# A fresh-looking sys.modules
# ---------------------------------------------------------------------------------------------


class ModuleStash:
    """Hides every module a fresh interpreter would not have loaded yet, and gives it back.

    The warm worker (and the worker's own code) imported many modules before the snippet runs.
    Left visible, they change what a snippet sees: ``import urllib; urllib.request`` would work
    here and fail for the reader, ``'ssl' in sys.modules`` would differ. So the child removes
    them from ``sys.modules`` and from their parent packages' attributes, and a meta path
    finder returns the *same* module object (never a second copy) with everything a fresh
    import of it would have loaded, when the snippet imports it.
    """

    def __init__(self):
        self.modules = {}
        self.detached = []  # (package, attribute, module) taken off by hide
        self.visible = 0
        self._spec_type = type(getattr(sys, "__spec__", None))

    def hide(self):
        for name in list(sys.modules):
            if name in _STARTUP_MODULES or name == "__main__":
                continue
            module = sys.modules.pop(name)
            if module is not None:
                self.modules[name] = module
        for name, module in self.modules.items():
            parent, _, child = name.rpartition(".")
            owner = sys.modules.get(parent) or self.modules.get(parent) if parent else None
            if owner is not None and getattr(owner, child, None) is module:
                try:
                    delattr(owner, child)
                    self.detached.append((owner, child, module))
                except Exception:
                    pass
        if self._spec_type is not type(None):
            sys.meta_path.insert(0, self)
        self.visible = len(sys.modules)
        return self

    def unhide(self):
        """Undo ``hide``: in the forking server before it imports more modules into itself, in
        a child once the snippet has run."""
        while self in sys.meta_path:
            sys.meta_path.remove(self)
        for name, module in self.modules.items():
            sys.modules.setdefault(name, module)
        self.reattach()
        self.modules = {}
        self.detached = []

    def reattach(self):
        """Give packages back the submodule attributes ``hide`` took (touches only those)."""
        for owner, child, module in self.detached:
            if not hasattr(owner, child):
                try:
                    setattr(owner, child, module)
                except Exception:
                    pass

    def check(self):
        """Hide again whatever became visible since ``hide`` (nothing, unless an import slipped
        through the worker's own code): a cheap length check, then the full pass if needed."""
        if len(sys.modules) != self.visible or sys.meta_path[0] is not self:
            for name in list(sys.modules):
                if name not in _STARTUP_MODULES and name != "__main__":
                    module = sys.modules.pop(name)
                    if module is not None:
                        self.modules[name] = module
            if self not in sys.meta_path and self._spec_type is not type(None):
                sys.meta_path.insert(0, self)
            self.visible = len(sys.modules)

    # importlib finder/loader protocol
    def find_spec(self, name, path=None, target=None):
        module = self.modules.get(name)
        if module is None:
            return None
        return self._spec_type(name, self, is_package=hasattr(module, "__path__"))

    def create_module(self, spec):
        module = self.modules.pop(spec.name)
        self._original_spec = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module):
        # importlib replaced __spec__ with ours; put the real one back, then the closure.
        try:
            module.__spec__ = self._original_spec
        except Exception:
            pass
        self.restore_closure(module.__name__)

    def restore_closure(self, name):
        restored = [name]
        todo = [name]
        while todo:
            current = todo.pop()
            wanted = set(_IMPORT_EDGES.get(current, ()))
            parts = current.split(".")
            for end in range(1, len(parts)):
                wanted.add(".".join(parts[:end]))
            for dep in wanted:
                module = self.modules.pop(dep, None)
                if module is not None:
                    sys.modules[dep] = module
                    restored.append(dep)
                    todo.append(dep)
        for dep in restored:
            parent, _, child = dep.rpartition(".")
            owner = sys.modules.get(parent) if parent else None
            if owner is not None and dep in sys.modules:
                try:
                    setattr(owner, child, sys.modules[dep])
                except Exception:
                    pass


# The forking server's ModuleStash while its modules are hidden (children inherit it hidden).
_HIDDEN = []
# sys.stdin of every child, reading /dev/null: opened once by the forking server.
_STDIN = []
# The forking server's own sys.stdin/stdout/stderr: a child replaces them, and the last
# reference going away would tear each one down in every child (dozens of pages written).
_KEEP = []
# Hard resource limits of the forking server (its children inherit them): no getrlimit each.
_HARD_LIMITS = {}


def hide_in_worker():
    """Hide the preloaded modules in the warm worker itself, once, instead of in every child.

    Between forks the worker's own code reaches modules only through names it bound before
    (``_bind``), never through ``sys.modules``, so the hidden state stays exactly what a child
    needs; ``ModuleStash.check`` in the child catches the case where it did not.
    """
    _track_imports(False)
    if _HIDDEN:
        _HIDDEN.pop().unhide()
    _HIDDEN.append(ModuleStash().hide())


# ---------------------------------------------------------------------------------------------
# Capped output streams
# ---------------------------------------------------------------------------------------------


class CappedStream:
    """A text stream that keeps the first ``cap`` bytes and only counts the rest.

    Everything kept is written to the stream's own file and to the shared terminal file, so a
    REPL transcript sees stdout and stderr interleaved the way a terminal would.
    """

    encoding = "utf-8"
    errors = "backslashreplace"
    newlines = None
    closed = False

    def __init__(self, fd, tee_fd, budget, name):
        self._fd = fd
        self._tee = tee_fd
        self._budget = budget
        self.name = name
        self.dropped = 0

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        left = self._budget[0]
        if left <= 0:
            self.dropped += len(text)
            return len(text)
        data = text[:left].encode("utf-8", "backslashreplace")[:left]
        self._budget[0] -= len(data)
        self.dropped += max(0, len(text) - left)
        for fd in (self._fd, self._tee):
            try:
                os.write(fd, data)
            except OSError:
                pass
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False

    @property
    def buffer(self):
        return _BinaryView(self)


class _BinaryView:
    def __init__(self, stream):
        self._stream = stream

    def write(self, data):
        self._stream.write(bytes(data).decode("utf-8", "backslashreplace"))
        return len(data)

    def flush(self):
        pass


# ---------------------------------------------------------------------------------------------
# Running one snippet in this process
# ---------------------------------------------------------------------------------------------


class Snippet:
    """Everything that happens between "start the snippet" and "write result.json"."""

    def __init__(self, request, workdir, info, masker):
        self.req = request
        self.workdir = workdir
        self.info = info
        self.masker = masker
        self.style = request.get("style", "repl")
        self.syscalls = []
        self.syscalls_dropped = 0
        self.recording = False
        self.steps = []
        self.echo = None
        self.sources = {}

    # -- set-up of the process ----------------------------------------------------------

    def isolate(self):
        wd = self.workdir
        # The snippet works one level down, so files it writes (even one named result.json)
        # never meet the ones this process reports through.
        home = os.path.join(wd, "cwd")
        os.mkdir(home, 0o700)
        os.chdir(home)
        env = os.environ
        env["HOME"] = home
        env["TMPDIR"] = home
        env["TEMP"] = home
        env["TMP"] = home
        cached = sys.modules.get("tempfile")
        if cached is None and _HIDDEN:
            cached = _HIDDEN[0].modules.get("tempfile")
        if cached is not None:
            cached.tempdir = None  # a snippet's tempfile.gettempdir() is its own directory
        stdin = _STDIN[0] if _STDIN else open(os.devnull)  # noqa: SIM115 - lives with the child
        os.dup2(stdin.fileno(), 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_APPEND", 0)
        out = os.open(os.path.join(wd, "stdout"), flags, 0o600)
        err = os.open(os.path.join(wd, "stderr"), flags, 0o600)
        self.term = os.open(os.path.join(wd, "terminal"), flags, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        budget = [int(self.req.get("max_output", 65536))]
        self.out = CappedStream(1, self.term, budget, "<stdout>")
        self.err = CappedStream(2, self.term, [budget[0]], "<stderr>")
        sys.stdout = sys.__stdout__ = self.out
        sys.stderr = sys.__stderr__ = self.err
        sys.stdin = sys.__stdin__ = stdin
        try:
            # a file descriptor, not a file object: faulthandler only writes to the descriptor
            self.fault = os.open(os.path.join(wd, "fault"), flags, 0o600)
            faulthandler.enable(file=self.fault)
            timeout = float(self.req.get("timeout", 10))
            if self.req.get("dump_on") and hasattr(faulthandler, "register"):
                # the forking server sends this signal shortly before the deadline: the same
                # "where did it hang" as a watchdog thread, without a thread per child (a
                # thread made every child's exit ~2.5 ms slower)
                faulthandler.register(self.req["dump_on"], file=self.fault, all_threads=True)
            elif timeout > 0.5:
                faulthandler.dump_traceback_later(timeout - 0.25, exit=False, file=self.fault)
        except Exception:
            pass
        self.limit_resources()
        if hasattr(sys, "addaudithook"):
            sys.addaudithook(self.audit)

    def limit_resources(self):
        if not POSIX:
            return
        timeout = float(self.req.get("timeout", 10))
        limits = [
            ("RLIMIT_CORE", 0),
            ("RLIMIT_CPU", int(timeout) + 5),
            ("RLIMIT_FSIZE", int(self.req.get("max_file", 256 << 20))),
        ]
        memory = self.req.get("memory")
        if memory and IS_LINUX:
            limits.append(("RLIMIT_AS", int(memory)))
        margin = self.req.get("nproc")
        if margin and os.getuid() != 0:
            # RLIMIT_NPROC counts every task of the user on the machine, so the limit is what
            # the user already runs plus the margin, never an absolute number.
            if _USER_TASKS[0] is None:
                _USER_TASKS[0] = user_tasks()
            if _USER_TASKS[0] is not None:
                limits.append(("RLIMIT_NPROC", _USER_TASKS[0] + int(margin)))
        for name, value in limits:
            which = getattr(resource, name, None)
            if which is None:
                continue
            try:
                hard = _HARD_LIMITS.get(which)
                if hard is None:
                    hard = resource.getrlimit(which)[1]
                if hard != resource.RLIM_INFINITY:
                    value = min(value, hard)
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass
        if hasattr(_signal, "SIGXFSZ"):
            _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)

    def audit(self, event, args):
        if not self.recording or not event.startswith("socket.") or event == "socket.__new__":
            return
        try:
            shown = ", ".join(
                repr(a) for a in args if type(a).__name__ not in ("socket", "SSLSocket")
            )
            if event == "socket.getaddrinfo":
                shown = ", ".join(repr(a) for a in args[:2])
        except Exception:
            shown = "?"
        self.syscalls.append({"event": event, "args": shown[:300]})
        if len(self.syscalls) > MAX_SYSCALLS:
            del self.syscalls[0]
            self.syscalls_dropped += 1

    # -- running --------------------------------------------------------------------------

    def run(self):
        main = type(sys)("__main__")
        main.__dict__["__builtins__"] = __builtins__
        _track_imports(False)
        if _HIDDEN:
            _HIDDEN[0].check()  # the forking server hid them already, before forking
        else:
            _HIDDEN.append(ModuleStash().hide())
        sys.modules["__main__"] = main
        ns = main.__dict__
        setup = self.req.get("setup") or []
        for index, code in enumerate(setup):
            try:
                exec(compile(code, "<setup-%d>" % (index + 1), "exec"), ns)
            except BaseException as exc:
                return "error", exc, "the layertrace-setup code raised %s" % type(exc).__name__
        self.recording = True
        code = self.req.get("code", "")
        try:
            if self.style == "script":
                self.run_script(code, ns)
            else:
                self.run_repl(code, ns)
        except BaseException as exc:
            self.recording = False
            return "raised", exc, ""
        self.recording = False
        return "returned", None, ""

    def run_script(self, code, ns):
        filename = self.req.get("filename") or "example.py"
        lines = source_lines(code)
        linecache.cache[filename] = (len(code), None, lines, filename)
        ns["__file__"] = filename
        compiled = compile(code, filename, "exec", dont_inherit=True)
        self.steps.append({"source": code, "ran": True})
        try:
            exec(compiled, ns)
        except BaseException:
            self.steps[-1]["raised"] = True
            raise

    def run_repl(self, code, ns):
        """Feed the snippet one top-level statement at a time, like the interactive prompt."""
        # the forking server split it already, before forking (it parses the code anyway)
        split = self.req.get("split")
        chunks, error, waits = split if split is not None else split_statements(code)
        sys.displayhook = self.displayhook
        future = 0
        for index, chunk in enumerate(chunks):
            self.steps.append({"source": chunk, "ran": False, "waits": index in waits})
        if error is not None:  # it ends where the prompt reads the offending line
            self.steps.append({"source": error, "ran": False, "waits": False})
        for index, chunk in enumerate(chunks):
            step = self.steps[index]
            step["ran"] = True
            step["start"] = self.offset()
            self.current = step
            if is_comment(chunk):  # the prompt only waits for more input
                step["end"] = step["start"]
                continue
            try:
                compiled = compile(chunk, "<stdin>", "single", future, dont_inherit=True)
                if "__future__" in chunk:  # the prompt keeps a future import for what follows
                    future |= compiled.co_flags & _future_flags()
                exec(compiled, ns)
            except BaseException:
                step["raised"] = True
                raise
            finally:
                step["end"] = self.offset()
        if error is not None:
            step = self.steps[-1]
            read, unread = prompt_reads(error)
            if unread:  # the prompt reports the error before it reads these: they never ran
                step["source"] = read
                self.steps.append({"source": unread, "ran": False, "waits": False})
            step["ran"] = True
            step["raised"] = True
            step["start"] = step["end"] = self.offset()
            error_at_prompt = prompt_syntax_error(read) if IS_LINUX else None
            if error_at_prompt is not None:
                raise error_at_prompt
            compile(read, "<stdin>", "single", dont_inherit=True)
            # The rest compiled on its own (rare): raise what the whole snippet raises.
            compile(error, "<stdin>", "exec", dont_inherit=True)
            compile(code, "<stdin>", "exec", dont_inherit=True)

    def displayhook(self, value):
        if value is None:
            return
        import builtins

        builtins._ = None
        text = repr(value)
        self.current["echo"] = text
        self.echo = text
        sys.stdout.write(text + "\n")
        builtins._ = value

    def offset(self):
        try:
            return os.lseek(self.term, 0, os.SEEK_CUR)
        except OSError:
            return 0

    # -- reporting ------------------------------------------------------------------------

    def report(self, outcome, exc, detail, started):
        duration = time.monotonic() - started
        if _HIDDEN:
            # The snippet is done: the report code reads collections.abc and the like
            _HIDDEN[0].reattach()
        result = {
            "schema": 1,
            "code": self.req.get("code", ""),
            "style": self.style,
            "outcome": outcome,
            "duration": round(duration, 6),
            "detail": detail,
            "timeout": self.req.get("timeout"),
        }
        result.update(self.info)
        try:
            result["exception"] = describe(exc, self.masker) if exc is not None else None
        except BaseException as failure:  # never lose the run because formatting failed
            result["exception"] = {
                "type": type(exc).__name__,
                "module": type(exc).__module__,
                "message": "<formatting failed: %s>" % type(failure).__name__,
            }
        try:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
        except Exception:
            pass
        dropped = self.out.dropped + self.err.dropped
        terminal = read_capped(os.path.join(self.workdir, "terminal"), self.req)
        steps = []
        for step in self.steps:
            item = {"source": step["source"], "ran": step["ran"]}
            if "waits" in step:
                item["waits"] = step["waits"]
            if step.get("raised"):
                item["raised"] = True
            if "echo" in step:
                item["echo"] = self.masker.text(step["echo"])
            if "start" in step:
                item["output"] = self.masker.text(
                    terminal[step["start"] : step["end"]].decode("utf-8", "backslashreplace")
                )
            steps.append(item)
        result["steps"] = steps
        result["echo"] = self.masker.text(self.echo) if self.echo is not None else None
        stdout = read_capped(os.path.join(self.workdir, "stdout"), self.req)
        stderr = read_capped(os.path.join(self.workdir, "stderr"), self.req)
        cap = int(self.req.get("max_output", 65536))
        result["stdout"] = self.masker.text(stdout[:cap].decode("utf-8", "backslashreplace"))
        result["stderr"] = self.masker.text(stderr[:cap].decode("utf-8", "backslashreplace"))
        result["truncated"] = bool(dropped or len(stdout) > cap or len(stderr) > cap)
        result["syscalls"] = [
            {"event": s["event"], "args": self.masker.text(s["args"])} for s in self.syscalls
        ]
        return result


def split_statements(code, trees=None):
    """Split source into top-level statements as a REPL user would type them.

    Returns (chunks, error_chunk, waits): when the source does not parse, the statements before
    the broken one still run, and the broken one is compiled alone so its SyntaxError reads
    ``File "<stdin>", line N`` exactly like the prompt. ``waits`` lists the indexes of the
    chunks the prompt runs only after an empty line (compound statements), as this very
    interpreter parses them. The tree of what parsed is appended to ``trees`` when given.
    """
    lines = source_lines(code)
    try:
        tree = ast.parse(code)
        error_line = None
    except SyntaxError as exc:
        error_line = exc.lineno or 1
        tree = None
        prefix_end = error_line - 1
        while prefix_end > 0:
            try:
                tree = ast.parse("".join(lines[:prefix_end]))
                break
            except SyntaxError:
                prefix_end -= 1
        if tree is None:
            tree = ast.parse("")
        elif tree.body and _block_goes_on(tree.body[-1], lines[prefix_end:]):
            # the broken line belongs to the last block: the prompt reads them as one input and
            # runs none of it
            tree.body = tree.body[:-1]
    if trees is not None:
        trees.append(tree)
    # Statements that share a line (``import x; x.f()``) are one input at the prompt: group
    # them, or the shared line would run once per statement.
    spans = []  # [first line, last line, whether its last statement is compound]
    for node in tree.body:
        start = node.lineno
        decorators = getattr(node, "decorator_list", None) or []
        for deco in decorators:
            start = min(start, deco.lineno)
        end = getattr(node, "end_lineno", None) or _last_line(node)
        compound = isinstance(node, COMPOUND)
        if spans and start <= spans[-1][1]:
            spans[-1][1:] = [max(spans[-1][1], end), compound]
        else:
            spans.append([start, end, compound])
    chunks = []
    waits = []
    last = 0
    for start, end, compound in spans:
        _comments(lines[last : start - 1], chunks)
        if compound:
            waits.append(len(chunks))
            # comment lines typed right after the block are still part of it: the prompt only
            # ends it at an empty line
            while end < len(lines) and _continues_block(lines[end]):
                end += 1
        chunk = "".join(lines[start - 1 : end])
        chunks.append(chunk if chunk.endswith("\n") else chunk + "\n")
        last = end
    if error_line is None:
        _comments(lines[last:], chunks)
        return chunks, None, waits
    # comment lines before the broken statement are inputs of their own, as at the prompt
    first = last
    while first < len(lines) and is_comment(lines[first]):
        first += 1
    _comments(lines[last:first], chunks)
    rest = "".join(lines[first:])
    return chunks, rest or "\n", waits


# Statements the prompt runs only after an empty line (a call spread over lines runs at once).
COMPOUND = tuple(
    getattr(ast, name)
    for name in (
        "If", "For", "While", "With", "Try", "FunctionDef", "ClassDef", "AsyncFor",
        "AsyncWith", "AsyncFunctionDef", "Match", "TryStar",
    )
    if hasattr(ast, name)
)  # fmt: skip


def _future_flags():
    """The compiler flags of every ``from __future__ import`` feature of this interpreter."""
    import __future__

    flags = 0
    for name in __future__.all_feature_names:
        flags |= getattr(__future__, name).compiler_flag
    return flags


def prompt_reads(source):
    """Split ``source``, whose first statement does not parse, into the lines the interactive
    prompt reads before it reports the error and the lines after them.

    The prompt reads on while the input is only incomplete (an open bracket, a block without its
    empty line) and stops at the first line that makes it wrong; ``codeop`` answers "incomplete"
    as the prompt does, and an empty line ends any input. Called only once the snippet is over,
    so ``codeop`` is never among the modules a snippet sees. Past ``_PROMPT_LINES`` lines (each
    try compiles all the lines before it) the whole input counts as read.
    """
    lines = source_lines(source)
    try:
        import codeop
        import warnings
    except ImportError:  # the snippet broke its own imports: show what there is
        return source, ""
    for count in range(1, min(len(lines), _PROMPT_LINES)):
        if not lines[count - 1].strip("\r\n"):  # an empty line: the prompt ends the input here
            return "".join(lines[:count]), "".join(lines[count:])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                codeop.compile_command("".join(lines[:count]), "<stdin>", "single")
        except (SyntaxError, OverflowError, ValueError, MemoryError, RecursionError):
            return "".join(lines[:count]), "".join(lines[count:])
    return source, ""


_PROMPT_LINES = 200


def prompt_syntax_error(source):
    """The SyntaxError the interactive prompt itself reports for ``source``, or None.

    ``compile()`` words some errors otherwise: an open bracket is "'(' was never closed" to it,
    where the prompt's tokenizer, which asks for more input instead of meeting the end, says
    "invalid syntax. Perhaps you forgot a comma?". So the source is handed to CPython's own
    prompt (``PyRun_InteractiveOneObject`` reading it on file descriptor 0, its prompts sent to
    /dev/null), which leaves the error in ``sys.last_value`` and its report, as python -i
    prints it, in a buffer that :func:`describe` uses. It only parses: called for input whose
    first statement does not parse, after the snippet is over.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        stdin = ctypes.c_void_p.in_dll(libc, "stdin")
        run = ctypes.pythonapi.PyRun_InteractiveOneObject
    except (ImportError, OSError, AttributeError, ValueError):
        return None
    run.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p]
    run.restype = ctypes.c_int
    streams = (
        getattr(sys, "stderr", None),
        getattr(sys, "ps1", None),
        getattr(sys, "ps2", None),
        getattr(sys, "excepthook", None),
    )
    try:  # whatever the snippet did to its process, a failure here falls back to compile()
        read_end, write_end = os.pipe()
        saved = [os.dup(0), os.dup(2)]
        quiet = os.open(os.devnull, os.O_WRONLY)
    except Exception:
        return None
    try:
        typed = (source if source.endswith("\n") else source + "\n").encode("utf-8")
        if len(typed) > 60000:  # more than a pipe holds before anyone reads it
            return None
        os.write(write_end, typed)
        os.close(write_end)
        os.dup2(read_end, 0)
        os.dup2(quiet, 2)
        import io

        sys.stderr = report = io.StringIO()  # the prompt's own words for the error
        sys.ps1, sys.ps2 = ">>> ", "... "
        sys.excepthook = sys.__excepthook__  # not the snippet's hook: the report is ours
        sys.last_value = None
        error = sys.last_value if run(stdin, "<stdin>", None) != 0 else None
        if not isinstance(error, SyntaxError):
            return None
        if report.getvalue().rstrip().endswith(type(error).__name__ + ": " + str(error.msg)):
            # what python -i printed, to the byte (less the newline that ends an unfinished
            # prompt line: the page shows each input on its own lines)
            error._layertrace_printed = report.getvalue().lstrip("\n")
        return error
    except Exception:
        return None
    finally:
        try:
            if sys.stderr is not streams[0]:
                sys.stderr.close()
            for name, value in zip(("stderr", "ps1", "ps2", "excepthook"), streams):  # noqa: B905
                if value is None:
                    sys.__dict__.pop(name, None)
                else:
                    setattr(sys, name, value)
            os.dup2(saved[0], 0)
            os.dup2(saved[1], 2)
            for fd in (*saved, read_end, quiet):
                try:
                    os.close(fd)
                except OSError:
                    pass
        except Exception:
            pass  # the snippet replaced what undoes this; it is over, and its report comes next


_CLAUSES = ("elif", "else", "except", "finally", "case")


def _is_clause(line):
    """``else:``, ``except ValueError:``, ``case 1:``... (not ``elsewhere = 1``)."""
    for word in _CLAUSES:
        if line.startswith(word):
            after = line[len(word) : len(word) + 1]
            return not (after.isalnum() or after == "_")
    return False


def _block_goes_on(node, after):
    """Whether the code after a compound statement is still part of it at the prompt: indented,
    or a clause of its own (``else:``, ``except ...:``), with no empty line in between."""
    if not isinstance(node, COMPOUND):
        return False
    for line in after:
        if not line.strip("\r\n"):
            return False  # an empty line ended the block
        if not is_comment(line):
            return line[:1].isspace() or _is_clause(line)
    return False


def source_lines(code):
    """The lines of source code as the tokenizer and ``ast`` count them, ends kept:
    ``str.splitlines`` also splits at characters such as U+2028 that Python source keeps
    inside a line (in a string or a comment)."""
    lines = [line + "\n" for line in code.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _continues_block(line):
    """A line the prompt still reads into an open block: a comment, or blanks that are not an
    empty line (only an empty line ends a block)."""
    text = line.rstrip("\r\n")
    return bool(text) and (not text.strip() or text.lstrip().startswith("#"))


def _comments(lines, chunks):
    """Comment lines between statements are shown as typed, each block as its own input."""
    text = "".join(lines).strip("\n")
    if text.strip():
        chunks.append(text + "\n")


def is_comment(chunk):
    return all(not line.strip() or line.lstrip().startswith("#") for line in source_lines(chunk))


def _last_line(node):
    """``end_lineno`` for Python 3.7-: the largest line number inside the statement."""
    return max(getattr(n, "lineno", 0) or 0 for n in _walk(node))


def _walk(tree):
    """``ast.walk`` without its function-level ``from collections import deque``: in the
    forking server that import would make ``collections`` visible to every child."""
    todo = [tree]
    while todo:
        node = todo.pop()
        todo.extend(ast.iter_child_nodes(node))
        yield node


def read_capped(path, req):
    return read_file(path, int(req.get("max_output", 65536)) + 1)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def read_file(path, limit):
    """Up to ``limit`` bytes of a file (b"" when it cannot be read), without a file object.

    Not through a symbolic link, and never blocking on a FIFO: the snippet owned the directory.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return b""
    try:
        return os.read(fd, limit)  # one read: these are regular files (or b"")
    except OSError:
        return b""
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Exceptions as data
# ---------------------------------------------------------------------------------------------


_SIBLINGS = {}


def sibling(name):
    """A module of this folder (``arguments``, ``flattened``), loaded by path under a private name.

    The worker runs as a script under any CPython, where the package may not be importable; the
    module is not put in ``sys.modules``, so no snippet sees it.
    """
    module = _SIBLINGS.get(name)
    if module is None:
        import importlib.util

        path = os.path.join(os.path.dirname(WORKER_FILE), name + ".py")
        spec = importlib.util.spec_from_file_location("_layertrace_child_" + name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _SIBLINGS[name] = module
    return module


def chain_arguments(exc):
    """``{id(traceback entry): [[name, repr], ...]}``: what each layer was asked (redacted)."""
    try:
        return sibling("arguments").chain_arguments(exc)
    except Exception:
        return {}  # a snippet that broke repr or the frames: no arguments, never no report


def flattened_errors(exc, masker):
    try:
        return sibling("flattened").flattened(exc, masker.text)
    except Exception:
        return []


def describe(exc, masker):
    strip_worker_frames(exc)
    arguments = chain_arguments(exc)
    te = None
    try:
        # what traceback.format_exception builds; its stack and header serve describe_one too
        if sys.version_info >= (3, 10):
            te = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
        else:
            te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        formatted = "".join(te.format())
    except Exception as failure:
        formatted = "<traceback formatting failed: %s>\n" % type(failure).__name__
    # a syntax error the prompt itself reported: its words, printed by C on 3.8-3.12, where the
    # traceback module draws some carets otherwise
    formatted = getattr(exc, "_layertrace_printed", None) or formatted
    data = describe_one(exc, masker, set(), 0, te, arguments)
    data["formatted"] = masker.text(_cap(formatted, MAX_MESSAGE * 4))
    return data


def strip_worker_frames(exc, seen=None):
    """Remove this module's own frames from the start of every traceback in the chain."""
    if seen is None:
        seen = set()
    if exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == WORKER_FILE:
        tb = tb.tb_next
    try:
        exc.__traceback__ = tb
    except Exception:
        pass
    strip_worker_frames(exc.__cause__, seen)
    strip_worker_frames(exc.__context__, seen)
    for sub in getattr(exc, "exceptions", None) or ():
        if isinstance(sub, BaseException):
            strip_worker_frames(sub, seen)


def describe_one(exc, masker, seen, depth, te=None, arguments=None):  # noqa: PLR0917
    seen.add(id(exc))
    cls = type(exc)
    te_lines = None
    if te is not None:
        try:
            te_lines = list(te.format_exception_only())
        except Exception:
            te_lines = None
    if te_lines is None:
        try:
            te_lines = traceback.format_exception_only(cls, exc)
        except Exception:
            te_lines = ["%s: <exception str() failed>\n" % cls.__name__]
    header = "".join(te_lines)
    try:
        message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    data = {
        "type": cls.__qualname__,
        "module": cls.__module__,
        "mro": ["%s.%s" % (c.__module__, c.__qualname__) for c in cls.__mro__],
        "message": masker.text(_cap(message, MAX_MESSAGE)),
        "header": masker.text(_cap(header, MAX_MESSAGE)),
        "frames": frames_of(exc, masker, te.stack if te is not None else None, arguments),
        "suppress_context": bool(exc.__suppress_context__),
    }
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, (list, tuple)):
        data["notes"] = [masker.text(_cap(str(n), MAX_MESSAGE)) for n in notes[:20]]
    if isinstance(exc, OSError):
        data.update(os_error_fields(exc, masker))
    flat = flattened_errors(exc, masker)
    if flat:
        data["flattened"] = flat
    if depth < MAX_CHAIN:
        for attr, key in (("__cause__", "cause"), ("__context__", "context")):
            linked = getattr(exc, attr)
            if isinstance(linked, BaseException) and id(linked) not in seen:
                data[key] = describe_one(linked, masker, seen, depth + 1, None, arguments)
        subs = getattr(exc, "exceptions", None)
        if isinstance(subs, (list, tuple)) and _is_group(exc):
            data["exceptions"] = [
                describe_one(sub, masker, seen, depth + 1, None, arguments)
                for sub in subs[:15]
                if isinstance(sub, BaseException) and id(sub) not in seen
            ]
    return data


def _is_group(exc):
    import builtins

    group = getattr(builtins, "BaseExceptionGroup", None)
    return group is not None and isinstance(exc, group)


def os_error_fields(exc, masker):
    fields = {}
    number = exc.errno
    if isinstance(number, int):
        fields["errno"] = number
        names = exc_code_names(exc)
        fields["errno_name"] = names.get(number, "")
    winerror = getattr(exc, "winerror", None)
    if isinstance(winerror, int):
        fields["winerror"] = winerror
        if not fields.get("errno_name") and isinstance(number, int):
            fields["errno_name"] = errno_mod.errorcode.get(number, "")
    if exc.strerror:
        fields["strerror"] = masker.text(str(exc.strerror))
    if exc.filename is not None:
        fields["filename"] = masker.text(str(exc.filename))
    return fields


def exc_code_names(exc):
    """Which table an OSError subclass' ``errno`` belongs to: EAI_*, h_errno, SSL_ERROR_*."""
    socket = sys.modules.get("socket")
    if socket is not None and isinstance(exc, socket.gaierror):
        return {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}
    if socket is not None and isinstance(exc, socket.herror):
        return _H_ERRNO
    ssl = sys.modules.get("ssl")
    if ssl is not None and isinstance(exc, ssl.SSLError):
        return {getattr(ssl, n): n for n in dir(ssl) if n.startswith("SSL_ERROR_")}
    return errno_mod.errorcode


def frames_of(exc, masker, summaries=None, arguments=None):
    tb = exc.__traceback__
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    if summaries is None:
        try:
            summaries = traceback.extract_tb(exc.__traceback__)
        except Exception:
            summaries = []
    frames = []
    last_key = None
    count = 0
    for tb, fs in zip(entries, summaries):  # noqa: B905 - strict= is 3.10+
        key = (fs.filename, fs.lineno, fs.name)
        if key != last_key:
            last_key = key
            count = 0
        count += 1
        if count > 3:
            frames[-1]["repeated"] = count - 3
            continue
        if len(frames) >= MAX_FRAMES:
            continue
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__", "") if isinstance(frame.f_globals, dict) else ""
        origin, rel = masker.classify(fs.filename, module)
        item = {
            "filename": masker.text(fs.filename),
            "lineno": fs.lineno,
            "name": fs.name,
            "line": masker.text((fs.line or "")[:500]),
            "module": str(module),
            "qualname": getattr(frame.f_code, "co_qualname", fs.name),
            "origin": origin,
        }
        if rel:
            item["stdlib_path"] = rel
        asked = arguments.get(id(tb)) if arguments else None
        if asked:
            item["arguments"] = [[name, masker.text(shown)] for name, shown in asked]
        for attr in ("end_lineno", "colno", "end_colno"):
            value = getattr(fs, attr, None)
            if value is not None:
                item[attr] = value
        frames.append(item)
    return frames


def _cap(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + "\n[... %d more characters not shown]\n" % (len(text) - limit)


# ---------------------------------------------------------------------------------------------
# Process control (POSIX parts are guarded; Windows runs the ``once`` path)
# ---------------------------------------------------------------------------------------------


_PRCTL = []  # the libc function, looked up once: a forked child then calls it for ~0.01 ms


def prctl(option, value):
    if not IS_LINUX:
        return False
    try:
        if not _PRCTL:
            import ctypes

            _PRCTL.append(ctypes.CDLL(None, use_errno=True).prctl)
        return _PRCTL[0](option, value, 0, 0, 0) == 0
    except Exception:
        return False


def children_of_self(threads=True):
    """Direct children of this process (Linux), including orphans it adopted as subreaper.

    ``threads=False`` when this process has a single thread (the forking server): one file.
    """
    pids = set()
    if threads:
        try:
            tasks = os.listdir("/proc/self/task")
        except OSError:
            return pids
    else:
        tasks = [os.getpid()]
    for tid in tasks:
        try:
            data = read_file("/proc/self/task/%s/children" % tid, 1 << 16)
            pids.update(int(p) for p in data.split())
        except ValueError:
            pass
    return pids


def kill_descendants(keep=(), threads=True):
    """Kill and reap every child of this process except ``keep``, until none come back."""
    if not POSIX:
        return 0
    killed = 0
    for _ in range(100):
        pids = children_of_self(threads) - set(keep)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
    return killed


def kill_group(pgid):
    if not POSIX:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def classify_exit(status_kind, code, timed_out, timeout):
    """Outcome and a one-line detail for a child that ended without a result document."""
    if timed_out:
        return "timeout", "timed out after %s s" % _seconds(timeout), ""
    if status_kind == "signal":
        try:
            name = signal.Signals(code).name
        except (ValueError, AttributeError):
            name = "signal %d" % code
        hint = ""
        if name == "SIGKILL":
            hint = " (killed from outside, often the out-of-memory killer)"
        elif name == "SIGXCPU":
            hint = " (CPU time limit)"
        return "crashed", "crashed with %s%s" % (name, hint), name
    if code == 70:
        return "error", "the worker could not report the result", ""
    return (
        "crashed",
        "the process exited with status %d before the snippet finished, without raising"
        " (os._exit or a C library calling exit)" % code,
        "",
    )


def _seconds(value):
    value = float(value)
    return ("%d" % value) if value == int(value) else ("%g" % value)


def finish(workdir, request, status_kind, code, timed_out, duration, info, masker):  # noqa: PLR0917
    """Build the response for one finished child, from result.json or from how it died."""
    path = os.path.join(workdir, "result.json")
    result = None
    if not timed_out and status_kind == "exit" and code == 0:
        try:
            result = json.loads(read_file(path, 8 << 20).decode("utf-8"))
        except ValueError:
            result = None
    if result is not None:
        result["duration"] = round(duration, 6)
        return result
    classified = classify_exit(status_kind, code, timed_out, request.get("timeout", 10))
    outcome, detail, signame = classified
    result = {
        "schema": 1,
        "code": request.get("code", ""),
        "style": request.get("style", "repl"),
        "outcome": outcome,
        "duration": round(duration, 6),
        "detail": detail,
        "timeout": request.get("timeout"),
    }
    result.update(info)
    if signame:
        result["signal"] = signame
    elif not timed_out:
        result["returncode"] = code
    cap = int(request.get("max_output", 65536))
    for name in ("stdout", "stderr"):
        data = read_capped(os.path.join(workdir, name), request)
        result[name] = masker.text(data[:cap].decode("utf-8", "backslashreplace"))
        if len(data) > cap:
            result["truncated"] = True
    fault = read_capped(os.path.join(workdir, "fault"), {"max_output": 8192})
    if fault:
        lines = masker.text(fault.decode("utf-8", "backslashreplace")).splitlines(True)
        where = "".join(line for line in lines if WORKER_NAME not in line and line.strip())
        result["stderr"] = (result.get("stderr") or "") + where
    return result


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def run_here(request, workdir, info, masker):
    """Run one request in this process and write result.json; never returns normally."""
    started = time.monotonic()
    _bind()
    snippet = Snippet(request, workdir, info, masker)
    try:
        snippet.isolate()
        outcome, exc, detail = snippet.run()
        result = snippet.report(outcome, exc, detail, started)
        if IS_LINUX:
            kill_descendants()
        data = json.dumps(result, ensure_ascii=True).encode("ascii")
        write_new(os.path.join(workdir, "result.json"), data)
        if _SOURCES is not None:
            note_sources(workdir)
        code = 0
    except BaseException:
        code = 70
    os._exit(code)


_WARM_TRIED = set()
# Source files whose lines the forking server keeps in linecache for its children (the files
# their tracebacks showed), and how much of them: a child reading socket.py again for every
# traceback costs it ~40 pages written. None outside the forking server.
_SOURCES = None
_SOURCES_MAX_FILES = 32
_SOURCES_MAX_BYTES = 1 << 20


def note_sources(workdir):
    """In a child: name the source files its report read that the worker does not keep yet."""
    new = [
        name
        for name, entry in list(linecache.cache.items())
        if name not in _SOURCES and len(entry) == 4 and entry[1] is not None
    ]
    if new:
        try:
            write_new(os.path.join(workdir, "sources"), "\n".join(new).encode("utf-8", "replace"))
        except OSError:
            pass


def keep_sources(data):
    """In the worker: keep the lines of the files a child named (bounded; the child wrote the
    list after the snippet ran, so only real, small, regular .py files are read)."""
    import stat

    added = False
    total = sum(_SOURCES.values())
    for name in data.decode("utf-8", "replace").split("\n")[:_SOURCES_MAX_FILES]:
        if len(_SOURCES) >= _SOURCES_MAX_FILES or name in _SOURCES:
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
        _SOURCES[name] = info.st_size
        total += info.st_size
        added = True
    if added:
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()


def plan(request):
    """In the forking server, before forking: split a REPL snippet into its statements (the
    child would parse it again) and warm the modules it and its setup code import."""
    trees = []
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
    warm(trees)


def write_new(path, data):
    """Write a file that only this process creates. No temporary name and rename: the worker
    reads it only after this process exited with status 0, that is after the write finished.
    Never through whatever the snippet may have left at that name (a symbolic link...)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def warm(trees):
    """Import, into the warm worker, the stdlib modules these syntax trees name (once)."""
    wanted = []
    for tree in trees:
        for node in _walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in _WARM_SAFE and name not in _WARM_TRIED:
                    _WARM_TRIED.add(name)
                    if name not in sys.modules and not (_HIDDEN and name in _HIDDEN[0].modules):
                        wanted.append(name)
    if not wanted:
        return
    if _HIDDEN:
        _HIDDEN.pop().unhide()
    _track_imports(True)
    for name in wanted:
        try:
            __import__(name)
        except BaseException:
            pass
    hide_in_worker()
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()  # keep the new objects out of every child's collections


def warm_formatting(masker):
    """Run the traceback formatting path once in the worker, so no child pays for its first
    use, through a frame of socket.py: its lines stay in linecache for every child (a network
    snippet's traceback nearly always shows them). No connection: an unknown address family."""
    try:
        import socket

        socket.socket(-12345)
    except Exception as exc:
        try:
            describe(exc, masker)
        except Exception:
            pass


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


class Server:
    """The warm forking worker: many snippets at once, each in its own fresh child."""

    def __init__(self, parallel):
        self.parallel = max(1, parallel)
        if POSIX and os.getuid() != 0:
            _USER_TASKS[0] = user_tasks()  # once, before forking: children inherit it
        self.info = interpreter_info()
        self.masker = PathMasker()
        self.running = {}
        self.queue = []
        self.outbox = bytearray()
        self.inbuf = b""
        self.eof = False
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else _temp_dir()
        while True:  # what tempfile.mkdtemp does: a fresh name, created atomically, 0o700
            path = os.path.join(base, "layertrace-" + os.urandom(6).hex())
            try:
                os.mkdir(path, 0o700)
                break
            except FileExistsError:
                continue
        self.base = path

    def preload(self):
        _bind()
        for name in PRELOAD:
            try:
                __import__(name)
            except BaseException:
                pass
        warm_formatting(self.masker)
        global _SOURCES
        _SOURCES = {name: entry[0] for name, entry in linecache.cache.items() if len(entry) == 4}
        warm_resolver()
        for name in ("arguments", "flattened"):
            try:
                sibling(name)  # loaded once here, not compiled again in every child
            except Exception:
                pass
        _STDIN.append(open(os.devnull))  # noqa: SIM115 - every child's sys.stdin
        _KEEP.extend([sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__])
        for name in ("RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_AS", "RLIMIT_NPROC"):
            which = getattr(resource, name, None)
            if which is not None:
                try:
                    _HARD_LIMITS[which] = resource.getrlimit(which)[1]
                except (ValueError, OSError):
                    pass
        hide_in_worker()
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()

    def serve(self):
        import select

        prctl(_PR_SET_CHILD_SUBREAPER, 1)
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        self.preload()
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        os.set_blocking(0, False)
        self.send({"ready": True, "info": self.info, "pid": os.getpid()})
        try:
            while not (self.eof and not self.running and not self.queue):
                self.start_queued()
                timeout = self.next_deadline()
                readers = [wake_r] + ([] if self.eof else [0])
                writers = [1] if self.outbox else []
                try:
                    ready_r, ready_w, _ = select.select(readers, writers, [], timeout)
                except InterruptedError:
                    ready_r, ready_w = [], []
                if wake_r in ready_r:
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except OSError:
                        pass
                if 0 in ready_r:
                    self.read_requests()
                self.reap()
                self.expire()
                if 1 in ready_w:
                    self.flush()
            while self.outbox:
                select.select([], [1], [], 5)
                self.flush()
        finally:
            for pid in list(self.running):
                kill_group(pid)
            kill_descendants()
            remove_tree(self.base)

    def read_requests(self):
        try:
            data = os.read(0, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return
        self.inbuf += data
        while b"\n" in self.inbuf:
            line, self.inbuf = self.inbuf.split(b"\n", 1)
            if line.strip():
                try:
                    self.queue.append(json.loads(line.decode("utf-8")))
                except ValueError:
                    pass

    def start_queued(self):
        while self.queue and len(self.running) < self.parallel:
            request = self.queue.pop(0)
            self.start(request)

    def start(self, request):
        plan(request)
        if _HIDDEN and len(sys.modules) != _HIDDEN[0].visible:
            hide_in_worker()  # something the worker ran imported a hidden module: hide it again
        workdir = os.path.join(self.base, str(request.get("id", "x")))
        os.mkdir(workdir, 0o700)
        started = time.monotonic()
        timeout = float(request.get("timeout", 10))
        dump_on = getattr(signal, "SIGUSR2", None) if timeout > 0.5 else None
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                signal.set_wakeup_fd(-1)
                _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
                prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
                prctl(_PR_SET_CHILD_SUBREAPER, 1)
                if dump_on is not None:
                    request["dump_on"] = dump_on
                run_here(request, workdir, self.info, self.masker)
            finally:
                os._exit(71)
        deadline = started + timeout
        dump_at = deadline - 0.25 if dump_on is not None else None
        # request, workdir, started, deadline, timed out, when to ask for a traceback dump
        self.running[pid] = [request, workdir, started, deadline, False, dump_at]

    def next_deadline(self):
        if not self.running:
            return None
        soonest = min(
            item[5] if isinstance(item[5], float) else item[3] for item in self.running.values()
        )
        return max(0.0, soonest - time.monotonic())

    def expire(self):
        now = time.monotonic()
        for pid, item in self.running.items():
            if isinstance(item[5], float) and now >= item[5]:
                item[5] = False  # sent
                try:
                    os.kill(pid, signal.SIGUSR2)  # faulthandler in the child dumps the stack
                except OSError:
                    pass
            if not item[4] and now >= item[3]:
                item[4] = True
                kill_group(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            item = self.running.pop(pid, None)
            if item is None:
                continue  # an adopted orphan, already dead
            request, workdir, started, _deadline, timed_out, dump_at = item
            duration = time.monotonic() - started
            kill_group(pid)
            kill_descendants(keep=self.running.keys(), threads=False)
            if os.WIFSIGNALED(status):
                kind, code = "signal", os.WTERMSIG(status)
                if dump_at is False and code == getattr(signal, "SIGUSR2", None):
                    timed_out = True  # the snippet undid faulthandler's handler; it was hanging
            else:
                kind, code = "exit", os.WEXITSTATUS(status)
            raw = None
            if not timed_out and kind == "exit" and code == 0:
                raw = read_file(os.path.join(workdir, "result.json"), 8 << 20)
                if raw[:1] != b"{" or raw[-1:] != b"}" or b"\n" in raw:
                    raw = None  # not what the child writes: let finish() say what happened
            if raw is None:
                try:
                    result = finish(
                        workdir, request, kind, code, timed_out, duration, self.info, self.masker
                    )
                except Exception as exc:  # a bug here must not take the whole worker down
                    result = {"schema": 1, "outcome": "error", "detail": "worker: %r" % (exc,)}
            try:
                names = os.listdir(workdir)
            except OSError:
                names = []
            if "sources" in names and _SOURCES is not None:
                keep_sources(read_file(os.path.join(workdir, "sources"), 1 << 16))
            remove_tree(workdir, names)
            if raw is None:
                self.send({"id": request.get("id"), "result": result})
            else:
                # The child's JSON goes out as it is (no decoding and encoding it again here);
                # the parent sets the result's duration from the envelope's. The envelope's own
                # keys come last: JSON keeps the last of duplicate keys, so bytes a snippet forged
                # into its result can never claim another snippet's id.
                self.outbox += b'{"result": %s, "id": %s, "duration": %s}\n' % (
                    raw,
                    json.dumps(request.get("id")).encode("ascii"),
                    repr(round(duration, 6)).encode("ascii"),
                )
                self.flush()

    def send(self, message):
        self.outbox += json.dumps(message, ensure_ascii=True).encode("ascii") + b"\n"
        self.flush()

    def flush(self):
        if not self.outbox:
            return
        try:
            written = os.write(1, self.outbox)
        except BlockingIOError:
            return
        except OSError:
            self.outbox = bytearray()
            return
        del self.outbox[:written]


def supervise_once(request, workdir, info, masker):
    """``once`` on Linux: run the snippet in a forked child and stay behind as its subreaper.

    If the snippet is killed (timeout, crash), whatever it started with ``setsid`` is
    reparented to this process, not to init, and dies here; ``status.json`` tells the parent
    how the child ended.
    """
    timeout = float(request.get("timeout", 10))
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except Exception:
        pass
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            run_here(request, workdir, info, masker)
        finally:
            os._exit(71)
    timed_out = []

    def expire(signum, frame):
        timed_out.append(True)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, timeout - (time.monotonic() - started)))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            status = 0
            break
    signal.setitimer(signal.ITIMER_REAL, 0)
    kill_descendants()
    if os.WIFSIGNALED(status):
        kind, code = "signal", os.WTERMSIG(status)
    else:
        kind, code = "exit", os.WEXITSTATUS(status)
    record = {"kind": kind, "code": code, "timed_out": bool(timed_out)}
    with open(os.path.join(workdir, "status.json"), "w") as handle:
        json.dump(record, handle)
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "serve":
        parallel = int(argv[2]) if len(argv) > 2 else 2
        os.set_blocking(1, False)
        Server(parallel).serve()
        return 0
    if len(argv) >= 3 and argv[1] == "once":
        workdir = argv[2]
        with open(os.path.join(workdir, "request.json")) as handle:
            request = json.load(handle)
        if POSIX:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            prctl(_PR_SET_CHILD_SUBREAPER, 1)
        info, masker = interpreter_info(), PathMasker()
        if IS_LINUX and hasattr(os, "fork"):
            return supervise_once(request, workdir, info, masker)
        run_here(request, workdir, info, masker)
    if len(argv) >= 2 and argv[1] == "info":
        sys.stdout.write(json.dumps(interpreter_info()) + "\n")
        return 0
    sys.stderr.write("usage: _worker.py serve [PARALLEL] | once WORKDIR | info\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
