"""Command line: ``python -m sphinx_layertrace SUBCOMMAND``.

``run`` executes one snippet and prints its capture (readable text, or JSON with ``--json``).
``capture``, ``merge`` and ``check`` (platform pages, CI) drive a docs tree through
:mod:`.collect` and combine capture sets with :mod:`.platforms`.

Exit codes: 0 when the command completed (whatever the snippet did: raising is a result, not a
failure), 1 for ``check`` drift, 2 for usage errors (bad options, unknown interpreter).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sphinx_layertrace.capture.interpreters import MissingInterpreter, resolve_executable
from sphinx_layertrace.capture.runner import Request, Runner
from sphinx_layertrace.meaning.explanation import explain_capture
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.model import Capture
from sphinx_layertrace.render.annotate import plain_text, segments
from sphinx_layertrace.render.picture import picture_lines
from sphinx_layertrace.render.transcript import session_text
from sphinx_layertrace.render.words import counted

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_USAGE = 2


# -- run ----------------------------------------------------------------------------------------


def add_run_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run one snippet and print its traceback",
        description="Run one snippet in an isolated child interpreter and print what happened.",
    )
    p.add_argument("code", nargs="?", help="the snippet's source ('-' reads stdin)")
    p.add_argument("--code", dest="code_option", metavar="CODE", help="the same, as an option")
    # -c is the conf dir in every subcommand (as in sphinx-build); it once was run's code
    p.add_argument("-c", "--conf-dir", dest="old_c", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument(
        "--python",
        metavar="LABEL|EXE",
        help="interpreter: an X.Y label of an installed CPython or a path (default: this one)",
    )
    p.add_argument(
        "--style",
        choices=("repl", "script"),
        default="repl",
        help="typed at the >>> prompt (default) or run as a script file",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="S",
        help="seconds before the snippet is stopped (default: 10)",
    )
    p.add_argument("--json", action="store_true", help="print the capture as JSON")
    p.add_argument(
        "--spawn",
        action="store_true",
        help="start a fresh interpreter instead of forking a warm worker",
    )
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    if args.old_c is not None:
        print(
            "sphinx-layertrace run: -c is the conf dir (-c/--conf-dir) in every subcommand, as "
            "in sphinx-build; give the code as the argument: run 'CODE' (or run --code CODE, "
            "or run - to read it from stdin)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if (args.code is None) == (args.code_option is None):
        print("sphinx-layertrace run: give the snippet's code once: run 'CODE'", file=sys.stderr)
        return EXIT_USAGE
    code = args.code if args.code is not None else args.code_option
    code = sys.stdin.read() if code == "-" else code
    interpreter = None
    if args.python:
        try:
            interpreter = resolve_executable(args.python)
        except MissingInterpreter as exc:
            print(f"sphinx-layertrace run: {exc}", file=sys.stderr)
            return EXIT_USAGE
    with Runner(mode="spawn" if args.spawn else "auto", parallel=1) as runner:
        capture = runner.run(Request(code, style=args.style, timeout=args.timeout), interpreter)
    if args.json:
        sys.stdout.write(capture.to_json(indent=2) + "\n")
    else:
        sys.stdout.write(format_text(capture))
    return EXIT_OK


def format_text(c: Capture) -> str:
    """The capture as a terminal reader would want it: header, session, traceback, kernel."""
    out = [f"{c.platform.pretty} · {c.python.pretty}", ""]
    out.append(session_text(c).rstrip("\n"))
    if c.stderr and not c.steps:  # a crash or timeout: faulthandler's account of where
        out.append(c.stderr.rstrip("\n"))
    exc = c.exception
    if c.outcome == "raised" and exc is not None:
        explanation = explain_capture(c, LayerMap.build(), source_links=False)
        out.append(plain_text(segments(explanation)).rstrip("\n"))
        kernel = explanation.kernel
        if kernel is not None:
            asked = " → ".join(f"{s.event.split('.', 1)[-1]}({s.args})" for s in c.syscalls)
            out += ["", f"Kernel: {asked or kernel.call} → {kernel.result}"]
        picture = picture_lines(explanation)
        if picture:
            out += ["", *picture]
    elif c.outcome == "returned":
        out.append("(no exception)")
    else:
        out.append(f"[{c.outcome}] {c.detail}".rstrip())
    if c.truncated:
        out.append("[output truncated]")
    return "\n".join(out) + "\n"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


# -- platform pages: capture, merge, check ------------------------------------------------------


def _add_tree_arguments(p: argparse.ArgumentParser, verb: str) -> None:
    """What capture and check both take: the docs tree, its conf.py, the interpreters."""
    p.add_argument("srcdir", help="the docs tree (the directory of its index)")
    p.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="LABEL|EXE",
        help=f"{verb} under this interpreter instead of each snippet's :python: (repeatable)",
    )
    p.add_argument(
        "-c",
        "--conf-dir",
        "--confdir",
        dest="confdir",
        metavar="DIR",
        help="where conf.py is, as sphinx-build's -c (default: SRCDIR)",
    )


def add_capture_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "capture",
        help="run every snippet of a docs tree and write capture files",
        description="Run every snippet of a docs tree (rst and MyST) on this machine, without "
        "building pages, and write one <snippet>.<platform>-py<X.Y>.json per snippet and "
        "interpreter, for layertrace_captures.",
    )
    _add_tree_arguments(p, "capture")
    p.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="where the capture files go"
    )
    p.add_argument(
        "--clean",
        action="store_true",
        help="also delete this platform's capture files in DIR whose snippet no longer exists "
        "in SRCDIR (other platforms' files are left alone)",
    )
    p.add_argument(
        "--execute",
        choices=("auto", "always"),
        default="auto",
        help="auto reuses the capture cache (default), always runs everything again",
    )
    p.set_defaults(handler=cmd_capture)


def cmd_capture(args: argparse.Namespace) -> int:
    from sphinx_layertrace.sphinxext.collect import write_captures

    collected = _collect(
        "capture",
        args,
        execute=args.execute,
        pythons=args.python,
        overrides={"layertrace_captures": None},  # what happens here, not on other machines
    )
    if collected is None:
        return EXIT_USAGE
    written = write_captures(collected, args.output)
    for item in collected.observed:
        if item.missing:
            print(f"{item.location}: {item.missing}", file=sys.stderr)
    removed = []
    if args.clean:
        from sphinx_layertrace.capture.frozen import stale, this_platform_key

        snippets = {item.snippet for item in collected.observed}
        for path in stale(args.output, snippets, this_platform_key()):
            path.unlink()
            removed.append(path)
            print(f"sphinx-layertrace capture: removed {path} (its snippet is gone)")
    print(
        f"sphinx-layertrace capture: {counted(len(written), 'capture file')} in {args.output} "
        f"({collected.executed} run, {collected.from_cache} from the cache"
        + (f", {len(removed)} stale removed)" if args.clean else ")")
    )
    return EXIT_OK


def add_merge_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge",
        help="combine capture sets from several machines",
        description="Combine capture directories (later ones win on the same snippet, platform "
        "and version); refuses files of an unknown schema before writing anything.",
    )
    p.add_argument("inputs", nargs="+", metavar="DIR", help="capture sets, later ones win")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="where the merged set goes")
    p.set_defaults(handler=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    from sphinx_layertrace.capture.frozen import MergeError, merge

    try:
        report = merge(args.inputs, args.output)
    except MergeError as exc:
        print(f"sphinx-layertrace merge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for name in report.replaced:
        print(f"sphinx-layertrace merge: {name} came from several inputs; kept the last")
    written = counted(len(report.written), "capture file")
    print(f"sphinx-layertrace merge: {written} in {args.output}")
    return EXIT_OK


def add_check_parser(sub: argparse._SubParsersAction) -> None:
    from sphinx_layertrace.checkformats import FORMATS

    p = sub.add_parser(
        "check",
        help="run every snippet; exit 1 on anything a build would warn about",
        description="Run every snippet of a docs tree and report each warning a build would "
        "give about snippets (drift from :expect:, timeouts, crashes, missing interpreters, "
        "bad options and configuration values), frozen captures of other platforms included, "
        "each at its file:line; exit 1 if there is any.",
    )
    _add_tree_arguments(p, "check")
    p.add_argument(
        "--cached",
        action="store_true",
        help="trust the capture cache instead of running every snippet again",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), json, junit (JUnit XML, one test case per snippet and platform) "
        "or github (workflow commands that annotate the pull request)",
    )
    p.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from sphinx_layertrace.checkformats import render

    collected = _collect(
        "check", args, execute="auto" if args.cached else "always", pythons=args.python
    )
    if collected is None:
        return EXIT_USAGE
    findings, cases = collected.report()
    sys.stdout.write(render(args.format, findings, cases))
    print(
        f"sphinx-layertrace check: {counted(len(findings), 'problem')} in "
        f"{counted(len(cases), 'capture')}",
        file=sys.stderr,
    )
    return EXIT_DRIFT if findings else EXIT_OK


def _collect(
    name: str,
    args: argparse.Namespace,
    *,
    execute: str,
    pythons: list[str],
    overrides: dict[str, object] | None = None,
):
    """Run the docs tree; print one line and return None when that is impossible."""
    from sphinx.errors import SphinxError

    from sphinx_layertrace.sphinxext.collect import collect

    try:
        return collect(
            args.srcdir,
            pythons=pythons,
            execute=execute,
            confdir=args.confdir,
            overrides=dict(overrides or {}),
        )
    except (MissingInterpreter, SphinxError, OSError) as exc:
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        print(f"sphinx-layertrace {name}: {reason}", file=sys.stderr)
        return None


# -- entry point --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sphinx_layertrace",
        description="Run Python snippets in isolated children and show their real tracebacks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_run_parser(sub)
    add_capture_parser(sub)
    add_merge_parser(sub)
    add_check_parser(sub)
    from sphinx_layertrace.audit.command import add_audit_parser

    add_audit_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
