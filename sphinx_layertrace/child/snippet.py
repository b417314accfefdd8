"""One snippet in this process: isolate, run it as ``python -i`` or ``python FILE``, report.

Everything between "start the snippet" and "write result.json". The snippet sees what a fresh
interpreter would: a fresh ``__main__``, the modules of a fresh start only, ``sys.path`` and
``sys.argv`` as the prompt or the script gives them, nothing of the extension.
"""

import builtins
import json
import linecache
import os
import sys
import time

from . import imports
from .distributions import Distributions
from .isolation import IS_LINUX, isolate
from .paths import write_new
from .procctl import kill_descendants
from .protocol import CHILD_DIR, EXIT_NO_REPORT, is_comment, read_capped, source_lines
from .repl import future_flags, prompt_reads, prompt_syntax_error, split_statements
from .report import describe

MYPY = False
if MYPY:  # read by the type checker only: the child imports no typing at run time
    from typing import Any  # noqa: F401 - used by the type comments below

MAX_SYSCALLS = 64


class Snippet:
    """Everything that happens between "start the snippet" and "write result.json"."""

    def __init__(self, request, workdir, prepared):
        self.req = request
        self.workdir = workdir
        self.prepared = prepared
        self.masker = prepared.masker
        self.style = request.get("style", "repl")
        self.syscalls = []
        self.recording = False
        self.steps = []
        self.echo = None
        self.current = None  # type: Any
        self.walls = None  # type: Any
        self.imported = []  # type: list[str]

    def isolate(self):
        self.walls = isolate(self.req, self.workdir, self.prepared)
        if hasattr(sys, "addaudithook"):
            sys.addaudithook(self.audit)

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

    # -- running --------------------------------------------------------------------------

    def fresh_main(self):
        """A fresh-looking interpreter: modules, ``__main__``, ``sys.path`` and ``sys.argv``."""
        main = type(sys)("__main__")
        main.__dict__["__builtins__"] = builtins
        imports.track_imports(False)
        if self.prepared.stash is not None:
            self.prepared.stash.check()  # the forking server hid them already, before forking
        else:
            imports.forget_own(CHILD_DIR)
            self.prepared.stash = imports.ModuleStash().hide()
        sys.modules["__main__"] = main
        self.prepared.stash.asked = set()
        if self.style == "script":
            filename = self.req.get("filename") or "example.py"
            # as ``python FILE`` run in the snippet's directory: the script's folder first
            sys.path.insert(0, os.path.dirname(os.path.realpath(filename)))
            argv = [filename]
        else:
            sys.path.insert(0, "")  # as ``python -i``
            argv = [""]
        sys.argv = argv
        if hasattr(sys, "orig_argv"):
            sys.orig_argv = sys.orig_argv[:1] + (argv if self.style == "script" else ["-i"])
        return main.__dict__

    def run(self):
        ns = self.fresh_main()
        try:
            return self._run(ns)
        finally:
            # the top-level modules the snippet (or its setup) asked the finders for
            self.imported = [n for n in self.prepared.stash.asked if n in sys.modules]

    def _run(self, ns):
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
        for index, chunk in enumerate(chunks):
            self.steps.append({"source": chunk, "ran": False, "waits": index in waits})
        if error is not None:  # it ends where the prompt reads the offending line
            self.steps.append({"source": error, "ran": False, "waits": False})
        future = 0
        for index, chunk in enumerate(chunks):
            future = self.run_input(chunk, self.steps[index], ns, future)
        if error is not None:
            self.fail_at_prompt(code, error)

    def run_input(self, chunk, step, ns, future):
        """One input at the prompt; returns the future flags in force after it."""
        step["ran"] = True
        step["start"] = self.offset()
        self.current = step
        if is_comment(chunk):  # the prompt only waits for more input
            step["end"] = step["start"]
            return future
        try:
            compiled = compile(chunk, "<stdin>", "single", future, dont_inherit=True)
            if "__future__" in chunk:  # the prompt keeps a future import for what follows
                future |= compiled.co_flags & future_flags()
            exec(compiled, ns)
        except BaseException:
            step["raised"] = True
            raise
        finally:
            step["end"] = self.offset()
        return future

    def fail_at_prompt(self, code, error):
        """The input that does not parse: raise the SyntaxError the prompt reports for it."""
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
        builtins._ = None  # type: ignore[attr-defined]
        text = repr(value)
        self.current["echo"] = text
        self.echo = text
        sys.stdout.write(text + "\n")
        builtins._ = value  # type: ignore[attr-defined]

    def offset(self):
        try:
            return os.lseek(self.walls.term, 0, os.SEEK_CUR)
        except OSError:
            return 0

    # -- reporting ------------------------------------------------------------------------

    def report(self, outcome, exc, detail, started):
        duration = time.monotonic() - started
        if self.prepared.stash is not None:
            # The snippet is done: the report code reads collections.abc and the like
            self.prepared.stash.reattach()
        result = {
            "schema": 1,
            "code": self.req.get("code", ""),
            "style": self.style,
            "outcome": outcome,
            "duration": round(duration, 6),
            "detail": detail,
            "timeout": self.req.get("timeout"),
        }
        result.update(self.prepared.info)
        result["exception"] = self.exception_data(exc)
        result["distributions"] = self.distributions()
        self.add_output(result)
        mask = self.masker.text
        result["syscalls"] = [{"event": s["event"], "args": mask(s["args"])} for s in self.syscalls]
        return result

    def exception_data(self, exc):
        if exc is None:
            return None
        try:
            return describe(exc, self.masker, self.prepared.carets)
        except BaseException as failure:  # never lose the run because formatting failed
            return {
                "type": type(exc).__name__,
                "module": type(exc).__module__,
                "message": "<formatting failed: %s>" % type(failure).__name__,
            }

    def distributions(self):
        """The installed distributions whose modules the snippet or its setup imported."""
        try:
            index = self.prepared.distributions
            if index is None:
                index = self.prepared.distributions = Distributions(self.masker)
            outside = index.outside_stdlib(self.imported)
            return index.used_by(sorted(outside)) if outside else []
        except Exception:  # what the snippet did to os or sys: the capture counts more
            return []

    def add_output(self, result):
        """Streams, the terminal transcript cut into the inputs' outputs, the echo."""
        try:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
        except Exception:
            pass
        mask = self.masker.text
        dropped = self.walls.out.dropped + self.walls.err.dropped
        terminal = read_capped(os.path.join(self.workdir, "terminal"), self.req)
        result["steps"] = [_step_data(step, terminal, mask) for step in self.steps]
        result["echo"] = mask(self.echo) if self.echo is not None else None
        stdout = read_capped(os.path.join(self.workdir, "stdout"), self.req)
        stderr = read_capped(os.path.join(self.workdir, "stderr"), self.req)
        cap = int(self.req.get("max_output", 65536))
        result["stdout"] = mask(stdout[:cap].decode("utf-8", "backslashreplace"))
        result["stderr"] = mask(stderr[:cap].decode("utf-8", "backslashreplace"))
        result["truncated"] = bool(dropped or len(stdout) > cap or len(stderr) > cap)


def _step_data(step, terminal, mask):
    item = {"source": step["source"], "ran": step["ran"]}
    if "waits" in step:
        item["waits"] = step["waits"]
    if step.get("raised"):
        item["raised"] = True
    if "echo" in step:
        item["echo"] = mask(step["echo"])
    if "start" in step:
        text = terminal[step["start"] : step["end"]].decode("utf-8", "backslashreplace")
        item["output"] = mask(text)
    return item


def run_here(request, workdir, prepared):
    """Run one request in this process and write result.json; never returns normally."""
    started = time.monotonic()
    snippet = Snippet(request, workdir, prepared)
    try:
        snippet.isolate()
        outcome, exc, detail = snippet.run()
        result = snippet.report(outcome, exc, detail, started)
        if IS_LINUX:
            kill_descendants()
        data = json.dumps(result, ensure_ascii=True).encode("ascii")
        write_new(os.path.join(workdir, "result.json"), data)
        leave_notes(workdir, prepared)
        code = 0
    except BaseException:
        code = EXIT_NO_REPORT
    os._exit(code)


def leave_notes(workdir, prepared):
    """In a child, after its report: what the worker could keep for the next children (the
    source files the report read, the caret segments it parsed); ``Server.pass_on`` reads them."""
    notes = {}
    if prepared.sources is not None:
        kept = prepared.sources
        new = [
            name
            for name, entry in list(linecache.cache.items())
            if name not in kept and len(entry) == 4 and entry[1] is not None
        ]
        notes["sources"] = "\n".join(new).encode("utf-8", "replace")
    if prepared.carets is not None:
        notes["carets"] = prepared.carets.parsed()
    for name, data in notes.items():
        if data:
            try:
                write_new(os.path.join(workdir, name), data)
            except OSError:
                pass
