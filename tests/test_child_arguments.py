"""child/arguments.py: what each layer was asked, from real frames, with secrets cut out."""

from __future__ import annotations

import json

import pytest
from caught import raised

from sphinx_layertrace.child.arguments import (
    MAX_REPR,
    Redactor,
    argument_names,
    chain_arguments,
    chain_tracebacks,
    frame_arguments,
    module_of,
)

SECRET = "hunter2-correct-horse"


def recorded(exc) -> list[tuple[str, str, dict[str, str]]]:
    """(module, function, {name: shown}) for every frame chain_arguments recorded, in order."""
    found = chain_arguments(exc)
    out = []
    for entries in chain_tracebacks(exc):
        for entry in entries:
            if id(entry) in found:
                code = entry.tb_frame.f_code
                out.append((module_of(entry.tb_frame), code.co_name, dict(found[id(entry)])))
    return out


def last_frame(exc):
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame


def module_named(name: str, source: str) -> dict:
    """Run ``source`` as the body of a module called ``name`` (frames then report that name)."""
    namespace = {"__name__": name}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace


def test_argument_names_are_the_signature_only():
    def f(a, b=1, *rest, c, d=2, **more):
        local = 3  # a local, not an argument
        raise ValueError(local)

    exc = raised(lambda: f(1, c=3))
    frame = last_frame(exc)
    assert argument_names(frame.f_code) == ["a", "b", "c", "d", "rest", "more"]
    shown = dict(frame_arguments(frame, Redactor()))
    assert shown == {"a": "1", "b": "1", "c": "3", "d": "2", "rest": "()", "more": "{}"}


def test_repr_capped_and_unrepresentable():
    class Loud:
        def __repr__(self):
            raise RuntimeError("no repr")

    def f(long, loud):
        raise ValueError

    exc = raised(lambda: f("x" * 500, Loud()))
    shown = dict(frame_arguments(last_frame(exc), Redactor()))
    assert len(shown["long"]) == MAX_REPR and shown["long"].endswith("...")
    assert shown["loud"] == "<unrepresentable>"


def test_secret_names_kwargs_keys_and_values_are_redacted():
    transport = module_named(
        "fake.transport",
        "def connect(host, password, api_token=None, **options):\n"
        "    raise ConnectionRefusedError(111, 'refused')\n",
    )
    retry = module_named("fake.retry", "def lower(note, headers):\n    raise ValueError(note)\n")

    def top():
        try:
            transport["connect"](
                "127.0.0.1", SECRET, api_token="tok-abcdef", auth=("user", SECRET), port=9
            )
        except ConnectionRefusedError:
            retry["lower"](f"retry with {SECRET}", {"Authorization": "Basic dXNlcjpodW50ZXIy"})

    exc = raised(top)
    text = json.dumps(recorded(exc))
    assert SECRET not in text and "tok-abcdef" not in text and "dXNlcjpodW50ZXIy" not in text
    rows = {function: shown for _, function, shown in recorded(exc)}
    assert rows["connect"]["password"] == "***"
    assert rows["connect"]["api_token"] == "***"
    assert rows["connect"]["options"] == "{'auth': ***, 'port': 9}"
    assert rows["lower"]["note"] == "'retry with ***'"  # the value, remembered from its name
    assert rows["lower"]["headers"] == "{'Authorization': ***}"


def test_shape_of_a_credential_in_a_repr():
    redactor = Redactor()
    assert redactor.shown("Bearer abcdef123456") == "'Bearer ***'"
    assert "s3cr3t-value" not in redactor.shown(["x", {"client_secret": "s3cr3t-value"}])
    assert "MIIEv" not in redactor.shown("-----BEGIN PRIVATE KEY-----\nMIIEvAAA\n")


def test_requests_records_each_layer_and_hides_the_password():
    requests = pytest.importorskip("requests")
    exc = raised(lambda: requests.get("http://127.0.0.1:9/", timeout=2, auth=("user", SECRET)))
    rows = recorded(exc)
    assert json.dumps(rows).count(SECRET) == 0
    by_module = {module: (function, shown) for module, function, shown in rows}
    assert by_module["requests.api"] == (
        "get",
        {"url": "'http://127.0.0.1:9/'", "params": "None", "kwargs": "{'timeout': 2, 'auth': ***}"},
    )
    function, shown = by_module["urllib3.util.connection"]
    assert function == "create_connection"
    assert (shown["address"], shown["timeout"]) == ("('127.0.0.1', 9)", "2")
    # the descent, in order: requests, then urllib3's pool and connection, then the socket
    modules = [module for module, _, _ in rows]
    order = ["requests.api", "urllib3.connectionpool", "urllib3.connection", "http.client"]
    assert [m for m in modules if m in order] == order
    assert modules[-1] == "urllib3.util.connection"


def test_basic_auth_header_never_leaves_in_a_repr():
    urllib3 = pytest.importorskip("urllib3")
    headers = urllib3.util.make_headers(basic_auth=f"user:{SECRET}")
    shown = Redactor().shown(urllib3.HTTPHeaderDict(headers))
    assert "Basic ***" in shown or "***" in shown
    import base64

    assert base64.b64encode(f"user:{SECRET}".encode()).decode()[:12] not in shown


def test_slow_reprs_stop_at_the_budget():
    import time

    class Slow:
        def __repr__(self):
            time.sleep(0.05)
            return "Slow()"

    names = [f"fake.layer{i}" for i in range(10)]
    layers = [module_named(name, "def call(value, below):\n    below(value)\n") for name in names]

    def bottom(value):
        raise ValueError("bottom")

    def chain_from(i):
        if i == len(layers):
            return bottom
        return lambda value: layers[i]["call"](value, chain_from(i + 1))

    exc = raised(lambda: chain_from(0)(Slow()))
    started = time.monotonic()
    found = chain_arguments(exc, budget=0.12)
    assert time.monotonic() - started < 0.5
    assert 1 <= len(found) < 10  # some layers recorded, then the budget ran out
