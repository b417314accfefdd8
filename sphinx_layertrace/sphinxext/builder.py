"""The builder the command line reads a docs tree with: no output, yet every snippet runs.

Sphinx's own ``dummy`` builder is one of the quiet builders that never run snippets (its output
shows none); ``capture``, ``check`` and ``audit`` need the snippets run, so they build with this.
"""

from __future__ import annotations

from sphinx.builders.dummy import DummyBuilder


class CollectBuilder(DummyBuilder):
    name = "layertrace-collect"
    epilog = ""
