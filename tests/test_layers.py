"""Layer map: defaults, overrides, prefix matching and the stack diagram's order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sphinx_layertrace.meaning.explanation import explain_capture
from sphinx_layertrace.meaning.layers import (
    DEFAULT_LAYERS,
    LAYER_DESCRIPTIONS,
    LAYERS,
    LayerMap,
    module_from_path,
)
from sphinx_layertrace.model import Capture, ExceptionInfo, Frame

FIXTURES = Path(__file__).parent / "fixtures" / "captures"


def frame(module: str = "", origin: str = "stdlib", **kw: object) -> Frame:
    return Frame(
        filename=kw.pop("filename", "x.py"), lineno=1, name="f", module=module, origin=origin, **kw
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("smtplib", "application"),
        ("http.client", "application"),
        ("http.server", "application"),
        ("urllib.request", "application"),
        ("urllib.error", "application"),
        ("ftplib", "application"),
        ("imaplib", "application"),
        ("poplib", "application"),
        ("xmlrpc.client", "application"),
        ("email.message", "application"),
        ("socketserver", "application"),
        ("wsgiref.simple_server", "application"),
        ("ssl", "tls"),
        ("asyncio.sslproto", "tls"),
        ("socket", "transport"),
        ("selectors", "transport"),
        ("select", "transport"),
        ("asyncio", "transport"),
        ("asyncio.base_events", "transport"),
        ("asyncio.selector_events", "transport"),
        ("requests.adapters", "application"),
        ("urllib3.connectionpool", "application"),
        ("urllib3.util.connection", "transport"),
        ("urllib3.util.ssl_", "tls"),
        ("httpx._client", "application"),
        ("httpcore._sync.connection_pool", "application"),
        ("httpcore._backends.sync", "transport"),
        ("h11._connection", "application"),
        ("aiohttp.connector", "application"),
        ("aiohappyeyeballs.impl", "transport"),
        ("websockets.sync.client", "application"),
        ("grpc._channel", "application"),
        ("paramiko.client", "application"),
        ("paramiko.transport", "tls"),
        ("dns.resolver", "application"),
        ("dns.query", "transport"),
        # not in the map, or only a look-alike prefix
        ("asynciox", "library"),
        ("sockets", "library"),
        ("contextlib", "library"),
        ("mypkg.client", "library"),
    ],
)
def test_default_layer_of_module(module: str, layer: str) -> None:
    assert LayerMap().layer_of(frame(module)) == layer


def test_user_origin_wins_over_module() -> None:
    assert LayerMap().layer_of(frame("socket", origin="user")) == "user"


@pytest.mark.parametrize(
    ("kw", "layer"),
    [
        ({"stdlib_path": "asyncio/base_events.py"}, "transport"),
        ({"stdlib_path": "http/client.py"}, "application"),
        ({"stdlib_path": "socket.py"}, "transport"),
        ({"filename": "<stdlib>/ssl.py"}, "tls"),
        ({"filename": "<stdlib>\\socket.py"}, "transport"),
        ({"filename": "C:\\Python311\\Lib\\smtplib.py"}, "application"),
        ({"filename": "<site-packages>/urllib3/util/connection.py"}, "transport"),
        ({"filename": "<frozen os>"}, "library"),
        ({"filename": "/somewhere/else/thing.py"}, "library"),
    ],
)
def test_empty_module_falls_back_to_paths(kw: dict, layer: str) -> None:
    assert LayerMap().layer_of(frame("", **kw)) == layer


@pytest.mark.parametrize(
    ("path", "relative", "module"),
    [
        ("<stdlib>/http/client.py", False, "http.client"),
        ("<stdlib>\\urllib\\__init__.py", False, "urllib"),
        ("asyncio/base_events.py", True, "asyncio.base_events"),
        ("<frozen importlib._bootstrap>", False, "importlib._bootstrap"),
        ("<stdin>", False, ""),
        ("", False, ""),
    ],
)
def test_module_from_path(path: str, relative: bool, module: str) -> None:
    assert module_from_path(path, relative=relative) == module


def test_overrides_add_and_replace() -> None:
    layers = LayerMap.build({"mylib": "application", "requests.adapters": "transport"})
    assert layers.layer_of(frame("mylib.core")) == "application"
    assert layers.layer_of(frame("requests.adapters")) == "transport"
    assert layers.layer_of(frame("requests.api")) == "application"
    assert LayerMap().layer_of(frame("mylib")) == "library"  # defaults untouched


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mylib": "network"}, "'mylib' maps to unknown layer 'network'"),
        ({"my lib": "user"}, "'my lib' is not a module name"),
        ({"": "user"}, "'' is not a module name"),
        (["socket"], "must be a dict"),
    ],
)
def test_bad_overrides_name_the_entry(overrides: object, message: str) -> None:
    with pytest.raises(ValueError, match="layertrace_layers") as info:
        LayerMap.build(overrides)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_tables_are_consistent() -> None:
    assert set(LAYER_DESCRIPTIONS) == set(LAYERS)
    assert set(DEFAULT_LAYERS.values()) <= set(LAYERS)


def test_map_pickles() -> None:
    import pickle

    layers = LayerMap.build({"mylib": "tls"})
    assert pickle.loads(pickle.dumps(layers)) == layers


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_seed_crosses_application_transport_os(platform: str) -> None:
    capture = Capture.from_json((FIXTURES / f"seed-{platform}.json").read_text("utf-8"))
    assert capture.exception is not None
    frames = capture.exception.frames
    assert [LayerMap().layer_of(f) for f in frames] == [
        "user",
        "application",
        "application",
        "application",
        "transport",
        "transport",
    ]
    crossed = explain_capture(capture, LayerMap()).layers_crossed
    assert crossed == ("user", "application", "transport", "os")


def test_crossed_keeps_first_appearance_order() -> None:
    frames = [
        frame("x", origin="user"),
        frame("requests.api"),
        frame("contextlib"),
        frame("urllib3.connectionpool"),
        frame("urllib3.util.connection"),
    ]
    info = ExceptionInfo(type="ValueError", module="builtins", frames=tuple(frames))
    capture = Capture("x", outcome="raised", exception=info)
    # no errno: nothing answered from the OS, so no os row
    assert explain_capture(capture, LayerMap()).layers_crossed == (
        "user",
        "application",
        "library",
        "transport",
    )


def test_fixtures_are_marked() -> None:
    for path in FIXTURES.glob("seed-*.json"):
        assert "_fixture" in json.loads(path.read_text("utf-8")), path
