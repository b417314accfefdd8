"""The walls around one snippet: its own directory, capped streams, limits and a watchdog.

The snippet's own output never reaches the worker's stdout: file descriptors 1 and 2 of the
snippet point at files in its private working directory, and ``sys.stdout``/``sys.stderr`` are
capped writers, so a 300 MB print costs the parent nothing.
"""

import _signal
import faulthandler
import os
import sys

try:
    import resource
except ImportError:  # Windows runs without rlimits
    resource = None  # type: ignore[assignment]

IS_LINUX = sys.platform.startswith("linux")
POSIX = os.name == "posix"
_LIMIT_NAMES = ("RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_AS", "RLIMIT_NPROC")


class Prepared:
    """What this process worked out once: in the forking server, for all its children, who
    inherit it by fork; a ``once`` process leaves most of it empty and does each thing itself
    when it needs it."""

    def __init__(self, info, masker):
        self.info = info  # protocol.interpreter_info() of this process
        self.masker = masker  # the PathMasker of this machine
        self.stash = None  # the ModuleStash holding the preloaded modules, hidden
        self.stdin = None  # every child's sys.stdin, reading /dev/null
        # The server's own sys.stdin/stdout/stderr: a child replaces them, and the last
        # reference going away would tear each one down in every child (pages written).
        self.keep = []
        self.hard_limits = {}  # resource -> hard limit, so no child calls getrlimit
        self.user_tasks = None  # tasks (threads) of this user when the worker started
        # Source files whose lines the server keeps in linecache for its children (name ->
        # size): a child reading socket.py again for every traceback costs it ~40 pages.
        self.sources = None
        self.distributions = None  # a Distributions index, built once before forking
        self.carets = None  # a carets.Carets the server fills for its children

    def read_hard_limits(self):
        for name in _LIMIT_NAMES:
            which = getattr(resource, name, None)
            if which is not None:
                try:
                    self.hard_limits[which] = resource.getrlimit(which)[1]
                except (ValueError, OSError):
                    pass


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


class Walls:
    """The snippet's streams, once ``isolate`` set them up."""

    def __init__(self, out, err, term):
        self.out = out
        self.err = err
        self.term = term  # the descriptor of the shared terminal file


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_APPEND", 0)


def isolate(request, workdir, prepared):
    """Move this process into ``workdir``: its cwd, home and temp dir, its streams, limits."""
    # The snippet works one level down, so files it writes (even one named result.json)
    # never meet the ones this process reports through.
    home = os.path.join(workdir, "cwd")
    os.mkdir(home, 0o700)
    os.chdir(home)
    for name in ("HOME", "TMPDIR", "TEMP", "TMP"):
        os.environ[name] = home
    cached = sys.modules.get("tempfile")
    if cached is None and prepared.stash is not None:
        cached = prepared.stash.modules.get("tempfile")
    if cached is not None:
        setattr(cached, "tempdir", None)  # noqa: B010 - a snippet's tempfile.gettempdir() is its own directory
    walls = redirect_streams(request, workdir, prepared)
    arm_watchdog(request, workdir)
    limit_resources(request, prepared)
    return walls


def redirect_streams(request, workdir, prepared):
    stdin = prepared.stdin or open(os.devnull)  # noqa: SIM115 - lives with the child
    os.dup2(stdin.fileno(), 0)
    out = os.open(os.path.join(workdir, "stdout"), _FLAGS, 0o600)
    err = os.open(os.path.join(workdir, "stderr"), _FLAGS, 0o600)
    term = os.open(os.path.join(workdir, "terminal"), _FLAGS, 0o600)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    budget = [int(request.get("max_output", 65536))]
    walls = Walls(
        CappedStream(1, term, budget, "<stdout>"),
        CappedStream(2, term, [budget[0]], "<stderr>"),
        term,
    )
    # the snippet sees its own streams even through sys.__stdout__ (typeshed calls them final)
    sys.stdout = sys.__stdout__ = walls.out  # type: ignore[misc]
    sys.stderr = sys.__stderr__ = walls.err  # type: ignore[misc]
    sys.stdin = sys.__stdin__ = stdin  # type: ignore[misc]
    return walls


def arm_watchdog(request, workdir):
    """faulthandler writes where a crashing or hanging snippet was to the ``fault`` file."""
    try:
        # a file descriptor, not a file object: faulthandler only writes to the descriptor
        fault = os.open(os.path.join(workdir, "fault"), _FLAGS, 0o600)
        faulthandler.enable(file=fault)
        timeout = float(request.get("timeout", 10))
        if request.get("dump_on") and hasattr(faulthandler, "register"):
            # the forking server sends this signal shortly before the deadline: the same
            # "where did it hang" as a watchdog thread, without a thread per child (a
            # thread made every child's exit ~2.5 ms slower)
            faulthandler.register(request["dump_on"], file=fault, all_threads=True)
        elif timeout > 0.5:
            faulthandler.dump_traceback_later(timeout - 0.25, exit=False, file=fault)
    except Exception:
        pass


def limit_resources(request, prepared):
    if not POSIX or resource is None:
        return
    timeout = float(request.get("timeout", 10))
    limits = [
        ("RLIMIT_CORE", 0),
        ("RLIMIT_CPU", int(timeout) + 5),
        ("RLIMIT_FSIZE", int(request.get("max_file", 256 << 20))),
    ]
    memory = request.get("memory")
    if memory and IS_LINUX:
        limits.append(("RLIMIT_AS", int(memory)))
    margin = request.get("nproc")
    if margin and os.getuid() != 0:
        # RLIMIT_NPROC counts every task of the user on the machine, so the limit is what
        # the user already runs plus the margin, never an absolute number.
        if prepared.user_tasks is None:
            prepared.user_tasks = user_tasks()
        if prepared.user_tasks is not None:
            limits.append(("RLIMIT_NPROC", prepared.user_tasks + int(margin)))
    for name, value in limits:
        which = getattr(resource, name, None)
        if which is not None:
            _set_limit(which, value, prepared.hard_limits.get(which))
    if hasattr(_signal, "SIGXFSZ"):
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)


def _set_limit(which, value, hard):
    try:
        if hard is None:
            hard = resource.getrlimit(which)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


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
