"""The parent side of a run: submit many snippets early, collect each result late.

Two engines behind one interface. ``fork`` keeps one warm worker per interpreter that forks a
fresh child per snippet (about a millisecond each); ``spawn`` starts a fresh interpreter per
snippet (about 45 ms), for platforms where forking is unavailable or unsafe. Both give the
same :class:`~sphinx_layertrace.model.Capture`.

No threads: the runner is driven by whoever asks for a result, so Sphinx can fork its own
parallel readers and writers safely.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import selectors
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sphinx_layertrace.capture import procs
from sphinx_layertrace.capture.hygiene import Hygiene
from sphinx_layertrace.capture.interpreters import WORKER, Interpreter, current
from sphinx_layertrace.child import protocol
from sphinx_layertrace.model import Capture, SchemaError

Mode = Literal["auto", "fork", "spawn"]
#: Variables a child may see from the build's environment; everything else is withheld.
ENV_ALLOW = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "SYSTEMROOT", "COMSPEC", "PATHEXT")
#: Set for every child so output is deterministic UTF-8. ``PYTHON_COLORS=1`` lets CPython 3.13+
#: colour the traceback it formats (the child keeps both texts; the parent's hygiene strips
#: escapes from everything else); ``NO_COLOR`` keeps every other tool plain.
ENV_FIXED = {
    "PYTHONHASHSEED": "0",
    "PYTHONIOENCODING": "utf-8:backslashreplace",
    "PYTHONUTF8": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHON_COLORS": "1",
    "NO_COLOR": "1",
    "TERM": "dumb",
}
WORKER_SILENCE = 60.0  # seconds past every deadline before a worker is declared hung
# Where a line names its snippet: the worker's own messages start with the id, a child's result
# passed through as it is comes first and the id after it, at the end of the line.
_DAMAGED = (re.compile(rb'^\{"id": (\d+), '), re.compile(rb', "id": (\d+), "duration": [^,]*\}$'))


@dataclass(frozen=True)
class Request:
    """One snippet to run; everything that changes its result is in here."""

    code: str
    style: str = "repl"
    setup: tuple[str, ...] = ()
    timeout: float = 10.0
    max_output: int = 64 * 1024
    filename: str = ""
    memory: int | None = 2 << 30

    def to_wire(self, ident: int) -> dict:
        return {
            "id": ident,
            "code": self.code,
            "style": self.style,
            "setup": list(self.setup),
            "timeout": self.timeout,
            "max_output": self.max_output,
            "filename": self.filename,
            "memory": self.memory,
            "nproc": 512,
        }


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The minimal environment of every child: an allow-list, fixed settings, then the author's."""
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOW or k.startswith("LC_")}
    env.update(ENV_FIXED)
    env["HOME"] = tempfile.gettempdir()
    env.update(extra or {})
    return env


@dataclass
class _Job:
    ident: int
    request: Request
    interpreter: Interpreter
    result: dict | None = None
    started: float = field(default_factory=time.monotonic)
    plain: bool = False  # the result's JSON text showed nothing for Hygiene to clean


def take_line(line: bytes, pending: dict[int, _Job], hygiene: Hygiene) -> None:
    """Give one line of a worker's output to the job it names (removed from ``pending``).

    The worker passes a child's result through without decoding it, so the line may be
    anything a snippet managed to leave: a line that does not parse still fails its own job
    at once (not the whole worker, a minute later) when it names one.
    """
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        message = None
    if not isinstance(message, dict) or type(message.get("id")) is not int:
        named = (pattern.search(line) for pattern in _DAMAGED)
        damaged = next((found for found in named if found), None)
        job = pending.pop(int(damaged.group(1)), None) if damaged else None
        if job is not None:
            job.result = _error_result(job, "the snippet's result came back damaged")
        return
    job = pending.pop(message["id"], None)
    if job is None:
        return
    result = message.get("result")
    if not isinstance(result, dict):
        job.result = _error_result(job, "the snippet's result came back damaged")
        return
    if isinstance(message.get("duration"), int | float):
        result["duration"] = message["duration"]
    job.plain = not hygiene.needed(line)
    job.result = result


class _ForkWorker:
    """A ``child/worker.py serve`` process for one interpreter."""

    def __init__(
        self, interpreter: Interpreter, env: dict[str, str], parallel: int, hygiene: Hygiene
    ) -> None:
        self.interpreter = interpreter
        self.hygiene = hygiene
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        try:
            self.proc = procs.popen_isolated(
                [interpreter.executable, WORKER, "serve", str(parallel), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
                env=env,
                cwd=tempfile.gettempdir(),
            )
        except OSError:
            self.log.close()
            raise
        assert self.proc.stdout is not None
        assert self.proc.stdin is not None
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = b""
        self.pending: dict[int, _Job] = {}
        self.dead = False
        self.last_heard = time.monotonic()
        self.poller: selectors.BaseSelector | None = None

    def send(self, job: _Job) -> None:
        self.pending[job.ident] = job
        line = json.dumps(job.request.to_wire(job.ident)).encode("ascii") + b"\n"
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except OSError:
            self.fail("the worker process is gone")

    def wait_readable(self, timeout: float) -> None:
        if self.poller is None:
            self.poller = selectors.DefaultSelector()  # made and registered once
            self.poller.register(self.fd, selectors.EVENT_READ)
        self.poller.select(timeout=timeout)

    def read(self) -> None:
        """Take whatever the worker has written; never blocks."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                self.fail(self.stderr_tail() or "the worker process exited")
                return
            self.buffer += chunk
            self.last_heard = time.monotonic()
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            take_line(line, self.pending, self.hygiene)

    def overdue(self) -> bool:
        if not self.pending:
            return False
        longest = max(job.request.timeout for job in self.pending.values())
        return time.monotonic() - self.last_heard > longest + WORKER_SILENCE

    def stderr_tail(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def fail(self, why: str) -> None:
        self.dead = True
        for job in self.pending.values():
            job.result = _error_result(job, f"the worker failed: {why}")
        self.pending.clear()
        self.close()

    def close(self) -> None:
        if self.poller is not None:
            self.poller.close()
            self.poller = None
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        procs.stop_tree(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()


@dataclass
class _Spawned:
    job: _Job
    proc: subprocess.Popen
    workdir: str
    deadline: float
    timed_out: bool = False


class Runner:
    """Run snippets in isolated children: ``submit`` early, ``result`` late."""

    def __init__(
        self,
        *,
        mode: Mode = "auto",
        parallel: int | None = None,
        env: Mapping[str, str] | None = None,
        hygiene: Hygiene | None = None,
    ) -> None:
        if mode == "auto":
            mode = "fork" if procs.CAN_FORK else "spawn"
        if mode == "fork" and not procs.CAN_FORK:
            mode = "spawn"
        self.mode = mode
        self.parallel = parallel or max(1, os.cpu_count() or 1)
        self.env = child_environment(env)
        self.hygiene = hygiene or Hygiene.from_environment()
        self._ids = itertools.count(1)
        self._jobs: dict[int, _Job] = {}
        self._workers: dict[str, _ForkWorker] = {}
        self._queue: list[_Job] = []
        self._spawned: list[_Spawned] = []
        procs.sweep_stale(procs.temp_bases())  # what killed builds left behind
        # Not closed (an exception, Ctrl-C, a runner dropped): at exit or collection, the
        # workers are stopped anyway, without waiting for what they still had to run.
        self._abort = weakref.finalize(self, _abort, self._workers, self._spawned)

    @property
    def unfinished(self) -> int:
        """Snippets submitted whose result has not come back."""
        return sum(1 for job in self._jobs.values() if job.result is None)

    # -- public interface -----------------------------------------------------------------

    def submit(self, request: Request, interpreter: Interpreter | None = None) -> int:
        job = _Job(next(self._ids), request, interpreter or current())
        self._jobs[job.ident] = job
        if self.mode == "fork":
            try:
                worker = self._worker_for(job.interpreter)
            except OSError as exc:  # the interpreter vanished or cannot be started
                job.result = _error_result(job, f"could not start {job.interpreter.label}: {exc}")
            else:
                worker.send(job)
        else:
            self._queue.append(job)
            self._start_spawned()
        return job.ident

    def poll(self) -> None:
        """Collect what has finished so far without waiting (cheap; call it often)."""
        if self.mode == "fork":
            for worker in self._workers.values():
                if not worker.dead:
                    worker.read()
        else:
            self._reap_spawned()
            self._start_spawned()

    def done(self, ticket: int) -> bool:
        self.poll()
        return self._jobs[ticket].result is not None

    def result(self, ticket: int) -> Capture:
        """Wait for one snippet and return its capture (never raises for snippet behaviour)."""
        job = self._jobs[ticket]
        while job.result is None:
            self._wait(job)
        del self._jobs[ticket]
        return self._to_capture(job)

    def run(self, request: Request, interpreter: Interpreter | None = None) -> Capture:
        return self.result(self.submit(request, interpreter))

    def abort(self) -> None:
        """Stop the workers now, without waiting for what they still had to run."""
        self._abort()
        self._jobs.clear()

    def close(self) -> None:
        self._abort.detach()
        for worker in self._workers.values():
            if not worker.dead:
                worker.close()
        self._workers.clear()
        for spawned in self._spawned:
            procs.kill_tree(spawned.proc)
            spawned.proc.wait()
            shutil.rmtree(spawned.workdir, ignore_errors=True)
        self._spawned.clear()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fork engine ----------------------------------------------------------------------

    def _worker_for(self, interpreter: Interpreter) -> _ForkWorker:
        worker = self._workers.get(interpreter.executable)
        if worker is None or worker.dead:
            worker = _ForkWorker(interpreter, self.env, self.parallel, self.hygiene)
            self._workers[interpreter.executable] = worker
        return worker

    def _wait(self, job: _Job) -> None:
        if self.mode == "spawn":
            self.poll()
            if job.result is None:
                time.sleep(0.002)
            return
        worker = self._workers[job.interpreter.executable]
        if worker.dead:
            job.result = job.result or _error_result(job, "the worker process is gone")
            return
        worker.wait_readable(1.0)
        worker.read()
        if job.result is None and worker.overdue():
            worker.fail("it stopped answering")

    # -- spawn engine ---------------------------------------------------------------------

    def _start_spawned(self) -> None:
        while self._queue and len(self._spawned) < self.parallel:
            job = self._queue.pop(0)
            # the pid in the name: a later build sweeps it if this process is killed first
            workdir = tempfile.mkdtemp(prefix=f"layertrace-{os.getpid()}-")
            Path(workdir, "request.json").write_text(
                json.dumps({**job.request.to_wire(job.ident), "parent": os.getpid()}),
                encoding="utf-8",
            )
            try:
                with open(os.path.join(workdir, "boot"), "wb") as boot:
                    proc = procs.popen_isolated(
                        [job.interpreter.executable, WORKER, "once", workdir],
                        stdout=boot,
                        stderr=boot,
                        env=self.env,
                        cwd=workdir,
                    )
            except OSError as exc:  # no such executable, too many open files, ...
                shutil.rmtree(workdir, ignore_errors=True)
                job.result = _error_result(job, f"could not start {job.interpreter.label}: {exc}")
                continue
            job.started = time.monotonic()
            deadline = job.started + job.request.timeout + 1.5  # the supervisor fires first
            self._spawned.append(_Spawned(job, proc, workdir, deadline))

    def _reap_spawned(self) -> None:
        now = time.monotonic()
        for item in list(self._spawned):
            code = item.proc.poll()
            if code is None and now >= item.deadline:
                item.timed_out = True
                procs.kill_tree(item.proc)
                code = item.proc.wait()
            if code is None:
                continue
            procs.kill_tree(item.proc)  # whatever the snippet left in its group
            self._spawned.remove(item)
            kind, number = ("signal", -code) if code < 0 else ("exit", code)
            status = _read_status(item.workdir)
            if status is not None and not item.timed_out:
                # the ``once`` supervisor ran the snippet in a child: its status is the real one
                kind, number = status["kind"], status["code"]
                item.timed_out = status["timed_out"]
            info = {"platform": item.job.interpreter.platform, "python": _python_info(item.job)}
            ending = protocol.Ending(
                kind, number, item.timed_out, time.monotonic() - item.job.started
            )
            request = item.job.request.to_wire(item.job.ident)
            item.job.result = protocol.finish(item.workdir, request, ending, info, _NoMask())
            shutil.rmtree(item.workdir, ignore_errors=True)

    # -- results --------------------------------------------------------------------------

    def _to_capture(self, job: _Job) -> Capture:
        """The child's report as a Capture; a report that is not one is an ``error`` outcome."""
        result = job.result if isinstance(job.result, dict) else None
        if job.plain and result is not None:
            data = result  # nothing in it for hygiene to change (checked on its JSON text)
        else:
            data = self.hygiene.clean(result or _error_result(job, "no result"))
        try:
            python = data.setdefault("python", {})
            python["label"] = job.interpreter.label
            data["code"] = job.request.code
            return Capture.from_dict(data)
        except (SchemaError, AttributeError, TypeError) as exc:
            data = _error_result(job, f"the snippet's report was not readable ({exc})")
            data["python"]["label"] = job.interpreter.label
            return Capture.from_dict(data)


def _abort(workers: dict[str, _ForkWorker], spawned: list[_Spawned]) -> None:
    """Stop every worker and spawned child now, and remove the spawned children's directories."""
    for worker in workers.values():
        if not worker.dead:
            worker.dead = True
            procs.stop_tree(worker.proc, grace=0.5)
            for stream in (worker.proc.stdin, worker.proc.stdout, worker.log):
                with contextlib.suppress(OSError, AttributeError):
                    stream.close()  # type: ignore[union-attr]
    workers.clear()
    for item in spawned:
        procs.kill_tree(item.proc)
        item.proc.wait()
        shutil.rmtree(item.workdir, ignore_errors=True)
    spawned.clear()


def _read_status(workdir: str) -> dict | None:
    try:
        status = json.loads(Path(workdir, "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        isinstance(status, dict)
        and status.get("kind") in ("signal", "exit")
        and isinstance(status.get("code"), int)
    ):
        status["timed_out"] = bool(status.get("timed_out"))
        return status
    return None


class _NoMask:
    """Spawned children report their own paths masked; crash leftovers go through Hygiene."""

    @staticmethod
    def text(text: str) -> str:
        return text


def _python_info(job: _Job) -> dict:
    return {"implementation": job.interpreter.implementation, "version": job.interpreter.version}


def _error_result(job: _Job, detail: str) -> dict:
    return {
        "schema": 1,
        "code": job.request.code,
        "style": job.request.style,
        "outcome": "error",
        "detail": detail,
        "platform": job.interpreter.platform,
        "python": _python_info(job),
    }
