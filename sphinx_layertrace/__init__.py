"""Run Python snippets at build time and show their real tracebacks, layer by layer.

``setup()`` is the table of contents: configuration, directives, nodes, the events that plan
and submit snippets while documents are read, and the post-transform that renders them.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

STATIC = Path(__file__).with_name("static")
ENV_VERSION = 2  # 2: plans live in LayertraceDomain


def setup(app: Any) -> dict[str, Any]:
    from sphinx_layertrace.render import nodes
    from sphinx_layertrace.sphinxext import config, events
    from sphinx_layertrace.sphinxext.builder import CollectBuilder
    from sphinx_layertrace.sphinxext.directive import LayertraceDirective, LayertraceSetupDirective
    from sphinx_layertrace.sphinxext.domain import LayertraceDomain
    from sphinx_layertrace.sphinxext.resolve import resolve_doctree

    config.register(app)
    app.add_builder(CollectBuilder)
    app.add_domain(LayertraceDomain)
    nodes.register(app)
    app.add_directive("layertrace", LayertraceDirective)
    app.add_directive("layertrace-setup", LayertraceSetupDirective)
    app.add_css_file("layertrace.css")
    app.connect("config-inited", config.validate)
    app.connect("config-inited", config.protect_env)
    app.connect("config-inited", add_tags)
    app.connect("config-inited", events.add_static_path)
    app.connect("builder-inited", events.builder_inited)
    app.connect("env-get-outdated", events.torn.outdated)
    app.connect("env-before-read-docs", events.before_read)
    app.connect("doctree-read", events.doctree_read)
    app.connect("env-merge-info", events.merge_info)
    app.connect("env-updated", events.env_updated)
    app.connect("doctree-resolved", resolve_doctree)
    app.connect("build-finished", events.build_finished)
    return {
        "version": __version__,
        "env_version": ENV_VERSION,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }


def build_tags() -> list[str]:
    """Tags for ``.. only::``: the build machine's platform and Python version."""
    from sphinx_layertrace.capture.frozen import this_platform_key

    system = this_platform_key()
    major, minor = platform.python_version_tuple()[:2]
    return [f"layertrace_{system}", f"layertrace_py{major}_{minor}"]


def add_tags(app: Any, _config: Any) -> None:
    for tag in build_tags():
        app.tags.add(tag)
