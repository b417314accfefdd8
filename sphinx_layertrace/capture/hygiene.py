"""What the parent does to every string a child reports, before anything renders it.

The child already maps its own paths to placeholders; the parent trusts nothing and adds what
only it knows: secret values of its environment, its home and docs directories. Order matters:
redact, make the text valid, strip terminal escapes, escape other controls, redact again, mask.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sphinx_layertrace.child.protocol import ADDRESS, ADDRESS_MASK

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASS|KEY|AUTH|COOKIE|CREDENTIAL", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_SGR = re.compile(r"(\x1b\[[0-9;]*m)")  # colour codes: kept in the "colored" traceback only
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_UNTOUCHED_KEYS = frozenset({"code", "source", "schema"})
MIN_SECRET = 6  # shorter values are ordinary words more often than secrets
# In ASCII-only JSON text (what the worker writes), every string that ``Hygiene.text`` would
# change shows one of these: a control character (C0 but \n, \r, \t; DEL; C1) is escaped as
# \b, \f or \u00XX, a lone surrogate as \udXXX, and an address is 0x and 8+ hex digits.
# Other escapes (``\u2026``, the ellipsis the child itself puts where it masked an address) and
# a masked ``0x…`` leave nothing to clean: every network capture has one, in ``repr(timeout)``.
_JSON_NEEDS_CLEANING = re.compile(
    rb"\\u(?:00[01][0-9a-fA-F]|007[fF]|00[89][0-9a-fA-F]|[dD][89a-fA-F])|\\[bf]|0x[0-9a-fA-F]{8}"
)
_AS_IS = frozenset({int, float, bool, type(None)})  # what clean() returns untouched
_JSON_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII that JSON writes as it is


def secret_values(environ: Mapping[str, str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Values of secret-looking variables and the ``extra`` ones (values the author passed to
    snippets), longest first so overlapping ones redact fully."""
    values = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET}
    values.update(v for v in extra if len(v) >= MIN_SECRET)
    return tuple(sorted(values, key=len, reverse=True))


def default_path_labels(extra: Iterable[tuple[str, str]] = ()) -> tuple[tuple[str, str], ...]:
    """The build machine's own places: what a worker's dying words may mention (the child maps
    the target interpreter's paths itself)."""
    import site
    import sys
    import tempfile

    places = [
        *extra,
        *((path, "<site-packages>") for path in site.getsitepackages()),
        (os.path.dirname(os.path.abspath(__file__)), "<layertrace>"),
        (sys.prefix, "<prefix>"),
        (sys.base_prefix, "<prefix>"),
        (tempfile.gettempdir(), "<tmp>"),
        (os.path.expanduser("~"), "~"),
    ]
    pairs = set()
    for path, label in places:
        if path and path not in ("/", "."):
            pairs.add((path, label))
            pairs.add((os.path.realpath(path), label))
    return tuple(sorted(pairs, key=lambda p: len(p[0]), reverse=True))


@dataclass(frozen=True)
class Hygiene:
    """A reusable cleaner: ``Hygiene.from_environment(...).clean(data)``."""

    secrets: tuple[str, ...] = ()
    paths: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        paths: Iterable[tuple[str, str]] = (),
        secrets: Iterable[str] = (),
    ) -> Hygiene:
        environ = os.environ if environ is None else environ
        return cls(secret_values(environ, secrets), default_path_labels(paths))

    def needed(self, raw: bytes) -> bool:
        """Whether cleaning could change any string of this JSON text (False: skip ``clean``).

        A fast, conservative look at the bytes: True whenever in doubt (a non-ASCII document,
        a secret or path that JSON would escape, or any of them appearing at all).
        """
        if not raw.isascii() or _JSON_NEEDS_CLEANING.search(raw):
            return True
        return any(needle is None or needle in raw for needle in self._needles())

    def _needles(self) -> tuple[bytes | None, ...]:
        needles = self.__dict__.get("_needles_cache")
        if needles is None:
            words = list(self.secrets) + [path for path, _ in self.paths if path]
            needles = tuple(
                w.encode("ascii") if w.isascii() and _JSON_PLAIN.fullmatch(w) else None
                for w in words
            )
            object.__setattr__(self, "_needles_cache", needles)
        return needles

    def text(self, text: str) -> str:
        # Secrets go first as they are (one holding a control or a surrogate would be shown in
        # its escaped spelling otherwise) and again after the escapes are gone (``to\x1b[0mken``)
        text = self._redact(text)
        if not text.isascii():  # only non-ASCII text can hold lone surrogates
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        if _CONTROLS.search(text):  # every terminal escape starts with ESC, itself a control
            text = self._redact(_ANSI.sub("", text))
            text = _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
        text = self._redact(text)
        for path, label in self.paths:
            if path and path in text:
                text = text.replace(path, label)
        return ADDRESS.sub(ADDRESS_MASK, text) if "0x" in text else text

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def colored(self, text: str) -> str:
        """A traceback with CPython's colours: each run between two colour codes is cleaned
        like any text, the codes stay (render turns them into classes, or drops them)."""
        pieces = _SGR.split(text)
        return "".join(p if n % 2 else self.text(p) for n, p in enumerate(pieces))

    def clean(self, value: Any, key: str = "") -> Any:
        """Clean every string in a JSON-like structure, leaving the author's code alone."""
        if isinstance(value, str):
            if key == "colored":
                return self.colored(value)
            return value if key in _UNTOUCHED_KEYS else self.text(value)
        # numbers, booleans and None come back as they are: no call for them
        if isinstance(value, dict):
            return {k: v if type(v) in _AS_IS else self.clean(v, k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [item if type(item) in _AS_IS else self.clean(item, key) for item in value]
        return value
