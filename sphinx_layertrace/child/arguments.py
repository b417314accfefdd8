"""What each layer was asked: the call arguments of a traceback's frames, made safe to print.

Runs in the child (standard library only, Python 3.8 syntax, never imports the rest of the
package). Only the *arguments* of a frame's function are read, by name from its code object
(``co_varnames[:co_argcount + co_kwonlyargcount]`` plus ``*args``/``**kwargs``), never its other
locals. A traceback keeps the frame as it ended, so the value is what the name held when the
function gave up (a function that rebinds an argument shows the new value).

Redaction, before anything leaves the child:

- an argument whose name looks secret (TOKEN, SECRET, PASS, KEY, AUTH, COOKIE, CREDENTIAL, any
  case) is shown as ``***``;
- so is the value under a secret-looking key of ``**kwargs`` or of any dict argument;
- the strings inside a redacted value (``auth=('user', 'hunter2')``: both strings) are
  remembered and cut out of every later repr of the same traceback, and reprs that carry a
  credential by its shape (``Basic ...``/``Bearer ...`` headers, ``key='...'`` pairs, PEM private
  keys) lose it.

Every repr is capped at :data:`MAX_REPR` characters; a repr that raises is ``<unrepresentable>``.
A repr is the library's (or the snippet's) own code: recording stops once :data:`BUDGET` seconds
are spent, so slow reprs cost a snippet at most that much (one that never returns meets the
snippet's timeout, like any other code of the snippet).
"""

import re
import time

MAX_REPR = 80
BUDGET = 0.25  # seconds of reprs per traceback
REDACTED = "***"
UNREPRESENTABLE = "<unrepresentable>"

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASS|KEY|AUTH|COOKIE|CREDENTIAL", re.IGNORECASE)
_SECRET_WORD = r"[^'\"=:,\s(){}]*(?:token|secret|pass|key|auth|cookie|credential)[^'\"=:,\s(){}]*"
# 'authorization': 'Basic ...'  /  password='...'  /  "api_key": b"..."
_KEYED_VALUE = re.compile(
    r"(?P<key>['\"]?" + _SECRET_WORD + r"['\"]?\s*[:=]\s*)(?P<value>b?'[^']*'|b?\"[^\"]*\")",
    re.IGNORECASE,
)
_SCHEMES = re.compile(r"Basic|Bearer|Digest|Token")
_SCHEME_VALUE = re.compile(r"\b(Basic|Bearer|Digest|Token)\s+[A-Za-z0-9+/=._~-]{6,}")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)"
)
_MIN_REMEMBERED = 6  # shorter strings inside a redacted value are too common to cut out

# Python 3.8's code flags, stable since 2.x: CO_VARARGS and CO_VARKEYWORDS.
_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08


def is_secret_name(name):
    return bool(SECRET_NAME.search(str(name)))


def argument_names(code):
    """The names a function's signature binds, in order: positional, ``*args``, kw-only,
    ``**kwargs`` (as ``co_varnames`` stores them: positional and keyword-only first)."""
    count = code.co_argcount + getattr(code, "co_kwonlyargcount", 0)
    names = list(code.co_varnames[:count])
    extra = count
    if code.co_flags & _CO_VARARGS:
        names.append(code.co_varnames[extra])
        extra += 1
    if code.co_flags & _CO_VARKEYWORDS:
        names.append(code.co_varnames[extra])
    return names


class Redactor:
    """Cuts secrets out of reprs; remembers the strings of every value it redacted."""

    def __init__(self, known=()):
        self.known = {s for s in known if isinstance(s, str) and len(s) >= _MIN_REMEMBERED}

    def remember(self, value, depth=0):
        """Keep the strings inside a secret value, so they are cut out wherever they appear."""
        if depth > 3:
            return
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                return
        if isinstance(value, str):
            if len(value) >= _MIN_REMEMBERED:
                self.known.add(value)
            return
        if isinstance(value, dict):
            items = list(value.values())[:20]
        elif isinstance(value, (tuple, list, set, frozenset)):
            items = list(value)[:20]
        else:
            items = []
            for name in ("password", "token", "secret"):  # an auth object's own fields
                try:
                    items.append(getattr(value, name, None))
                except Exception:
                    pass
        for item in items:
            self.remember(item, depth + 1)

    def text(self, text):
        found = [secret for secret in self.known if secret in text]
        for secret in sorted(found, key=len, reverse=True):  # overlapping secrets go whole
            text = text.replace(secret, REDACTED)
        if SECRET_NAME.search(text):  # the cheap test first: most reprs name no secret
            text = _KEYED_VALUE.sub(lambda m: m.group("key") + REDACTED, text)
        if _SCHEMES.search(text):
            text = _SCHEME_VALUE.sub(lambda m: m.group(1) + " " + REDACTED, text)
        if "PRIVATE KEY" in text:
            text = _PRIVATE_KEY.sub(REDACTED, text)
        return text

    def shown(self, value):
        """``repr(value)`` with secrets cut out and capped; dicts redact secret-looking keys."""
        if isinstance(value, dict):
            text = self._dict_repr(value)
        else:
            text = safe_repr(value, limit=MAX_REPR * 4)
        return cap(self.text(text))

    def _dict_repr(self, mapping):
        try:
            items = list(mapping.items())[:30]
        except Exception:
            return UNREPRESENTABLE
        parts = []
        for key, value in items:
            if is_secret_name(key):
                self.remember(value)
                shown = REDACTED
            elif isinstance(value, dict):
                shown = self._dict_repr(value)
            else:
                shown = safe_repr(value, limit=MAX_REPR)
            parts.append("%s: %s" % (safe_repr(key, limit=MAX_REPR), shown))
            if sum(len(p) for p in parts) > MAX_REPR * 4:
                parts.append("...")
                break
        return "{" + ", ".join(parts) + "}"


def safe_repr(value, limit=MAX_REPR):
    try:
        text = repr(value)
    except Exception:
        return UNREPRESENTABLE
    if not isinstance(text, str):
        return UNREPRESENTABLE
    return text[: limit + 1]


def cap(text, limit=MAX_REPR):
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def frame_arguments(frame, redactor):
    """``[[name, shown repr], ...]`` for the arguments of ``frame``'s function.

    Call :func:`remember_secret_arguments` on every frame to be shown first, so a secret passed
    to one frame is cut out of the reprs of all of them.
    """
    try:
        names = argument_names(frame.f_code)
        local = frame.f_locals
    except Exception:
        return []
    out = []
    for name in names:
        if name not in local:
            continue  # deleted by the function before it ended
        value = local[name]
        if is_secret_name(name) and not (value is None or isinstance(value, bool)):
            out.append([name, REDACTED])  # None/True/False under a secret name hide nothing
        else:
            out.append([name, redactor.shown(value)])
    return out


def remember_secret_arguments(frame, redactor):
    """Remember the values of secret-named arguments and secret keys of dict arguments."""
    try:
        names = argument_names(frame.f_code)
        local = frame.f_locals
    except Exception:
        return
    for name in names:
        if name not in local:
            continue
        value = local[name]
        if is_secret_name(name):
            redactor.remember(value)
        elif isinstance(value, dict):
            for key, item in list(value.items())[:30]:
                if is_secret_name(key):
                    redactor.remember(item)


def module_of(frame):
    try:
        name = frame.f_globals.get("__name__", "")
    except Exception:
        return ""
    return name if isinstance(name, str) else ""


def chain_tracebacks(exc, limit=16):
    """The traceback entries of ``exc`` and of what it chains to, in the order of the descent.

    The outer exception's traceback runs from the user's line down to where the inner one was
    caught, so the path reads outer first, then its cause, then its context (also a context
    that ``raise ... from None`` hid: the parent decides whether to show it).
    """
    out = []  # type: list[list]
    seen = set()
    todo = [exc]
    while todo and len(out) < limit:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        entries = []
        tb = current.__traceback__
        while tb is not None:
            entries.append(tb)
            tb = tb.tb_next
        out.append(entries)
        todo[:0] = [current.__cause__, current.__context__]
    return out


def chain_arguments(exc, known_secrets=(), budget=BUDGET):
    """``{id(traceback entry): arguments}`` for the first frame of each module on the path.

    The child groups by module, an approximation of the parent's components (which may merge
    several modules into one); the parent shows the first frame of each component among these.
    Secret names are remembered across the whole chain first, so a password passed at the top
    is cut out of a repr lower down and the other way round.
    """
    redactor = Redactor(known_secrets)
    picked = []
    seen = set()
    for entries in chain_tracebacks(exc):
        for entry in entries:
            module = module_of(entry.tb_frame)
            if module in seen:
                continue
            seen.add(module)
            picked.append(entry)
    for entry in picked:
        remember_secret_arguments(entry.tb_frame, redactor)
    recorded = {}
    deadline = time.monotonic() + budget
    for entry in picked:
        if time.monotonic() > deadline:
            break
        arguments = frame_arguments(entry.tb_frame, redactor)
        if arguments:
            recorded[id(entry)] = arguments
    return recorded
