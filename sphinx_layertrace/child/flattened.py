"""Lower errors that a library folded into one exception, read from the exception object.

Runs in the child (standard library only, Python 3.8 syntax, never imports the rest of the
package). Some libraries try several addresses or servers and raise one exception for all of
them; the per-attempt errors then live in an attribute, not in ``__cause__``. This module reads
those attributes, never the message: what a message says is not evidence of what happened.

What each library really carries (checked on loopback, see ``meaning/stacks.py`` for versions):

- paramiko ``NoValidConnectionsError.errors``: ``{(address, port): exception}``;
- aiohttp ``ClientConnectorError.os_error``: the ``OSError`` (also its ``__cause__``);
- dnspython ``NoNameservers`` / ``LifetimeTimeout``: ``kwargs['errors']``, a list of
  ``(server, tcp, port, exception, answer)``;
- grpc ``RpcError``: ``code()``, ``details()`` and ``debug_error_string()``, the C core's words
  (no Python socket ran, so this is all there is);
- asyncio's ``OSError('Multiple exceptions: ...')`` carries **nothing** but its text (the list
  of errors is a local of ``create_connection``, cleared before the raise): no rows, by design.

Each row is a plain JSON-able dict: ``source`` (where it was read), ``where`` (the address or
server it belongs to), ``type``, ``module``, ``message``, ``errno``/``errno_name`` for an
``OSError``, ``detail`` (grpc's debug string), ``same_as`` (``cause``/``context`` when the row is
the very object already chained, so the parent need not show it twice).
"""

import errno as errno_mod
import sys

MAX_ROWS = 16
MAX_TEXT = 2000


def flattened(exc, text=None):
    """The rows of lower errors ``exc`` carries, ``[]`` when it carries none."""
    text = text or (lambda s: s)
    for reader in (_paramiko, _aiohttp, _dnspython, _grpc):
        try:
            rows = reader(exc, text)
        except Exception:
            rows = None  # an attribute that raises: nothing we can honestly report
        if rows:
            return rows[:MAX_ROWS]
    return []


def _has_base(exc, qualified):
    return any("%s.%s" % (c.__module__, c.__qualname__) == qualified for c in type(exc).__mro__)


def _paramiko(exc, text):
    if not _has_base(exc, "paramiko.ssh_exception.NoValidConnectionsError"):
        return None
    errors = getattr(exc, "errors", None)
    if not isinstance(errors, dict):
        return None
    source = "paramiko NoValidConnectionsError.errors"
    return [_row(exc, error, source, _address(key), text) for key, error in errors.items()]


def _aiohttp(exc, text):
    if not _has_base(exc, "aiohttp.client_exceptions.ClientConnectorError"):
        return None
    error = getattr(exc, "os_error", None)
    if not isinstance(error, BaseException):
        return None
    where = ""
    host, port = getattr(exc, "host", None), getattr(exc, "port", None)
    if host is not None:
        where = "%s:%s" % (host, port)
    return [_row(exc, error, "aiohttp ClientConnectorError.os_error", where, text)]


def _dnspython(exc, text):
    if not (
        _has_base(exc, "dns.resolver.NoNameservers")
        or _has_base(exc, "dns.resolver.LifetimeTimeout")
    ):
        return None
    kwargs = getattr(exc, "kwargs", None)
    errors = kwargs.get("errors") if isinstance(kwargs, dict) else None
    if not isinstance(errors, (list, tuple)):
        return None
    source = "dnspython %s.kwargs['errors']" % type(exc).__name__
    rows = []
    for entry in errors[:MAX_ROWS]:
        if not isinstance(entry, tuple) or len(entry) < 4:
            continue
        server, tcp, port, error = entry[0], entry[1], entry[2], entry[3]
        where = "%s (%s port %s)" % (server, "TCP" if tcp else "UDP", port)
        if isinstance(error, BaseException):
            rows.append(_row(exc, error, source, where, text))
        else:
            # the server answered, but with something unusable (a string such as 'SERVFAIL')
            rows.append({"source": source, "where": text(where), "message": text(str(error))})
    return rows


def _grpc(exc, text):
    if not _has_base(exc, "grpc.RpcError"):
        return None
    methods = [getattr(exc, name, None) for name in ("code", "details", "debug_error_string")]
    if not all(callable(m) for m in methods):
        return None
    code, details, debug = [m() for m in methods if callable(m)]
    name = getattr(code, "name", None) or str(code)
    row = {
        "source": "grpc RpcError code()/details()/debug_error_string()",
        "type": str(name),
        "module": "grpc.StatusCode",
        "message": text(_cap(str(details or ""))),
    }
    if debug:
        row["detail"] = text(_cap(str(debug)))
    return [row]


def _row(outer, error, source, where, text):
    cls = type(error)
    try:
        message = str(error)
    except Exception:
        message = "<exception str() failed>"
    row = {
        "source": source,
        "where": text(where),
        "type": cls.__qualname__,
        "module": cls.__module__,
        "message": text(_cap(message)),
    }
    number = getattr(error, "errno", None) if isinstance(error, OSError) else None
    if isinstance(number, int):
        row["errno"] = number
        name = _code_names(error).get(number, "")
        if name:
            row["errno_name"] = name
    if error is outer.__cause__:
        row["same_as"] = "cause"
    elif error is outer.__context__:
        row["same_as"] = "context"
    return row


def _code_names(error):
    socket = sys.modules.get("socket")
    if socket is not None and isinstance(error, socket.gaierror):
        return {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}
    return errno_mod.errorcode


def _address(key):
    if isinstance(key, tuple) and len(key) >= 2:
        host = str(key[0])
        return ("[%s]:%s" if ":" in host else "%s:%s") % (host, key[1])
    return str(key)


def _cap(text):
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."
