"""Which network layer each traceback frame belongs to.

Layers are assigned at render time, never stored in a capture, so a change to the map (or an
author's ``layertrace_layers``) relabels old captures without re-running anything. The key is the
frame's module name as the child recorded it (``f_globals['__name__']``), which is exact even for
frozen modules and for libraries that copy stdlib function names (urllib3 has its own
``create_connection``). Pure data and lookups: no Sphinx, no processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sphinx_layertrace.meaning import stacks
from sphinx_layertrace.meaning.stacks import is_glue, longest
from sphinx_layertrace.model import Frame

LAYERS: tuple[str, ...] = ("user", "application", "tls", "transport", "os", "library")

LAYER_DESCRIPTIONS: dict[str, str] = {
    "user": "the snippet's own code",
    "application": "a protocol client or server (SMTP, HTTP, FTP, ...)",
    "tls": "encryption and certificate checks (TLS/SSL, SSH)",
    "transport": "sockets, name resolution and the event loop that drives them",
    "os": "the operating system's answer (a system call or C library function)",
    "library": "any other module: helpers that are neither user code nor networking",
}

# Module prefix -> layer. The longest dotted prefix wins, so specific submodules (for example
# urllib3.util.connection, which opens the socket itself) override their package's default.
DEFAULT_LAYERS: dict[str, str] = {
    # Standard library: application protocols (removed modules stay for old interpreters).
    "smtplib": "application",
    "smtpd": "application",
    "http.client": "application",
    "http.server": "application",
    "http.cookiejar": "application",
    "urllib": "application",
    "urllib.request": "application",
    "urllib.error": "application",
    "ftplib": "application",
    "imaplib": "application",
    "poplib": "application",
    "nntplib": "application",
    "telnetlib": "application",
    "xmlrpc": "application",
    "email": "application",
    "socketserver": "application",
    "wsgiref": "application",
    "asyncore": "application",
    "asynchat": "application",
    # Standard library: TLS.
    "ssl": "tls",
    "asyncio.sslproto": "tls",
    # Standard library: transport (sockets, readiness, the event loop).
    "socket": "transport",
    "selectors": "transport",
    "select": "transport",
    "asyncio": "transport",
    # Third party (domain.md 1.1): requests/urllib3.
    "requests": "application",
    "urllib3": "application",
    "urllib3.util.connection": "transport",
    "urllib3.util.ssl_": "tls",
    "urllib3.util.ssltransport": "tls",
    "urllib3.contrib.pyopenssl": "tls",
    # httpx/httpcore and the sans-IO protocol libraries.
    "httpx": "application",
    "httpcore": "application",
    "httpcore._backends": "transport",
    "h11": "application",
    "h2": "application",
    "anyio._backends": "transport",
    # aiohttp and friends.
    "aiohttp": "application",
    "aiohttp.resolver": "transport",
    "aiohappyeyeballs": "transport",
    # Other clients.
    "websockets": "application",
    "grpc": "application",
    "paramiko": "application",
    "paramiko.transport": "tls",
    "paramiko.channel": "tls",
    "dns": "application",
    "dns.query": "transport",
    "dns.asyncquery": "transport",
    "dns.nameserver": "transport",
}

# Display-path placeholders the worker puts in front of masked paths; what follows them is a
# module path, which is the best guess when a frame has no module name.
_PATH_ROOTS = ("<stdlib>", "<site-packages>", "<docs>")


#: A ``layertrace_layers`` value: a layer, or a ``(layer, component)`` pair.
Override = str | tuple[str, str]

# Dotted standard-library families that are one component each (the rest: the top-level module,
# so ``asyncio.base_events`` is ``asyncio`` and ``socket`` is ``socket``).
_STDLIB_COMPONENTS: dict[str, str] = {
    name: name
    for name in (
        "http.client",
        "http.server",
        "http.cookiejar",
        "urllib.request",
        "urllib.error",
        "urllib.parse",
        "xmlrpc.client",
        "xmlrpc.server",
        "concurrent.futures",
    )
}


def _built_in() -> tuple[dict[str, str], dict[str, str], frozenset[tuple[str, str]]]:
    """(layers, components, glue) of the stdlib defaults and the built-in third-party stacks
    (``meaning/stacks.py``: ``STACKS``, ``GLUE``, ``STDLIB_COMPONENTS``)."""
    maps = stacks.STACKS
    layers = {**DEFAULT_LAYERS, **{prefix: pair[0] for prefix, pair in maps.items()}}
    components = {**_STDLIB_COMPONENTS, **stacks.STDLIB_COMPONENTS}
    components.update({prefix: pair[1] for prefix, pair in maps.items()})
    return layers, components, frozenset(stacks.GLUE)


@dataclass(frozen=True)
class Place:
    """Where a frame sits: its layer, its component (``urllib3 pool``), whether it is glue."""

    layer: str
    component: str = ""
    glue: bool = False  # only passes an exception on (contextlib.__exit__, map_exceptions)


@dataclass(frozen=True)
class LayerMap:
    """Module prefix -> layer and component: the defaults, the built-in stacks, the author's.

    Plain dicts so the map pickles (Sphinx may keep it on the environment); never mutated.
    """

    prefixes: dict[str, str] = field(default_factory=lambda: _built_in()[0], hash=False)
    components: dict[str, str] = field(default_factory=lambda: _built_in()[1], hash=False)
    glue: frozenset[tuple[str, str]] = field(default_factory=lambda: _built_in()[2])
    #: (module, function) -> place, filled as frames are placed: a page's tracebacks repeat
    #: the same few dozen functions, and three prefix walks per frame add up.
    _places: dict[tuple[str, str], Place] = field(
        default_factory=dict, hash=False, compare=False, repr=False
    )

    @classmethod
    def build(cls, overrides: Mapping[str, Override] | None = None) -> LayerMap:
        """Defaults, built-in stacks, then ``overrides``; a bad entry raises ``ValueError``."""
        layers, components, glue = _built_in()
        if overrides is not None:
            if not isinstance(overrides, Mapping):
                raise ValueError(
                    "layertrace_layers must be a dict of module prefix -> layer or "
                    f"(layer, component), not {type(overrides).__name__}"
                )
            for prefix, value in overrides.items():
                layer, component = _override(prefix, value)
                layers[prefix] = layer
                if component:
                    components[prefix] = component
        return cls(layers, components, glue)

    def layer_of_module(self, module: str) -> str | None:
        """Longest dotted-prefix match: ``asyncio`` covers ``asyncio.tasks``, not ``asynciox``."""
        return longest(self.prefixes, module)

    def layer_of(self, frame: Frame) -> str:
        return self.place(frame).layer

    def place(self, frame: Frame) -> Place:
        """The frame's layer, component and glue mark; the user's code is ``user`` alone."""
        if frame.origin == "user":
            return _USER
        module = _module_of(frame)
        key = (module, frame.name)
        found = self._places.get(key)
        if found is None:
            layer = self.layer_of_module(module) or "library"
            component = longest(self.components, module) or module.partition(".")[0]
            found = Place(layer, component, is_glue(module, frame.name, self.glue))
            self._places[key] = found
        return found


_USER = Place("user")


def _module_of(frame: Frame) -> str:
    if frame.module:
        return frame.module
    if frame.stdlib_path:
        return module_from_path(frame.stdlib_path, relative=True)
    return module_from_path(frame.filename)


def _override(prefix: object, value: object) -> tuple[str, str]:
    """(layer, component) of one ``layertrace_layers`` entry, or ``ValueError`` naming it."""
    if not isinstance(prefix, str) or not _is_dotted(prefix):
        raise ValueError(f"layertrace_layers: {prefix!r} is not a module name or dotted prefix")
    layer, component = value, ""
    if isinstance(value, tuple | list):
        if len(value) != 2 or not all(isinstance(part, str) and part for part in value):
            raise ValueError(
                f"layertrace_layers: {prefix!r} maps to {value!r}; "
                "a pair must be (layer, component), two non-empty strings"
            )
        layer, component = value
    if layer not in LAYERS:
        raise ValueError(
            f"layertrace_layers: {prefix!r} maps to unknown layer {layer!r} "
            f"(choose one of {', '.join(LAYERS)})"
        )
    return str(layer), str(component)


def module_from_path(path: str, *, relative: bool = False) -> str:
    """Best-effort module name from a display path: ``<stdlib>/http/client.py`` -> ``http.client``.

    Used only for frames recorded without a module name (older captures, hand-written files).
    ``relative`` says the path is already relative to its root (a frame's ``stdlib_path``).
    """
    if not path:
        return ""
    if path.startswith("<frozen ") and path.endswith(">"):
        return path[len("<frozen ") : -1]
    if path.startswith("<") and not path.startswith(_PATH_ROOTS):
        return ""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    for index, part in enumerate(parts):
        if part in _PATH_ROOTS or part in ("site-packages", "dist-packages", "Lib"):
            parts = parts[index + 1 :]
            break
    else:
        if not relative:
            parts = parts[-1:]  # unknown root: only the file name means anything
    if not parts or not parts[-1].endswith(".py"):
        return ""
    parts[-1] = parts[-1][:-3]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))
