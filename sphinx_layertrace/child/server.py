"""The warm forking worker (``serve``): many snippets at once, each in its own fresh child.

It reads one JSON request per line on stdin, has a fresh child forked per snippet (so every
snippet starts from the same clean, already-imported state), enforces the timeout, kills
whatever the snippet left behind and writes one JSON response per line to stdout. On Linux it
is a child subreaper, so processes that escape with ``setsid`` come back to it.

The forking itself happens in a second warm process (``forker.Forker``), forked from this one
once: this loop then writes its pages without a copy-on-write fault after every fork.
"""

import json
import linecache
import marshal
import os
import select
import signal
import sys
import time

from .carets import Carets
from .distributions import Distributions
from .forker import Forker
from .isolation import POSIX, Prepared, user_tasks
from .paths import PathMasker, make_private_dir, remove_tree, temp_dir
from .procctl import die_with_parent, ending_of, kill_descendants, kill_group, reaped, write_all
from .protocol import Ending, finish, interpreter_info, read_file
from .warmup import PRELOAD, Warmer, freeze, read_notes, warm_formatting, warm_resolver

_DUMP_SIGNAL = getattr(signal, "SIGUSR2", 0)  # 0: no dump signal (Windows)


class _Running:
    """A child at work: its request, directory, clock, and the watchdog's state."""

    def __init__(self, request, workdir, started, timeout):
        self.request = request
        self.workdir = workdir
        self.started = started
        self.deadline = started + timeout
        self.timed_out = False
        # when to ask for a traceback dump; False once asked, None when never
        self.dump_at = self.deadline - 0.25 if timeout > 0.5 and _DUMP_SIGNAL else None

    def wake_at(self):
        return self.dump_at if isinstance(self.dump_at, float) else self.deadline


class Server:
    """The warm forking worker: many snippets at once, each in its own fresh child."""

    def __init__(self, parallel):
        self.parallel = max(1, parallel)
        self.prepared = Prepared(interpreter_info(), PathMasker())
        if POSIX and os.getuid() != 0:
            self.prepared.user_tasks = user_tasks()  # once, before forking: children inherit it
        self.warmer = Warmer(self.prepared)
        self.running = {}  # pid -> _Running
        self.starting = {}  # token -> _Running, sent to the forker, no pid yet
        self.forker = (0, -1, -1)  # its pid, the pipe to it, the pipe from it (serve starts it)
        self.fromforker = b""
        self.warming = set()  # module names the forker was told to import
        self.kept = set()  # source files the forker was told to keep
        self.queue = []
        self.outbox = bytearray()
        self.inbuf = b""
        self.eof = False
        self.pid = os.getpid()
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else temp_dir()
        # the pid in the name: a later build sweeps the directory of a worker that was killed
        # before it could remove it (capture/procs.py, sweep_stale)
        self.base = make_private_dir(base, "layertrace-%d-" % os.getpid())

    def preload(self):
        prepared = self.prepared
        for name in PRELOAD:
            try:
                __import__(name)
            except BaseException:
                pass
        prepared.carets = Carets()
        warm_formatting(prepared.masker, prepared.carets)
        prepared.sources = {
            name: entry[0] for name, entry in linecache.cache.items() if len(entry) == 4
        }
        warm_resolver()
        prepared.distributions = Distributions(prepared.masker)
        prepared.stdin = open(os.devnull)  # noqa: SIM115 - every child's sys.stdin
        prepared.keep.extend([sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__])
        prepared.read_hard_limits()
        self.warmer.hide()
        freeze()

    def serve(self, parent=0):
        signal.signal(signal.SIGTERM, self.terminate)
        die_with_parent(signal.SIGTERM)
        if parent and os.getppid() != parent:  # it died before the line above: no signal comes
            self.terminate(signal.SIGTERM, None)
        self.preload()
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        os.set_blocking(0, False)
        self.forker = Forker(self.prepared, self.warmer).start(close=(wake_r, wake_w))
        self.send({"ready": True, "info": self.prepared.info, "pid": os.getpid()})
        try:
            while not (self.eof and not self.running and not self.starting and not self.queue):
                self.step(wake_r)
            while self.outbox:
                select.select([], [1], [], 5)
                self.flush()
        finally:
            self.clean_up()

    def clean_up(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        for pid in list(self.running):
            kill_group(pid)
        if self.forker[0]:  # its children die with it (their parent-death signal)
            try:
                os.kill(self.forker[0], signal.SIGKILL)
            except OSError:
                pass
        kill_descendants()
        remove_tree(self.base)

    def terminate(self, signum, frame):
        """SIGTERM (the parent went, or asked): kill the children, remove the directory, go."""
        if os.getpid() != self.pid:  # a child just forked, before it restored SIG_DFL
            os._exit(128 + signum)
        self.clean_up()
        os._exit(0)

    def step(self, wake_r):
        """Start what may start, wait for input, a child's end or a deadline, and act on it."""
        self.start_queued()
        timeout = self.next_deadline()
        readers = [wake_r, self.forker[2]] + ([] if self.eof else [0])
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
        if self.forker[2] in ready_r:
            self.read_forker()
        self.reap()
        self.expire()
        if 1 in ready_w:
            self.flush()

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
        while self.queue and len(self.running) + len(self.starting) < self.parallel:
            self.start(self.queue.pop(0))

    def start(self, request):
        """Plan the request here, then have the forker fork its child (``forker.py``)."""
        names = [name for name in self.warmer.plan(request) if name not in self.warming]
        if names:
            self.warming.update(names)
            self.tell(b"W", names)
        workdir = os.path.join(self.base, str(request.get("id", "x")))
        os.mkdir(workdir, 0o700)
        item = _Running(request, workdir, time.monotonic(), float(request.get("timeout", 10)))
        if item.dump_at is not None:
            request["dump_on"] = int(_DUMP_SIGNAL)
        token = b"%d" % id(item)
        self.starting[token] = item
        payload = marshal.dumps((request, workdir))
        self.to_forker(b"R %s %d\n%s" % (token, len(payload), payload))

    def tell(self, kind, value):
        self.to_forker(kind + b" " + json.dumps(value, ensure_ascii=True).encode("ascii") + b"\n")

    def to_forker(self, data):
        try:
            write_all(self.forker[1], data)
        except OSError:  # the forker is gone: reap() sees it and the worker ends
            pass

    def read_forker(self):
        try:
            data = os.read(self.forker[2], 1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            raise SystemExit(70)  # the forker died: nothing can run any more
        self.fromforker += data
        while b"\n" in self.fromforker:
            line, self.fromforker = self.fromforker.split(b"\n", 1)
            kind, first, second = (line.split(b" ") + [b"", b""])[:3]
            if kind == b"P":
                item = self.starting.pop(first, None)
                if item is not None:
                    self.running[int(second)] = item
            elif kind == b"X":
                item = self.running.pop(int(first), None)
                if item is not None:
                    self.finished(int(first), item, int(second))
            elif kind == b"F":
                item = self.starting.pop(first, None)
                if item is not None:
                    remove_tree(item.workdir)
                    detail = "worker: could not fork: %s" % os.strerror(int(second))
                    result = {"schema": 1, "outcome": "error", "detail": detail}
                    self.send({"id": item.request.get("id"), "result": result})

    def next_deadline(self):
        if not self.running:
            return None
        soonest = min(item.wake_at() for item in self.running.values())
        return max(0.0, soonest - time.monotonic())

    def expire(self):
        now = time.monotonic()
        for pid, item in self.running.items():
            if isinstance(item.dump_at, float) and now >= item.dump_at:
                item.dump_at = False  # sent
                try:
                    os.kill(pid, _DUMP_SIGNAL)  # faulthandler in the child dumps the stack
                except OSError:
                    pass
            if not item.timed_out and now >= item.deadline:
                item.timed_out = True
                kill_group(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def reap(self):
        """Reap orphans adopted as subreaper (already dead); the forker's end ends the worker."""
        for pid, _ in reaped():
            if pid == self.forker[0]:
                raise SystemExit(70)

    def finished(self, pid, item, status):
        duration = time.monotonic() - item.started
        kill_group(pid)
        kill_descendants(keep=(self.forker[0],), threads=False)
        kind, code = ending_of(status)
        if kind == "signal" and item.dump_at is False and code == _DUMP_SIGNAL:
            item.timed_out = True  # the snippet undid faulthandler's handler; it was hanging
        raw = None
        if not item.timed_out and kind == "exit" and code == 0:
            raw = read_file(os.path.join(item.workdir, "result.json"), 8 << 20)
            if raw[:1] != b"{" or raw[-1:] != b"}" or b"\n" in raw:
                raw = None  # not what the child writes: let finish() say what happened
        if raw is None:
            result = self.described(item, Ending(kind, code, item.timed_out, duration))
        try:
            names = os.listdir(item.workdir)
        except OSError:
            names = []
        self.pass_on(read_notes(item.workdir, names))
        remove_tree(item.workdir, names)
        if raw is None:
            self.send({"id": item.request.get("id"), "result": result})
            return
        # The child's JSON goes out as it is (no decoding and encoding it again here); the
        # parent sets the result's duration from the envelope's. The envelope's own keys come
        # last: JSON keeps the last of duplicate keys, so bytes a snippet forged into its
        # result can never claim another snippet's id.
        self.outbox += b'{"result": %s, "id": %s, "duration": %s}\n' % (
            raw,
            json.dumps(item.request.get("id")).encode("ascii"),
            repr(round(duration, 6)).encode("ascii"),
        )
        self.flush()

    def pass_on(self, notes):
        """Tell the forker what a child noted that its next children could use: source files
        not named before, caret segments named for the second time (``carets.recurring``)."""
        prepared = self.prepared
        if notes.get("sources") and prepared.sources is not None:
            text = notes["sources"].decode("utf-8", "replace")
            names = [name for name in text.split("\n") if name and name not in self.kept]
            if names and len(self.kept) < 256:
                self.kept.update(names)
                self.tell(b"S", "\n".join(names))
        if notes.get("carets") and prepared.carets is not None:
            segments = prepared.carets.recurring(notes["carets"])
            if segments:
                self.tell(b"C", segments)

    def described(self, item, ending):
        """The response of a child that left no usable result document."""
        prepared = self.prepared
        try:
            return finish(item.workdir, item.request, ending, prepared.info, prepared.masker)
        except Exception as exc:  # a bug here must not take the whole worker down
            return {"schema": 1, "outcome": "error", "detail": "worker: %r" % (exc,)}

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
