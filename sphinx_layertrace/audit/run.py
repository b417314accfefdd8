"""Each page's examples, in order, in one engine child: what every example does now.

The page is one ``script`` snippet for the engine's runner: ``child/pasted.py`` followed by a
call with the examples, so the child's isolation, limits, process-group cleanup and the
parent's hygiene (paths, addresses, secrets) apply as to any snippet. Nothing of the page runs
in this process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sphinx_layertrace.capture.interpreters import Interpreter
from sphinx_layertrace.capture.runner import Request, Runner
from sphinx_layertrace.child import protocol

from .find import Block

DRIVER = Path(protocol.CHILD_DIR, "pasted.py")
MARK = "@@layertrace-audit@@ "
PAGE_LIMIT = 600.0  # seconds for one page, whatever its number of examples


@dataclass
class PageRun:
    """What one page's child reported: one result per example that ran (in order), and how
    the child ended when it stopped before the last one."""

    results: list[dict] = field(default_factory=list)
    stopped: str = ""


def page_request(blocks: list[Block], timeout: float) -> Request:
    examples = [{"source": ex.source} for block in blocks for ex in block.examples]
    payload = json.dumps({"timeout": timeout, "examples": examples})
    code = DRIVER.read_text("utf-8") + f"\nrun_page({payload!r})\n"
    budget = min(PAGE_LIMIT, timeout * max(1, len(examples)) + 5)
    return Request(code, style="script", timeout=budget, max_output=32 << 20, filename="audit.py")


def run_pages(
    pages: dict[str, list[Block]], interpreter: Interpreter | None, timeout: float
) -> dict[str, PageRun]:
    """Run every page, two at a time at most (the machine is shared)."""
    runs: dict[str, PageRun] = {}
    with Runner(parallel=2) as runner:
        tickets = {
            rel: runner.submit(page_request(blocks, timeout), interpreter)
            for rel, blocks in pages.items()
        }
        for rel, ticket in tickets.items():
            capture = runner.result(ticket)
            run = PageRun([_decode(line) for line in _marked(capture.stdout)])
            expected = sum(len(block.examples) for block in pages[rel])
            if len(run.results) < expected:
                run.stopped = _why_stopped(capture.outcome, capture.detail, capture.exception)
            runs[rel] = run
    return runs


def _marked(stdout: str) -> list[str]:
    return [line[len(MARK) :] for line in stdout.splitlines() if line.startswith(MARK)]


def _decode(line: str) -> dict:
    try:
        value = json.loads(line)
    except ValueError:
        return {"broken": True}
    return value if isinstance(value, dict) else {"broken": True}


def _why_stopped(outcome: str, detail: str, exception: object) -> str:
    """How the page's child ended, to complete "it stopped the page's interpreter (...)"."""
    if outcome == "returned":
        return "its output was cut at the limit"
    if exception is not None:
        return f"the session raised {getattr(exception, 'type', 'an error')} outside an example"
    return detail or outcome
