"""The capture data model: what a child reports, what the cache stores, what the renderer reads.

Plain frozen dataclasses with ``to_dict``/``from_dict`` so a :class:`Capture` survives a JSON
round trip exactly (the cache and the frozen platform captures are that JSON). Nothing here
imports Sphinx.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

SCHEMA_VERSION = 1

Outcome = Literal["raised", "returned", "timeout", "crashed", "missing-interpreter", "error"]
Origin = Literal["user", "stdlib", "site", "other"]


class SchemaError(ValueError):
    """A capture document that this reader cannot read (unknown schema, wrong shape)."""


@dataclass(frozen=True)
class Frame:
    """One entry of a traceback, as the interpreter printed it."""

    filename: str
    lineno: int | None
    name: str
    line: str = ""
    end_lineno: int | None = None
    colno: int | None = None
    end_colno: int | None = None
    module: str = ""
    qualname: str = ""
    origin: Origin = "other"
    stdlib_path: str = ""
    repeated: int = 0  # "[Previous line repeated N more times]" follows this frame
    #: What this layer was asked: (argument name, repr capped and redacted) of the frame's
    #: function, recorded for the first frame of each module on the path (child/arguments.py).
    arguments: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SyscallEvent:
    """One audited socket call (``sys.addaudithook``), with arguments already made printable."""

    event: str
    args: str


@dataclass(frozen=True)
class FlatError:
    """A lower error a library folded into its exception, read from the object (never the text).

    ``source`` says where it was read (``paramiko NoValidConnectionsError.errors``), ``where``
    the address or server it belongs to, ``detail`` grpc's debug string; ``same_as`` is
    ``cause``/``context`` when it is the very exception already chained (child/flattened.py).
    """

    source: str
    where: str = ""
    type: str = ""
    module: str = ""
    message: str = ""
    errno: int | None = None
    errno_name: str = ""
    detail: str = ""
    same_as: str = ""


@dataclass(frozen=True)
class ExceptionInfo:
    """One exception of a chain or group; ``cause``/``context``/``exceptions`` nest."""

    type: str
    module: str
    mro: tuple[str, ...] = ()
    message: str = ""
    header: str = ""  # the lines CPython prints for the exception itself ("Type: message", notes)
    errno: int | None = None
    errno_name: str = ""
    winerror: int | None = None
    strerror: str = ""
    filename: str = ""
    notes: tuple[str, ...] = ()
    frames: tuple[Frame, ...] = ()
    cause: ExceptionInfo | None = None
    context: ExceptionInfo | None = None
    suppress_context: bool = False
    exceptions: tuple[ExceptionInfo, ...] = ()
    formatted: str = ""  # the whole text CPython prints for this exception and its chain
    #: the same text with the colours CPython 3.13+ gives it (SGR codes), "" where it gives none
    colored: str = ""
    flattened: tuple[FlatError, ...] = ()  # per-address/per-server errors the library kept
    #: OpenSSL's certificate verify result (``ssl.SSLCertVerificationError``): 18 and
    #: "self-signed certificate", read from the exception's attributes in the child.
    verify_code: int | None = None
    verify_message: str = ""

    @property
    def qualified(self) -> str:
        return self.type if self.module in ("builtins", "") else f"{self.module}.{self.type}"

    def walk(self) -> list[ExceptionInfo]:
        """Every exception reachable from this one, in the order CPython prints them."""
        seen: list[ExceptionInfo] = []

        def visit(exc: ExceptionInfo) -> None:
            if any(e is exc for e in seen):
                return
            if exc.cause is not None:
                visit(exc.cause)
            elif exc.context is not None and not exc.suppress_context:
                visit(exc.context)
            seen.append(exc)
            for sub in exc.exceptions:
                visit(sub)

        visit(self)
        return seen


@dataclass(frozen=True)
class Step:
    """One statement of a ``repl`` transcript and what it printed."""

    source: str
    output: str = ""
    echo: str | None = None
    ran: bool = True
    raised: bool = False
    #: Whether the prompt waited for an empty line to run it (a compound statement), as the
    #: snippet's own interpreter parsed it; None in captures written before it was recorded.
    waits: bool | None = None


@dataclass(frozen=True)
class Platform:
    system: str = ""
    release: str = ""
    machine: str = ""
    libc: str = ""

    @property
    def pretty(self) -> str:
        names = {"Linux": "Linux", "Darwin": "macOS", "Windows": "Windows"}
        name = names.get(self.system, self.system or "unknown OS")
        if self.libc:
            return f"{name} ({self.libc})"
        if self.system == "Darwin" and self.release:
            return f"{name} ({self.release})"
        return name

    @property
    def key(self) -> str:
        """Short identifier used in file names and tab ids: ``linux``, ``darwin``, ``win32``."""
        return {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(
            self.system, self.system.lower() or "unknown"
        )


@dataclass(frozen=True)
class PythonInfo:
    implementation: str = "CPython"
    version: str = ""
    label: str = ""

    @property
    def pretty(self) -> str:
        return f"{self.implementation} {self.version}".strip()

    @property
    def short_version(self) -> str:
        """``3.11`` of ``3.11.7`` (or of the label when the version is unknown): the X.Y."""
        parts = (self.version or self.label or "0.0").split(".")
        return ".".join([*parts, "0"][:2])


@dataclass(frozen=True)
class Capture:
    """Everything one run of one snippet produced (schema version 1)."""

    code: str
    style: str = "repl"
    outcome: Outcome = "returned"
    schema: int = SCHEMA_VERSION
    platform: Platform = field(default_factory=Platform)
    python: PythonInfo = field(default_factory=PythonInfo)
    duration: float = 0.0
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    echo: str | None = None
    steps: tuple[Step, ...] = ()
    returncode: int | None = None
    signal: str = ""
    detail: str = ""  # why a timeout/crash/error happened, one line
    syscalls: tuple[SyscallEvent, ...] = ()
    exception: ExceptionInfo | None = None
    timeout: float | None = None
    # (name, version) of the installed distributions whose modules the snippet or its setup
    # imported, sorted: a capture is stale once one of them is upgraded
    distributions: tuple[tuple[str, str], ...] = ()
    # Not a recording: what a capture file written by hand (from documentation, for a platform
    # no machine has run yet) is based on. Pages say so on its tab; empty for every real run.
    reconstructed: str = ""

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        pruned: dict[str, Any] = _prune(self)
        return pruned

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Capture:
        if not isinstance(data, dict):
            raise SchemaError("a capture must be a JSON object")
        schema = data.get("schema", SCHEMA_VERSION)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION or schema < 1:
            raise SchemaError(f"unknown capture schema {schema!r} (this reader knows 1)")
        try:
            capture: Capture = _build(cls, data)
        except Exception as exc:  # anything a forged or damaged document can trigger
            raise SchemaError(f"malformed capture: {exc}") from None
        return capture

    @classmethod
    def from_json(cls, text: str | bytes) -> Capture:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SchemaError(f"not JSON: {exc}") from None
        return cls.from_dict(data)

    # -- convenience ---------------------------------------------------------------------

    def replace(self, **changes: Any) -> Capture:
        return dataclasses.replace(self, **changes)


_ALWAYS = frozenset({"code", "outcome", "schema"})


def _prune(value: Any) -> Any:
    """A JSON-ready copy of a dataclass tree without fields that hold their default value.

    Stored JSON stays small and diffs stay readable, and the round trip stays exact: only a
    field with a default can be left out (a required field such as an empty ``args`` or a
    ``None`` line number is always written), so ``from_dict`` rebuilds the same object.
    """
    cls = type(value)
    if cls in _SCALAR_TYPES:
        return value
    defaults = _defaults(cls)
    if defaults is not None:
        out = {}
        for name, has_default, default in defaults:
            item = getattr(value, name)
            if has_default and item == default:
                continue
            # most fields are strings and numbers: no call for them (a cache entry has ~150)
            out[name] = item if type(item) in _SCALAR_TYPES else _prune(item)
        return out
    if isinstance(value, list | tuple):
        return [item if type(item) in _SCALAR_TYPES else _prune(item) for item in value]
    if isinstance(value, dict):
        return {key: _prune(item) for key, item in value.items()}
    return value


#: What :func:`_prune` returns as it is, without looking further.
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})

#: Per dataclass: (field name, whether a default may be left out, the default), in order.
_DEFAULTS: dict[type, tuple[tuple[str, bool, Any], ...] | None] = {}


def _defaults(cls: type) -> tuple[tuple[str, bool, Any], ...] | None:
    try:
        return _DEFAULTS[cls]
    except KeyError:
        pass
    found = None
    if dataclasses.is_dataclass(cls):
        rows = []
        for f in dataclasses.fields(cls):
            if f.name in _ALWAYS:
                rows.append((f.name, False, None))
            elif f.default is not dataclasses.MISSING:
                rows.append((f.name, True, f.default))
            elif f.default_factory is not dataclasses.MISSING:
                rows.append((f.name, True, f.default_factory()))  # frozen values: safe to share
            else:
                rows.append((f.name, False, None))
        found = tuple(rows)
    _DEFAULTS[cls] = found
    return found


_NESTED = {
    "platform": Platform,
    "python": PythonInfo,
    "exception": ExceptionInfo,
    "cause": ExceptionInfo,
    "context": ExceptionInfo,
}
_SEQUENCES = {
    "frames": Frame,
    "steps": Step,
    "syscalls": SyscallEvent,
    "exceptions": ExceptionInfo,
    "flattened": FlatError,
}
#: Fields holding a list of string pairs: [name, version], a frame's [argument, repr].
_PAIRS = frozenset({"distributions", "arguments"})


#: What a scalar field may hold, by its annotation (the model's annotations are strings).
_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "Origin": (str,),
    "Outcome": (str,),
    "str | None": (str, type(None)),
    "int": (int,),
    "int | None": (int, type(None)),
    "float": (int, float),
    "float | None": (int, float, type(None)),
    "bool": (bool,),
    "bool | None": (bool, type(None)),
}

# How _build reads each field, decided once per dataclass (not by four lookups per key).
_NEST, _SEQUENCE, _PAIR, _SCALAR, _STRINGS = range(5)

#: Per dataclass: the defaults of its optional fields, its required ones, and for each field
#: how to read it (with the nested class, or a scalar's accepted types and exact types).
_Spec = tuple[dict[str, Any], frozenset[str], dict[str, tuple[int, Any, Any]]]
_SPECS: dict[type, _Spec] = {}


def _spec(cls: type) -> _Spec:
    spec = _SPECS.get(cls)
    if spec is None:
        defaults: dict[str, Any] = {}
        required = set()
        reads: dict[str, tuple[int, Any, Any]] = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                defaults[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                defaults[f.name] = f.default_factory()  # frozen values: safe to share
            else:
                required.add(f.name)
            if f.name in _NESTED:
                reads[f.name] = (_NEST, _NESTED[f.name], None)
            elif f.name in _SEQUENCES:
                reads[f.name] = (_SEQUENCE, _SEQUENCES[f.name], None)
            elif f.name in _PAIRS:
                reads[f.name] = (_PAIR, None, None)
            elif f.type in _SCALARS:
                allowed = _SCALARS[f.type]
                reads[f.name] = (_SCALAR, allowed, frozenset(allowed))
            else:  # tuple[str, ...]
                reads[f.name] = (_STRINGS, None, None)
        spec = _SPECS[cls] = (defaults, frozenset(required), reads)
    return spec


_T = TypeVar("_T")


def _build(cls: type[_T], data: dict[str, Any]) -> _T:
    """Make ``cls`` from a dict, ignoring unknown keys (a newer writer may add fields).

    Reading the cache makes thousands of these per build, so the frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field) is bypassed: the instance dict is filled
    from the defaults and the data in one step. Missing required fields still fail.
    """
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} must be an object, not {type(data).__name__}")
    defaults, required, reads = _spec(cls)
    values = dict(defaults)
    for key, raw in data.items():
        read = reads.get(key)
        if read is None:
            continue
        how, arg, exact = read
        if how == _SCALAR:
            # JSON gives exact types: a set lookup; anything else (a bool where only int
            # is allowed, a subclass) is judged by isinstance as before
            if type(raw) not in exact and (
                not isinstance(raw, arg) or (isinstance(raw, bool) and bool not in arg)
            ):
                raise TypeError(f"{cls.__name__}.{key} has the wrong type ({type(raw).__name__})")
            values[key] = raw
        elif how == _NEST:
            values[key] = None if raw is None else _build(arg, raw)
        elif how == _SEQUENCE:
            if not isinstance(raw, list | tuple):
                raise TypeError(f"{cls.__name__}.{key} must be a list")
            values[key] = tuple([_build(arg, item) for item in raw])
        elif how == _PAIR:
            values[key] = _pairs(cls, key, raw)
        else:
            if not isinstance(raw, list | tuple) or not all(isinstance(i, str) for i in raw):
                raise TypeError(f"{cls.__name__}.{key} must be a list of strings")
            values[key] = tuple(raw)
    if not required.issubset(values):
        missing = ", ".join(sorted(required - values.keys()))
        raise TypeError(f"{cls.__name__} needs {missing}")
    instance: _T = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


def _pairs(cls: type, key: str, raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list | tuple) or not all(
        isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(i, str) for i in pair)
        for pair in raw
    ):
        raise TypeError(f"{cls.__name__}.{key} must be a list of [name, value] pairs")
    return tuple((pair[0], pair[1]) for pair in raw)
