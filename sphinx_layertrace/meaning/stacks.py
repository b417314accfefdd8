"""Components and glue of real network stacks: which part of which library a frame belongs to.

A layer says *what kind* of work a frame does (application, tls, transport, ...); a component says
*whose* code it is, in words a reader of that library knows (``urllib3 pool``, ``httpcore
connection``). The picture of a failure draws its path component by component, so requests'
pool, connection and HTTP client can be told apart although all three are ``application``.

Every entry was written from a real capture on loopback (closed ports 127.0.0.1:9, a loopback
TLS server with a self-signed certificate, a closed UDP port as the only nameserver, garbage on
a loopback TCP port), on Linux, CPython 3.11.7, with these versions:

    requests 2.34.2, urllib3 2.8.0, httpx 0.28.1, httpcore 1.0.9, h11 0.16.0, anyio 4.16.0,
    aiohttp 3.14.5, aiohappyeyeballs 2.7.1, websockets 17.4, paramiko 5.1.0, dnspython 2.9.2,
    grpcio 1.85.3

``tests/test_stacks.py`` runs those captures again and fails when an entry is no longer the
match of some captured frame (a stale entry is a guess). Prefixes are dotted module names; the
longest one wins, as in ``meaning.layers``. A library module outside these tables keeps the
layer of ``DEFAULT_LAYERS`` and gets its top-level package as component.

Pure tables: nothing here imports more than typing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final, TypeVar

_V = TypeVar("_V")

#: Module prefix -> (layer, component) for third-party network libraries.
STACKS: Final[dict[str, tuple[str, str]]] = {
    # requests: api.get -> sessions.Session.request/send -> adapters.HTTPAdapter.send, where
    # urllib3's errors become requests.exceptions.* (raised while handling: context).
    "requests": ("application", "requests"),
    # urllib3: the pool (PoolManager, HTTPConnectionPool.urlopen, Retry.increment), the HTTP
    # connection (an http.client.HTTPConnection subclass), the socket it opens, its TLS wrapper.
    "urllib3": ("application", "urllib3"),
    "urllib3._request_methods": ("application", "urllib3 pool"),
    "urllib3.poolmanager": ("application", "urllib3 pool"),
    "urllib3.connectionpool": ("application", "urllib3 pool"),
    "urllib3.util.retry": ("application", "urllib3 pool"),
    "urllib3.connection": ("application", "urllib3 connection"),
    "urllib3.util.connection": ("transport", "urllib3 socket"),
    "urllib3.util.ssl_": ("tls", "urllib3 TLS"),
    # httpx: the client API, then the transport that maps httpcore's errors to httpx's own.
    "httpx": ("application", "httpx"),
    "httpx._transports": ("application", "httpx transport"),
    # httpcore: pool -> connection -> HTTP/1.1, over a network backend (sync sockets or anyio).
    "httpcore": ("application", "httpcore"),
    "httpcore._sync.connection_pool": ("application", "httpcore pool"),
    "httpcore._async.connection_pool": ("application", "httpcore pool"),
    "httpcore._sync.connection": ("application", "httpcore connection"),
    "httpcore._async.connection": ("application", "httpcore connection"),
    "httpcore._sync.http11": ("application", "httpcore HTTP/1.1"),
    "httpcore._backends": ("transport", "httpcore backend"),
    # anyio: connect_tcp tries each address and raises OSError('All connection attempts failed')
    # from the last error.
    "anyio": ("transport", "anyio"),
    # aiohttp: ClientSession._request -> the connector, which opens connections through
    # aiohappyeyeballs and turns an OSError into ClientConnectorError (cause).
    "aiohttp.client": ("application", "aiohttp client"),
    "aiohttp.connector": ("application", "aiohttp connector"),
    "aiohappyeyeballs": ("transport", "aiohappyeyeballs"),
    # websockets: both clients let the OSError of the connect through unwrapped.
    "websockets.asyncio.client": ("application", "websockets client"),
    "websockets.sync.client": ("application", "websockets client"),
    # paramiko: SSHClient.connect (collects per-address errors into NoValidConnectionsError),
    # then the SSH transport and its packetizer, the secure channel.
    "paramiko.client": ("application", "paramiko client"),
    "paramiko.transport": ("tls", "paramiko transport"),
    "paramiko.packet": ("tls", "paramiko transport"),
    # dnspython: the resolver flattens each server's error into its message; dns.query sends.
    "dns.resolver": ("application", "dnspython resolver"),
    "dns.query": ("transport", "dnspython query"),
    # grpc: the channel raises _InactiveRpcError; the connect happened in the C core.
    "grpc._channel": ("application", "grpc channel"),
}

#: Module prefix -> component for the standard library (the layer stays ``DEFAULT_LAYERS``').
STDLIB_COMPONENTS: Final[dict[str, str]] = {
    "socket": "socket",
    "ssl": "ssl",
    "selectors": "selectors",
    "asyncio": "asyncio",
    "contextlib": "contextlib",
    "http.client": "http.client",
    "urllib.request": "urllib.request",
    "smtplib": "smtplib",
    "ftplib": "ftplib",
    "imaplib": "imaplib",
    "poplib": "poplib",
    "xmlrpc.client": "xmlrpc.client",
}

#: (module prefix, function name) of frames that only pass an exception on: a context manager's
#: exit that re-raises, an exception-mapping helper, a re-raise helper, the event loop's
#: plumbing between ``asyncio.run`` and the coroutine. They keep their layer and fold first.
GLUE: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        # @contextmanager's __exit__ throws the exception into the generator (httpx, httpcore).
        ("contextlib", "__exit__"),
        # httpcore: `with map_exceptions({OSError: ConnectError})` -> raise to_exc(exc) from exc.
        ("httpcore._exceptions", "map_exceptions"),
        # httpx: the same mapping one level up, httpcore.ConnectError -> httpx.ConnectError.
        ("httpx._transports.default", "map_httpcore_exceptions"),
        # urllib3 with retries=False: Retry.increment re-raises the original error through it.
        ("urllib3.util.util", "reraise"),
        # asyncio.run -> Runner.run -> run_until_complete -> future.result().
        ("asyncio.runners", "run"),
        ("asyncio.base_events", "run_until_complete"),
    }
)


def prefixes(module: str) -> Iterator[str]:
    """``a.b.c``, ``a.b``, ``a``: a module's dotted prefixes, longest first (tables match the
    longest one, so a submodule's entry overrides its package's)."""
    name = module
    while name:
        yield name
        name = name.rpartition(".")[0]


def longest(table: Mapping[str, _V], module: str) -> _V | None:
    """The entry of ``table`` for the longest dotted prefix of ``module``, else None."""
    return next((table[name] for name in prefixes(module) if name in table), None)


def component_of_module(module: str) -> tuple[str, str] | None:
    """``(layer, component)`` of the longest matching prefix in :data:`STACKS`, else None."""
    return longest(STACKS, module)


def stdlib_component(module: str) -> str | None:
    """Component of a standard-library module by longest prefix, else None."""
    return longest(STDLIB_COMPONENTS, module)


def is_glue(module: str, function: str, glue: frozenset[tuple[str, str]] = GLUE) -> bool:
    """Whether a frame of ``module`` running ``function`` only passes an exception on.

    ``function`` is the code object's plain name (``__exit__``, not the qualified
    ``_GeneratorContextManager.__exit__``); the module matches by dotted prefix.
    """
    return any((name, function) in glue for name in prefixes(module))
