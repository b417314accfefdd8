"""meaning/stacks.py: the tables' shape and lookups (what they cover: tests/test_gallery.py)."""

from __future__ import annotations

import pytest

from sphinx_layertrace.meaning.layers import DEFAULT_LAYERS, LAYERS, LayerMap
from sphinx_layertrace.meaning.stacks import (
    GLUE,
    STACKS,
    STDLIB_COMPONENTS,
    component_of_module,
    is_glue,
    stdlib_component,
)


def test_every_entry_names_a_known_layer_and_a_component():
    for prefix, (layer, component) in STACKS.items():
        assert layer in LAYERS, prefix
        assert component.strip() == component and component, prefix
        assert all(part.isidentifier() for part in prefix.split(".")), prefix
    assert all(name and value for name, value in STDLIB_COMPONENTS.items())


def test_stacks_agree_with_the_default_layers_except_where_a_capture_said_otherwise():
    """Where STACKS gives another layer than DEFAULT_LAYERS, the capture said so; nowhere else."""
    defaults = LayerMap(dict(DEFAULT_LAYERS))  # the stdlib and library defaults alone
    differ = {
        prefix: (layer, defaults.layer_of_module(prefix))
        for prefix, (layer, _) in STACKS.items()
        if defaults.layer_of_module(prefix) != layer
    }
    assert differ == {
        # anyio._core._sockets.connect_tcp opens the sockets; DEFAULT_LAYERS knows _backends only
        "anyio": ("transport", None),
        # the SSH packetizer reads the banner for paramiko.transport: the same secure channel
        "paramiko.packet": ("tls", "application"),
    }
    assert "anyio" not in DEFAULT_LAYERS
    # and the built map (what pages use) follows STACKS
    built = LayerMap.build()
    assert all(built.layer_of_module(prefix) == layer for prefix, (layer, _) in STACKS.items())


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("urllib3.util.connection", ("transport", "urllib3 socket")),
        ("urllib3.util.retry", ("application", "urllib3 pool")),
        ("urllib3.util.util", ("application", "urllib3")),  # the package's own entry
        ("httpcore._async.connection_pool", ("application", "httpcore pool")),
        ("httpcore._backends.anyio", ("transport", "httpcore backend")),
        ("anyio._core._sockets", ("transport", "anyio")),
        ("requestsx", None),  # a prefix is a dotted prefix, not a string prefix
        ("", None),
    ],
)
def test_longest_dotted_prefix_wins(module, expected):
    assert component_of_module(module) == expected


def test_stdlib_components():
    assert stdlib_component("asyncio.selector_events") == "asyncio"
    assert stdlib_component("http.client") == "http.client"
    assert stdlib_component("http.server") is None
    assert stdlib_component("socketserver") is None


def test_glue_matches_function_names_by_module_prefix():
    assert is_glue("contextlib", "__exit__")
    assert is_glue("httpcore._exceptions", "map_exceptions")
    assert not is_glue("contextlib", "__enter__")
    assert not is_glue("asyncio.selector_events", "_sock_connect_cb")  # that one answered
    assert all(isinstance(m, str) and isinstance(f, str) for m, f in GLUE)
