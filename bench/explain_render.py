"""Main-process cost of one long chain: explain it and render it, as a page build does.

A real capture (no hand-made frames): ``requests.get`` to a closed loopback port, called from 25
functions of the snippet's own, so its traceback is a chain of four exceptions and 45
frames, the long case of "Real network stacks" in the spec. It is captured once; then each round
explains it (``explain_capture``: layers, components, the descent, codes, the kernel's call) and
renders it (the doctree of ``render.doctree.build``, folding included, then the HTML visitors
writing the traceback and the picture, and the plain text the other builders print).

Run: ``.venv/bin/python bench/explain_render.py [--rounds 2000]`` (``make bench-render``).
Goal: at most 2 ms per capture.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import statistics
import sys
import time

from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.utils import new_document
from docutils.writers.html5_polyglot import HTMLTranslator, Writer

from sphinx_layertrace.capture.runner import Request, Runner
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render import nodes as lt_nodes
from sphinx_layertrace.render.doctree import RenderOptions, Shown, build, caption

#: 25 functions of the snippet's own, each calling the next (distinct, so CPython prints every
#: frame: a recursion would be folded into "[Previous line repeated ...]"), then requests.
CODE = (
    "import requests\n\n"
    + "".join(f"def step{n}():\n    return step{n + 1}()\n\n" for n in range(24))
    + (
        "def step24():\n"
        '    return requests.get("http://127.0.0.1:9/", timeout=2, auth=("user", "not-a-secret"))\n'
        "\n\nstep0()\n"
    )
)


def capture() -> Capture:
    with Runner(mode="auto", parallel=1) as runner:
        found = runner.run(Request(CODE, style="script", timeout=20))
    if found.exception is None:
        sys.exit(f"the snippet did not raise: {found.outcome} {found.detail}")
    return found


def frames_in(found: Capture) -> int:
    exc = found.exception
    return sum(len(item.frames) for item in exc.walk()) if exc is not None else 0


def translator() -> HTMLTranslator:
    document = new_document("bench", get_default_settings(Writer))
    return HTMLTranslator(document)


def render_once(found: Capture, layers: LayerMap, html: HTMLTranslator) -> int:
    """Explain, build the doctree, write its HTML; the size of what was written."""
    options = RenderOptions(layers=layers, fallback=False)
    block = build([Shown(caption(found), found)], options, group="bench")
    html.body = []
    for node in block.children:  # one capture: the panel's nodes are the block's children
        if isinstance(node, lt_nodes.lt_traceback):
            _skip(lt_nodes.visit_traceback_html, html, node)
        elif isinstance(node, lt_nodes.lt_details):
            _skip(lt_nodes.visit_details_html, html, node)
    return sum(len(part) for part in html.body)


def _skip(visit, html: HTMLTranslator, node: nodes.Element) -> None:
    with contextlib.suppress(nodes.SkipNode):  # each visitor writes its node whole
        visit(html, node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    args = parser.parse_args()
    found = capture()
    layers = LayerMap.build()
    html = translator()
    size = render_once(found, layers, html)  # warm: imports, caches
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.rounds):
            render_once(found, layers, html)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)
        return
    # CPU time of this process: on a shared machine, wall time mostly measures the neighbours
    batches = []
    walls = []
    per_batch = max(1, args.rounds // 10)
    for _ in range(10):
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(per_batch):
            render_once(found, layers, html)
        batches.append((time.process_time() - cpu) / per_batch * 1000)
        walls.append((time.perf_counter() - started) / per_batch * 1000)
    exc = found.exception
    print(
        f"{frames_in(found)} frames, {len(exc.walk()) if exc else 0} exceptions, "
        f"{size} bytes of HTML; explain + render, CPU per capture: median "
        f"{statistics.median(batches):.3f} ms, best {min(batches):.3f} ms "
        f"(wall median {statistics.median(walls):.3f} ms; {per_batch * 10} rounds)"
    )


if __name__ == "__main__":
    main()
