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


@dataclass(frozen=True)
class LayerMap:
    """Module prefix -> layer, the defaults merged with an author's ``layertrace_layers``."""

    # A plain dict so the map pickles (Sphinx may keep it on the environment); never mutated.
    prefixes: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LAYERS), hash=False)

    @classmethod
    def build(cls, overrides: Mapping[str, str] | None = None) -> LayerMap:
        """Defaults plus ``overrides``; a bad entry raises ``ValueError`` naming it."""
        merged = dict(DEFAULT_LAYERS)
        if overrides is None:
            return cls(merged)
        if not isinstance(overrides, Mapping):
            raise ValueError(
                f"layertrace_layers must be a dict of module prefix -> layer, "
                f"not {type(overrides).__name__}"
            )
        for prefix, layer in overrides.items():
            if not isinstance(prefix, str) or not _is_dotted(prefix):
                raise ValueError(
                    f"layertrace_layers: {prefix!r} is not a module name or dotted prefix"
                )
            if layer not in LAYERS:
                raise ValueError(
                    f"layertrace_layers: {prefix!r} maps to unknown layer {layer!r} "
                    f"(choose one of {', '.join(LAYERS)})"
                )
            merged[prefix] = layer
        return cls(merged)

    def layer_of_module(self, module: str) -> str | None:
        """Longest dotted-prefix match: ``asyncio`` covers ``asyncio.tasks``, not ``asynciox``."""
        name = module
        while name:
            layer = self.prefixes.get(name)
            if layer is not None:
                return layer
            name = name.rpartition(".")[0]
        return None

    def layer_of(self, frame: Frame) -> str:
        if frame.origin == "user":
            return "user"
        module = frame.module
        if not module and frame.stdlib_path:
            module = module_from_path(frame.stdlib_path, relative=True)
        elif not module:
            module = module_from_path(frame.filename)
        return self.layer_of_module(module) or "library"


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
