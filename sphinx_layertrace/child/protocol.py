"""What the parent may import from the child: the few facts both sides must agree on.

Standard library only, Python 3.8 syntax, and no import of the other child modules, so the
parent (``sphinx_layertrace.child.protocol``) and the child (launched by path) read the same
definitions: which input the prompt treats as comment-only or compound, how source lines are
counted, what an interpreter reports about itself, and how a child that died without a result
document is described (the spawn engine builds that response in the parent).
"""

import ast
import json
import os
import re
import signal
import sys

#: The folder of the child's files: their frames are removed from tracebacks, their lines from
#: faulthandler dumps, and the folder is masked as ``<layertrace>`` in everything reported.
CHILD_DIR = os.path.dirname(os.path.realpath(__file__))
#: Exit status of a child that could not write its report.
EXIT_NO_REPORT = 70
#: A memory address (``<object object at 0x7f…>``) and what stands in its place in a capture.
#: The child masks with these and the parent's ``Hygiene`` too: a report the child masked is
#: one the parent need not clean (``Hygiene.needed``), so the two must never differ.
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{8,16}\b")
ADDRESS_MASK = "0x\u2026"

# Statements the prompt runs only after an empty line (a call spread over lines runs at once).
COMPOUND = tuple(
    getattr(ast, name)
    for name in (
        "If", "For", "While", "With", "Try", "FunctionDef", "ClassDef", "AsyncFor",
        "AsyncWith", "AsyncFunctionDef", "Match", "TryStar",
    )
    if hasattr(ast, name)
)  # fmt: skip


def source_lines(code):
    """The lines of source code as the tokenizer and ``ast`` count them, ends kept:
    ``str.splitlines`` also splits at characters such as U+2028 that Python source keeps
    inside a line (in a string or a comment)."""
    lines = [line + "\n" for line in code.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def is_comment(chunk):
    """Input the prompt only reads on after: blank lines and comments."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in source_lines(chunk))


def interpreter_info():
    """Platform and Python of this interpreter, as a capture records them."""
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


def read_capped(path, req):
    """A stream file of the snippet, one byte past its cap (so "truncated" can be told)."""
    return read_file(path, int(req.get("max_output", 65536)) + 1)


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
    if code == EXIT_NO_REPORT:
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


class Ending:
    """How a child ended: ``kind`` "exit" or "signal", its ``code``, and whether it ran out of
    time; ``duration`` in seconds since it started."""

    def __init__(self, kind, code, timed_out, duration):
        self.kind = kind
        self.code = code
        self.timed_out = timed_out
        self.duration = duration


def finish(workdir, request, ending, info, masker):
    """Build the response for one finished child, from result.json or from how it died."""
    if not ending.timed_out and ending.kind == "exit" and ending.code == 0:
        try:
            result = json.loads(read_file(os.path.join(workdir, "result.json"), 8 << 20))
        except ValueError:
            result = None
        if isinstance(result, dict):
            result["duration"] = round(ending.duration, 6)
            return result
    outcome, detail, signame = classify_exit(
        ending.kind, ending.code, ending.timed_out, request.get("timeout", 10)
    )
    result = {
        "schema": 1,
        "code": request.get("code", ""),
        "style": request.get("style", "repl"),
        "outcome": outcome,
        "duration": round(ending.duration, 6),
        "detail": detail,
        "timeout": request.get("timeout"),
    }
    result.update(info)
    if signame:
        result["signal"] = signame
    elif not ending.timed_out:
        result["returncode"] = ending.code
    cap = int(request.get("max_output", 65536))
    for name in ("stdout", "stderr"):
        data = read_capped(os.path.join(workdir, name), request)
        result[name] = masker.text(data[:cap].decode("utf-8", "backslashreplace"))
        if len(data) > cap:
            result["truncated"] = True
    fault = read_capped(os.path.join(workdir, "fault"), {"max_output": 8192})
    if fault:
        lines = masker.text(fault.decode("utf-8", "backslashreplace")).splitlines(True)
        where = "".join(line for line in lines if line.strip() and not _own_line(line))
        result["stderr"] = (result.get("stderr") or "") + where
    return result


def _own_line(line):
    """A faulthandler line about the child's own code (masked or not)."""
    return CHILD_DIR + os.sep in line or "<layertrace>" + os.sep in line
