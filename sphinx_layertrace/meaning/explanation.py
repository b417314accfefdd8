"""One capture explained, once: the value every renderer, the CLI and ``check`` read.

A :class:`Capture` says what happened; an :class:`Explanation` says what it means, worked out
in one place from the capture and the meaning tables: each frame's layer and source link, which
exception carries the OS's code, the call that answered, the codes explained, and the summary
the stack picture shows. No renderer works any of this out again, so HTML, text, LaTeX and the
terminal cannot disagree. Pure: no Sphinx, no processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sphinx_layertrace.meaning.carrier import failing_beneath, last_carrier
from sphinx_layertrace.meaning.codes import CodeExplanation, explain
from sphinx_layertrace.meaning.descent import Conversion, call_name, descend
from sphinx_layertrace.meaning.kernel import KernelCall, kernel_call_for
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.meaning.links import source_url
from sphinx_layertrace.meaning.tables import DEFAULT_ERRNO_URL
from sphinx_layertrace.model import Capture, ExceptionInfo, Frame

#: Where a traceback line points: (file as printed, line number, function name).
Location = tuple[str, int | None, str]


@dataclass(frozen=True)
class FrameMeaning:
    """One frame of the traceback and what it is: layer, component, glue, where its source is."""

    frame: Frame
    layer: str
    href: str = ""  # the CPython source line, for stdlib frames of a tagged release
    component: str = ""  # "urllib3 pool", "socket"; "" for the user's own code
    glue: bool = False  # only passes an exception on: folded first

    @property
    def label(self) -> str:
        """``application · urllib3 pool``: the layer, and the component when there is one."""
        return f"{self.layer} · {self.component}" if self.component else self.layer

    @property
    def call(self) -> str:
        """``smtplib.SMTP.connect`` (the user's own functions without a module)."""
        return call_name(self.frame)


@dataclass(frozen=True)
class StackEntry:
    """One row of the stack picture: a component and the calls the path passed through in it."""

    layer: str
    calls: tuple[str, ...]
    component: str = ""
    #: What this layer was asked: ``get(url='http://127.0.0.1:9/', ...)``, from the arguments the
    #: child recorded for the component's first frame (redacted there); the kernel row's call
    #: is already what the audit hook saw.
    asked: str = ""

    @property
    def label(self) -> str:
        return f"{self.layer} · {self.component}" if self.component else self.layer


@dataclass(frozen=True)
class FlatRow:
    """One lower error read from an exception object (``NoValidConnectionsError.errors``)."""

    source: str  # where it was read: "paramiko NoValidConnectionsError.errors"
    where: str  # the address or server it belongs to, or ""
    error: str  # "ConnectionRefusedError: [Errno 111] Connection refused (ECONNREFUSED)"


@dataclass(frozen=True)
class Explanation:
    """Everything a page, a terminal or ``check`` says about one capture beyond its text."""

    capture: Capture
    #: Every frame of every exception CPython prints, in print order (repeats included).
    frames: tuple[FrameMeaning, ...] = ()
    #: The last printed exception with an errno/WinError: the kernel row goes above its header.
    carrier: ExceptionInfo | None = None
    #: The exception whose frames reached the OS (the carrier, or a same-code one beneath it).
    answered: ExceptionInfo | None = None
    kernel: KernelCall | None = None
    codes: tuple[CodeExplanation, ...] = ()
    #: The stack picture: the path across the whole chain, by component, top (the user's
    #: call) to bottom (whoever answered).
    stack: tuple[StackEntry, ...] = ()
    #: The way back up, bottom to top: each exception caught and the one raised instead.
    conversions: tuple[Conversion, ...] = ()
    #: Lower errors a library folded into an exception of the chain, read from the object.
    flattened: tuple[FlatRow, ...] = ()
    _by_location: dict[Location, FrameMeaning] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def exception(self) -> ExceptionInfo | None:
        return self.capture.exception

    def frame_at(self, location: Location) -> FrameMeaning | None:
        """The frame a ``File "...", line N, in f`` line of the text names (its first one)."""
        return self._by_location.get(location)

    @property
    def code_label(self) -> str:
        """``errno 111 ECONNREFUSED``, ``WinError 10061`` or ``no errno``: the carried code."""
        carrier = self.carrier
        if carrier is None:
            return "no errno"
        if carrier.winerror is not None:
            return f"WinError {carrier.winerror}"
        name = f" {carrier.errno_name}" if carrier.errno_name else ""
        return f"errno {carrier.errno}{name}"

    @property
    def layers_crossed(self) -> tuple[str, ...]:
        """Layers in the order the failure went down through them, ``os`` last when it answered."""
        out = list(dict.fromkeys(meaning.layer for meaning in self.frames))
        if self.carrier is not None and "os" not in out:
            out.append("os")
        return tuple(out)


def explain_capture(
    capture: Capture,
    layers: LayerMap,
    *,
    source_links: bool = True,
    errno_url: str = "",
) -> Explanation:
    """The one explanation of ``capture`` under ``layers``, built once per capture shown."""
    exc = capture.exception
    if exc is None:
        return Explanation(capture)
    chain = exc.walk()
    # keyed by identity: hashing a frame hashes every field of it (its arguments included), and
    # the frames outlive this call inside ``capture``
    meanings: dict[int, FrameMeaning] = {}

    def meaning(frame: Frame) -> FrameMeaning:
        found = meanings.get(id(frame))
        if found is None:
            href = (source_url(frame, capture.python) or "") if source_links else ""
            place = layers.place(frame)
            found = FrameMeaning(frame, place.layer, href, place.component, place.glue)
            meanings[id(frame)] = found
        return found

    frames = tuple(meaning(frame) for item in chain for frame in item.frames)
    by_location: dict[Location, FrameMeaning] = {}
    for item in frames:
        by_location.setdefault((item.frame.filename, item.frame.lineno, item.frame.name), item)
    carrier = last_carrier(chain)  # the chain is walked once, here
    answered = failing_beneath(exc, carrier)
    kernel = kernel_call_for(capture, answered)
    descent = descend(exc)
    path = [meaning(frame) for frame in descent.frames]
    return Explanation(
        capture=capture,
        frames=frames,
        carrier=carrier,
        answered=answered,
        kernel=kernel,
        codes=_codes(chain, capture, errno_url or DEFAULT_ERRNO_URL),
        stack=_stack(path, kernel),
        conversions=descent.conversions,
        flattened=_flattened(descent.chain),
        _by_location=by_location,
    )


def _codes(
    chain: list[ExceptionInfo], capture: Capture, errno_url: str
) -> tuple[CodeExplanation, ...]:
    out: list[CodeExplanation] = []
    for item in chain:
        for found in explain(item, capture.platform, errno_url):
            if found not in out:
                out.append(found)
    return tuple(out)


def _stack(path: list[FrameMeaning], kernel: KernelCall | None) -> tuple[StackEntry, ...]:
    """The components the path crossed, top (the user's call) to bottom (whoever answered)."""
    entries: list[StackEntry] = []
    for meaning in path:
        call = meaning.call
        last = entries[-1] if entries else None
        if last is not None and (last.layer, last.component) == (meaning.layer, meaning.component):
            calls = last.calls if call in last.calls else (*last.calls, call)
            asked = last.asked or asked_of(meaning.frame)
            entries[-1] = StackEntry(last.layer, calls, last.component, asked)
        else:
            entries.append(
                StackEntry(meaning.layer, (call,), meaning.component, asked_of(meaning.frame))
            )
    if kernel is not None:
        entries.append(StackEntry(kernel.layer, (kernel.call,), kernel.component))
    return tuple(entries)


def asked_of(frame: Frame) -> str:
    """``create_connection(address=('127.0.0.1', 9), timeout=2)``, or "" without arguments."""
    # the instance a method runs on says nothing the component's name does not (and its repr
    # is an address that changes with every run)
    arguments = [(n, v) for n, v in frame.arguments if n not in ("self", "cls")]
    if not arguments:
        return ""
    shown = ", ".join(f"{name}={value}" for name, value in arguments)
    return f"{frame.name}({shown})"


def _flattened(chain: tuple[ExceptionInfo, ...]) -> tuple[FlatRow, ...]:
    """The rows libraries kept on their exceptions; one already chained is not shown twice."""
    rows: list[FlatRow] = []
    for exc in chain:
        for flat in exc.flattened:
            if flat.same_as:
                continue
            name = flat.type if flat.module in ("", "builtins") else f"{flat.module}.{flat.type}"
            error = f"{name}: {flat.message}" if flat.message else name
            if flat.errno_name and flat.errno_name not in error:
                error += f" ({flat.errno_name})"
            rows.append(FlatRow(flat.source, flat.where, error))
    return tuple(rows)
