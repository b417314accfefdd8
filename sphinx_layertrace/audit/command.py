"""``python -m sphinx_layertrace audit SRCDIR``: which pasted tracebacks still hold.

Exit 0 when nothing rotted, 1 when a block did, 2 for a usage error (no such directory, an
unknown interpreter). The report goes to stdout, the totals and rewrites to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sphinx_layertrace.capture.interpreters import (
    Interpreter,
    MissingInterpreter,
    current_label,
    resolve_executable,
)

from . import report
from .compare import BlockVerdict, judge_page
from .find import Block, find_blocks
from .rewrite import rewrite_page
from .run import PageRun, run_pages

EXIT_OK, EXIT_ROTTED, EXIT_USAGE = 0, 1, 2


def add_audit_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="run the >>> sessions pasted in a docs tree; exit 1 if a traceback rotted",
        description="Find the interactive sessions of a docs tree (rst and MyST) that show a "
        "traceback, run each page's sessions in order in one isolated child, and report each "
        "block as current, rotted (the pasted line and the line now) or unchecked (why).",
    )
    p.add_argument("srcdir", help="the docs tree to audit")
    p.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="LABEL|EXE",
        help="run under this interpreter (repeatable; default: this one)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per block")
    p.add_argument(
        "--rewrite",
        action="store_true",
        help="replace each block that shows a traceback with a layertrace snippet whose "
        ":expect: is the pasted exception (the first --python's run decides the setup)",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="seconds each example may run (default: 10)",
    )
    p.set_defaults(handler=cmd_audit)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def cmd_audit(args: argparse.Namespace) -> int:
    srcdir = Path(args.srcdir)
    if not srcdir.is_dir():
        print(f"sphinx-layertrace audit: no such directory: {srcdir}", file=sys.stderr)
        return EXIT_USAGE
    try:
        chosen = [resolve_executable(spec) for spec in args.python]
        interpreters: list[Interpreter | None] = list(chosen) or [None]
    except MissingInterpreter as exc:
        print(f"sphinx-layertrace audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    pages = find_blocks(srcdir)
    several = len(interpreters) > 1
    rotted = False
    objects: list[dict] = []
    first_runs: dict[str, PageRun] = {}
    first_findings: dict[str, list[BlockVerdict]] = {}
    for interpreter in interpreters:
        label = _label(interpreter)
        runs = run_pages(pages, interpreter, args.timeout)
        findings = {
            rel: judge_page(blocks, runs[rel].results, runs[rel].stopped)
            for rel, blocks in pages.items()
        }
        if not first_runs:
            first_runs, first_findings = runs, findings
        rotted = rotted or any(
            item.verdict.status == "rotted" for found in findings.values() for item in found
        )
        if args.json:
            objects += report.json_objects(findings, label)
        else:
            for line in report.text_report(findings, label if several else ""):
                print(line)
        print(f"sphinx-layertrace audit: {report.totals(findings)}", file=sys.stderr)
    if args.json:
        sys.stdout.write(report.dump(objects))
    if args.rewrite:
        _rewrite(srcdir, pages, first_findings, first_runs)
    return EXIT_ROTTED if rotted else EXIT_OK


def _label(interpreter: Interpreter | None) -> str:
    if interpreter is None:
        return current_label()
    return interpreter.label or ".".join(interpreter.version.split(".")[:2])


def _rewrite(
    srcdir: Path,
    pages: dict[str, list[Block]],
    findings: dict[str, list[BlockVerdict]],
    runs: dict[str, PageRun],
) -> None:
    for rel, blocks in pages.items():
        verdicts = findings.get(rel, [])
        if verdicts and rewrite_page(srcdir / rel, blocks, verdicts, runs[rel].results):
            count = report.counted(len(verdicts), "block")
            print(f"sphinx-layertrace audit: rewrote {count} in {rel}", file=sys.stderr)
