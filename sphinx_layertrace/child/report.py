"""An exception as data: the chain, every frame, OSError codes, and the text CPython prints.

Plus what each layer was asked (``arguments``: per frame, for the first frame of each module on
the path, redacted) and the lower errors a library folded into one exception (``flattened``:
per exception, read from its attributes).

Everything is masked (``PathMasker``) and capped, and the child's own frames are taken off the
start of every traceback, so a capture shows what the snippet's reader would see.
"""

import builtins
import errno
import os
import sys
import traceback

from . import arguments as arguments_mod
from . import flattened as flattened_mod
from .protocol import CHILD_DIR

MAX_FRAMES = 200
MAX_MESSAGE = 16384
MAX_CHAIN = 32
_H_ERRNO = {1: "HOST_NOT_FOUND", 2: "TRY_AGAIN", 3: "NO_RECOVERY", 4: "NO_DATA"}


def describe(exc, masker, carets=None):
    """The exception as data; ``carets``: the worker's caret anchors, looked up, not parsed."""
    if carets is not None:
        carets.install()
    try:
        return _describe(exc, masker)
    finally:
        if carets is not None:
            carets.remove()


def _describe(exc, masker):
    strip_own_frames(exc)
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
    colored = colored_text(te)
    # a syntax error the prompt itself reported: its words, printed by C on 3.8-3.12, where the
    # traceback module draws some carets otherwise
    printed = getattr(exc, "_layertrace_printed", None)
    if printed:
        formatted, colored = printed, getattr(exc, "_layertrace_printed_colored", "")
    data = describe_one(exc, _Walk(masker, chain_arguments(exc)), 0, te)
    data["formatted"] = masker.text(cap(formatted, MAX_MESSAGE * 4))
    if colored:
        data["colored"] = masker.text(cap(colored, MAX_MESSAGE * 8))
    return data


def colored_text(te):
    """The traceback as CPython 3.13+ prints it in colour, when it would colour its own
    (``_colorize.can_colorize()``: ``PYTHON_COLORS=1``, set by the parent, says yes); "" on
    older interpreters, which have neither ``_colorize`` nor ``format(colorize=...)``."""
    if te is None:
        return ""
    colorize = getattr(traceback, "_colorize", None)  # the traceback module's own (3.13+)
    try:
        if colorize is None or not colorize.can_colorize():
            return ""
        return "".join(te.format(colorize=True))
    except Exception:
        return ""


def chain_arguments(exc):
    """``{id(traceback entry): [[name, repr], ...]}``: what each layer was asked (redacted)."""
    try:
        return arguments_mod.chain_arguments(exc)
    except Exception:
        return {}  # a snippet that broke repr or its frames: no arguments, never no report


def flattened_errors(exc, masker):
    try:
        return flattened_mod.flattened(exc, masker.text)
    except Exception:
        return []


def is_own_file(filename):
    return os.path.dirname(filename) == CHILD_DIR


def strip_own_frames(exc, seen=None):
    """Remove the child's own frames from the start of every traceback in the chain."""
    if seen is None:
        seen = set()
    if exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    tb = exc.__traceback__
    while tb is not None and is_own_file(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    try:
        exc.__traceback__ = tb
    except Exception:
        pass
    strip_own_frames(exc.__cause__, seen)
    strip_own_frames(exc.__context__, seen)
    for sub in getattr(exc, "exceptions", None) or ():
        if isinstance(sub, BaseException):
            strip_own_frames(sub, seen)


def _header(exc, te):
    lines = None
    if te is not None:
        try:
            lines = list(te.format_exception_only())
        except Exception:
            lines = None
    if lines is None:
        try:
            lines = traceback.format_exception_only(type(exc), exc)
        except Exception:
            lines = ["%s: <exception str() failed>\n" % type(exc).__name__]
    return "".join(lines)


class _Walk(object):
    """What one walk over a chain shares: the masker, the exceptions already described (each is
    described once, even in a cycle) and the arguments each layer was asked."""

    def __init__(self, masker, asked):
        self.masker = masker
        self.seen = set()
        self.asked = asked


def describe_one(exc, walk, depth, te=None):
    masker, asked = walk.masker, walk.asked
    walk.seen.add(id(exc))
    cls = type(exc)
    header = _header(exc, te)
    try:
        message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    data = {
        "type": cls.__qualname__,
        "module": cls.__module__,
        "mro": ["%s.%s" % (c.__module__, c.__qualname__) for c in cls.__mro__],
        "message": masker.text(cap(message, MAX_MESSAGE)),
        "header": masker.text(cap(header, MAX_MESSAGE)),
        "frames": frames_of(exc, masker, te.stack if te is not None else None, asked),
        "suppress_context": bool(exc.__suppress_context__),
    }
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, (list, tuple)):
        data["notes"] = [masker.text(cap(str(n), MAX_MESSAGE)) for n in notes[:20]]
    if isinstance(exc, OSError):
        data.update(os_error_fields(exc, masker))
        data.update(verify_fields(exc, masker))
    flat = flattened_errors(exc, masker)
    if flat:
        data["flattened"] = flat
    if depth < MAX_CHAIN:
        _describe_linked(exc, data, walk, depth, te)
    return data


def _describe_linked(exc, data, walk, depth, te):
    """The cause, the context and a group's members. ``te`` (the TracebackException that
    formatted the text, or None) already holds each linked exception's frames and header: they
    are read from it, not extracted and formatted a second time; where it has none (a context
    it left out, a cycle), they are worked out here."""
    for attr, key in (("__cause__", "cause"), ("__context__", "context")):
        linked = getattr(exc, attr)
        if isinstance(linked, BaseException) and id(linked) not in walk.seen:
            data[key] = describe_one(linked, walk, depth + 1, getattr(te, attr, None))
    subs = getattr(exc, "exceptions", None)
    if isinstance(subs, (list, tuple)) and _is_group(exc):
        members = getattr(te, "exceptions", None) or ()
        data["exceptions"] = [
            describe_one(sub, walk, depth + 1, members[i] if i < len(members) else None)
            for i, sub in enumerate(subs[:15])
            if isinstance(sub, BaseException) and id(sub) not in walk.seen
        ]


def _is_group(exc):
    group = getattr(builtins, "BaseExceptionGroup", None)
    return group is not None and isinstance(exc, group)


def verify_fields(exc, masker):
    """OpenSSL's verify code and message of a certificate failure, as the exception holds them."""
    fields = {}  # type: dict[str, object]
    code = getattr(exc, "verify_code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        fields["verify_code"] = code
    text = getattr(exc, "verify_message", None)
    if isinstance(text, str) and text:
        fields["verify_message"] = masker.text(cap(text, MAX_MESSAGE))
    return fields


def os_error_fields(exc, masker):
    fields = {}  # type: dict[str, object]
    number = exc.errno
    if isinstance(number, int):
        fields["errno"] = number
        names = exc_code_names(exc)
        fields["errno_name"] = names.get(number, "")
    winerror = getattr(exc, "winerror", None)
    if isinstance(winerror, int):
        fields["winerror"] = winerror
        if not fields.get("errno_name") and isinstance(number, int):
            fields["errno_name"] = errno.errorcode.get(number, "")
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
    return errno.errorcode


def frames_of(exc, masker, summaries=None, asked=None):
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
    frames = []  # type: list[dict]
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
        elif len(frames) < MAX_FRAMES:
            item = _frame(tb.tb_frame, fs, masker)
            shown = asked.get(id(tb)) if asked else None
            if shown:
                item["arguments"] = [[name, masker.text(value)] for name, value in shown]
            frames.append(item)
    return frames


def _frame(frame, fs, masker):
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
    for attr in ("end_lineno", "colno", "end_colno"):
        value = getattr(fs, attr, None)
        if value is not None:
            item[attr] = value
    return item


def cap(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + "\n[... %d more characters not shown]\n" % (len(text) - limit)
