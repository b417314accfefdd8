"""Runs one page's pasted ``>>>`` examples in order, as doctest's runner would, in the child.

The audit sends this file's text as a ``script`` snippet, followed by one call of
:func:`run_page` with the page's examples, so it runs inside the engine's isolated child
(limits, temp directory, hygiene) and never in the command line's own process. Every example
runs in one shared namespace, compiled like doctest compiles it, with its output captured; the
result of each is written at once as one marked JSON line on the real stdout, so a session that
kills its interpreter half-way still reports the examples before. Only loopback is reachable:
an audit hook refuses name lookups and connections elsewhere, so an example that needs the
network never sends anything and is reported as such. Standard library only, Python 3.8.
"""

import builtins
import errno
import io
import json
import signal
import sys
import traceback

MARK = "@@layertrace-audit@@ "
MAX_OUTPUT = 16 * 1024  # of one example's output: enough to tell what differs
_LOOKUPS = (
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
)
_SENDS = ("socket.connect", "socket.sendto")
#: Names that never reach a DNS server (the hosts file answers them); any other name is refused.
_LOCAL_NAMES = ("", "localhost")


class _Timeout(BaseException):
    """Raised into an example that ran past its time."""


class _State:
    running = False
    network = ""  # the host an example tried to reach, refused


def _local(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        import ipaddress

        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _audit(event, args):
    if not _State.running:
        return
    host = None
    if event in _LOOKUPS and args:
        host = args[0]
    elif event in _SENDS and len(args) > 1 and isinstance(args[1], tuple) and args[1]:
        host = args[1][0]
    else:
        return
    if not _local(host):
        _State.network = str(host).strip()
        raise OSError(errno.ENETUNREACH, "Network is unreachable (the audit reaches loopback only)")


def _future_flags():
    import __future__

    flags = 0
    for name in __future__.all_feature_names:
        flags |= getattr(__future__, name).compiler_flag
    return flags


def _exc_msg(exc):
    """What doctest compares of an exception: the message line on (for a SyntaxError, from its
    message line, without the carets)."""
    lines = traceback.format_exception_only(type(exc), exc)
    if isinstance(exc, SyntaxError):
        names = (type(exc).__qualname__ + ":", type(exc).__name__)
        for index, line in enumerate(lines):
            if line.startswith(names):
                lines = lines[index:]
                break
    return "".join(lines)


def _chain(exc):
    """The messages of the exceptions a traceback prints, in print order (the cause first)."""
    found = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        found.append(_exc_msg(exc))
        if exc.__cause__ is not None:
            exc = exc.__cause__
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc = exc.__context__
        else:
            exc = None
    found.reverse()
    return found


def _describe(exc):
    kind = type(exc)
    info = {
        "type": kind.__name__,
        "module": kind.__module__,
        "mro": ["%s.%s" % (k.__module__, k.__qualname__) for k in kind.__mro__],
        "message": _exc_msg(exc),
        "chain": _chain(exc),
    }
    if isinstance(exc, OSError):
        info["errno"] = exc.errno
        info["filename"] = None if exc.filename is None else str(exc.filename)
    if isinstance(exc, (ImportError, NameError)):
        name = getattr(exc, "name", None)
        info["name"] = None if name is None else str(name)
    return info


def _alarm(signum, frame):
    raise _Timeout()


def _run_one(example, index, globs, state):
    """One example; returns its result and the future flags in force after it."""
    result = {"index": index, "exception": None, "timeout": False}
    captured = io.StringIO()
    real = sys.stdout
    sys.stdout = captured
    _State.network = ""
    timer = hasattr(signal, "setitimer")
    try:
        code = compile(example["source"], "<doctest>", "single", state["flags"], True)
        state["flags"] |= code.co_flags & state["future"]
        if timer:
            signal.setitimer(signal.ITIMER_REAL, state["timeout"])
        _State.running = True
        exec(code, globs)
    except _Timeout:
        result["timeout"] = True
    except BaseException as exc:
        _State.running = False
        result["exception"] = _describe(exc)
    finally:
        _State.running = False
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout = real
    result["output"] = captured.getvalue()[:MAX_OUTPUT]
    result["network"] = _State.network or None
    return result


def run_page(payload):
    """Run every example of a page in order in one namespace, reporting each as it ends."""
    page = json.loads(payload)
    globs = {"__name__": "__main__", "__builtins__": builtins}
    state = {"flags": 0, "future": _future_flags(), "timeout": float(page["timeout"])}
    if hasattr(sys, "addaudithook"):
        sys.addaudithook(_audit)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
    sys.displayhook = sys.__displayhook__
    out = sys.stdout  # the child's capped stream; each example gets its own while it runs
    for index, example in enumerate(page["examples"]):
        result = _run_one(example, index, globs, state)
        try:
            line = json.dumps(result, ensure_ascii=True)
        except (TypeError, ValueError):
            line = json.dumps({"index": index, "exception": None, "output": "", "broken": True})
        out.write(MARK + line + "\n")
        out.flush()
