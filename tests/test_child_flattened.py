"""child/flattened.py reads lower errors from real exception objects raised on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import pytest
from caught import raised

from sphinx_layertrace.child.flattened import flattened


def closed_udp_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_paramiko_errors_per_address():
    paramiko = pytest.importorskip("paramiko")
    client = paramiko.SSHClient()
    exc = raised(lambda: client.connect("127.0.0.1", port=9, timeout=2))
    rows = flattened(exc)
    assert rows == [
        {
            "source": "paramiko NoValidConnectionsError.errors",
            "where": "127.0.0.1:9",
            "type": "ConnectionRefusedError",
            "module": "builtins",
            "message": "[Errno 111] Connection refused",
            "errno": 111,
            "errno_name": "ECONNREFUSED",
        }
    ]
    json.dumps(rows)


def test_aiohttp_os_error_is_the_cause():
    aiohttp = pytest.importorskip("aiohttp")

    async def main():
        async with aiohttp.ClientSession() as session:
            await session.get("http://127.0.0.1:9/")

    exc = raised(lambda: asyncio.run(main()))
    (row,) = flattened(exc)
    assert row["source"] == "aiohttp ClientConnectorError.os_error"
    assert row["where"] == "127.0.0.1:9"
    assert (row["type"], row["errno_name"]) == ("ConnectionRefusedError", "ECONNREFUSED")
    assert row["same_as"] == "cause"  # aiohttp raises it `from exc` too


def test_dnspython_lifetime_timeout_per_server():
    resolver_mod = pytest.importorskip("dns.resolver")
    resolver = resolver_mod.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port = closed_udp_port()
    resolver.lifetime = 0.6
    exc = raised(lambda: resolver.resolve("example.test", "A"))
    rows = flattened(exc)
    assert rows
    assert {r["source"] for r in rows} == {"dnspython LifetimeTimeout.kwargs['errors']"}
    assert rows[0]["where"] == f"Do53:127.0.0.1@{port} (UDP port {port})"
    assert (rows[0]["module"], rows[0]["type"]) == ("dns.exception", "Timeout")


def test_dnspython_no_nameservers_over_tcp():
    resolver_mod = pytest.importorskip("dns.resolver")
    resolver = resolver_mod.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = 9
    resolver.lifetime = 2
    exc = raised(lambda: resolver.resolve("example.test", "A", tcp=True))
    assert type(exc).__name__ == "NoNameservers"
    (row,) = flattened(exc)
    assert row["where"] == "Do53:127.0.0.1@9 (TCP port 9)"
    assert row["errno_name"] == "ECONNREFUSED"


def test_dnspython_servfail_is_an_answer_not_an_exception():
    pytest.importorskip("dns.resolver")
    import dns.message
    import dns.rcode
    import dns.resolver

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(5)

    def serve():
        while True:
            try:
                data, peer = udp.recvfrom(512)
            except OSError:
                return
            reply = dns.message.make_response(dns.message.from_wire(data))
            reply.set_rcode(dns.rcode.SERVFAIL)
            udp.sendto(reply.to_wire(), peer)

    threading.Thread(target=serve, daemon=True).start()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = udp.getsockname()[1]
    resolver.lifetime = 2
    try:
        exc = raised(lambda: resolver.resolve("example.test", "A"))
    finally:
        udp.close()
    rows = flattened(exc)
    assert rows
    assert "SERVFAIL" in rows[0]["message"]
    assert "errno" not in rows[0]


def test_grpc_reads_the_c_core_through_methods():
    grpc = pytest.importorskip("grpc")
    channel = grpc.insecure_channel("127.0.0.1:9")
    try:
        exc = raised(lambda: channel.unary_unary("/layertrace.Echo/Say")(b"", timeout=3))
    finally:
        channel.close()
    (row,) = flattened(exc)
    assert (row["module"], row["type"]) == ("grpc.StatusCode", "UNAVAILABLE")
    assert "127.0.0.1:9" in row["message"]
    assert row["detail"].startswith("UNAVAILABLE")


def test_asyncio_multiple_exceptions_carries_only_text():
    """Two refused addresses: asyncio folds them into one message and keeps no objects."""

    class TwoAddresses(asyncio.SelectorEventLoop):
        async def getaddrinfo(self, host, port, **kwargs):
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 9)),
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 9, 0, 0)),
            ]

    loop = TwoAddresses()
    try:
        exc = raised(
            lambda: loop.run_until_complete(loop.create_connection(asyncio.Protocol, "two", 9))
        )
    finally:
        loop.close()
    if not str(exc).startswith("Multiple exceptions"):
        pytest.skip("this machine refused both addresses with the same words")
    assert exc.errno is None and exc.__cause__ is None and exc.__context__ is None
    assert flattened(exc) == []


def test_unrelated_and_hostile_exceptions_give_nothing():
    class Hostile(Exception):
        @property
        def errors(self):
            raise RuntimeError("no")

    Hostile.__module__ = "paramiko.ssh_exception"
    Hostile.__qualname__ = "NoValidConnectionsError"
    assert flattened(Hostile()) == []
    assert flattened(ConnectionRefusedError(111, "refused")) == []


def test_text_masks_every_string():
    paramiko = pytest.importorskip("paramiko")
    exc = paramiko.ssh_exception.NoValidConnectionsError(
        {("127.0.0.1", 9): FileNotFoundError(2, "No such file", "/home/me/key")}
    )
    (row,) = flattened(exc, text=lambda s: s.replace("/home/me", "~"))
    assert "/home/me" not in row["message"] and "~/key" in row["message"]


@pytest.mark.parametrize("mode", ["fork", "spawn"])
def test_the_child_reports_flattened_errors_and_arguments(mode):
    """In a real child (warm fork or fresh interpreter): per exception 'flattened', per frame
    'arguments', with the password redacted."""
    pytest.importorskip("paramiko")
    from sphinx_layertrace.capture import procs
    from sphinx_layertrace.capture.runner import Request, Runner

    if mode == "fork" and not procs.CAN_FORK:
        pytest.skip("no fork here")
    code = (
        "import paramiko\n"
        "paramiko.SSHClient().connect('127.0.0.1', 9, 'user', 'hunter2-child-test', timeout=2)\n"
    )
    with Runner(mode=mode, parallel=1) as runner:
        capture = runner.run(Request(code, style="script", timeout=20))
    assert capture.outcome == "raised", capture.detail
    exc = capture.exception
    (flat,) = exc.flattened
    assert (flat.where, flat.errno_name) == ("127.0.0.1:9", "ECONNREFUSED")
    connect = next(f for f in exc.frames if f.name == "connect")
    asked = dict(connect.arguments)
    assert (asked["hostname"], asked["port"], asked["password"]) == ("'127.0.0.1'", "9", "***")
    recorded = [f.arguments for e in exc.walk() for f in e.frames] + [exc.flattened]
    assert "hunter2-child-test" not in repr(recorded)
