"""The warm process that forks the snippets' children and does next to nothing else.

A fork makes every page of the forking process copy-on-write again, so each page it writes
afterwards costs a page fault (about 4 µs on the VMs these docs are built on). When the server
forked the children itself, its own loop (decoding and planning requests, deadlines, reading
results, removing directories) wrote some 260 pages after every fork. The server now forks this
process once, warm, and keeps the loop; this process reads planned requests from a pipe, forks,
and says which pid runs which request and how each ended: about 60 pages per snippet.

Lines from the server (``send``)::

    R <token> <size>, then <size> bytes of marshal     fork a child for this request
    W <JSON [module, ...]>                             import these first (``Warmer.warm``)
    S <JSON "name\\nname...">                          keep these source files' lines
    C <JSON [segment, ...]>                            keep these caret anchors

The request goes as ``marshal`` (the same interpreter writes and reads it): a forked child
decodes it in 0.15 ms and 28 page faults, where ``json.loads`` took 0.31 ms and 59.

Lines back: ``P <token> <pid>`` once forked (``F <token> <errno>`` when it could not fork) and
``X <pid> <status>`` once a child was reaped. A child never holds either pipe: a snippet cannot
forge an ending for another snippet.
"""

import _signal
import json
import marshal
import os
import select
import signal
import sys

from .procctl import PR_SET_PDEATHSIG, die_with_parent, prctl, reaped, write_all
from .snippet import run_here


class Forker:
    """The forking process's side: fork on request, reap, report."""

    def __init__(self, prepared, warmer):
        self.prepared = prepared
        self.warmer = warmer
        self.requests = self.replies = -1
        self.wake = ()  # type: tuple[int, ...]
        self.inbuf = b""

    def start(self, close=()):
        """Fork the forking process (from the warm server); returns ``(pid, to_it, from_it)``."""
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid:
            os.close(to_r)
            os.close(from_w)
            return pid, to_w, from_r
        code = 70
        try:
            signal.set_wakeup_fd(-1)
            for fd in tuple(close) + (to_w, from_r):
                _close(fd)
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # no subreaper: orphans go to the server
            if os.getppid() != parent:
                os._exit(0)
            self.requests, self.replies = to_r, from_w
            self.serve()
            code = 0
        finally:
            os._exit(code)

    def serve(self):
        # the server's SIGTERM handler cleans up the server; SIGINT stays Python's own, as a
        # snippet's interpreter has it
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):  # never the server's request and response pipes
            os.dup2(null, fd)
        os.close(null)
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        self.wake = (wake_r, wake_w)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        while True:
            try:
                ready = select.select([self.requests, wake_r], [], [])[0]
            except InterruptedError:
                ready = [wake_r]
            if wake_r in ready:
                _drain(wake_r)
                self.reap()
            if self.requests in ready:
                data = os.read(self.requests, 1 << 20)
                if not data:
                    return  # the server went
                self.inbuf += data
                self.take()

    def take(self):
        """Act on every whole message in the buffer."""
        while True:
            end = self.inbuf.find(b"\n")
            if end < 0:
                return
            kind, _, rest = self.inbuf[:end].partition(b" ")
            if kind == b"R":
                token, _, size = rest.partition(b" ")
                stop = end + 1 + int(size)
                if len(self.inbuf) < stop:
                    return
                payload = self.inbuf[end + 1 : stop]
                self.inbuf = self.inbuf[stop:]
                self.fork(token, payload)
            else:
                self.inbuf = self.inbuf[end + 1 :]
                self.act(kind, rest)

    def act(self, kind, rest):
        if kind == b"W":
            self.warmer.warm(json.loads(rest))
        elif kind == b"S" and self.prepared.sources is not None:
            self.warmer.keep_sources(json.loads(rest).encode("utf-8", "surrogatepass"))
        elif kind == b"C" and self.prepared.carets is not None:
            self.prepared.carets.keep(json.loads(rest))

    def fork(self, token, payload):
        stash = self.prepared.stash
        if stash is not None and len(sys.modules) != stash.visible:
            self.warmer.hide()  # something this process ran imported a hidden module
        try:
            pid = os.fork()
        except OSError as exc:
            self.reply(b"F %s %d\n" % (token, exc.errno or 0))
            return
        if pid == 0:
            try:
                signal.set_wakeup_fd(-1)  # first: a signal must never write to a reused number
                for fd in (self.requests, self.replies) + self.wake:
                    _close(fd)
                os.setsid()
                _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
                die_with_parent()
                request, workdir = marshal.loads(payload)
                run_here(request, workdir, self.prepared)
            finally:
                os._exit(71)
        self.reply(b"P %s %d\n" % (token, pid))

    def reap(self):
        for pid, status in reaped():
            self.reply(b"X %d %d\n" % (pid, status))

    def reply(self, data):
        write_all(self.replies, data)


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except OSError:
        pass
