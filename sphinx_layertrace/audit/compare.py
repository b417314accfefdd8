"""Pasted against now, with doctest's own rules first: a block doctest passes is never rotted.

Then more lenient ones, never stricter: ELLIPSIS and whitespace always on, addresses
(``0x…``) and paths made equal, the traceback header and stack ignored, output before a pasted
traceback compared on its own, and a chain of exceptions compared link by link from the last.
What the audit could not really run (a missing module, the network, a name or file from
outside the page, standard input, a timeout) is ``unchecked`` with the reason, never rotted.
"""

from __future__ import annotations

import ast
import doctest
import re
from dataclasses import dataclass

from .find import Block, pasted_traceback

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b|0x…")
_QUOTED_PATH = re.compile(r"""(['"])(?:[A-Za-z]:\\|/|~/|<[\w-]+>[/\\])[^'"\n]*\1""")
_BARE_PATH = re.compile(r"(?<![\w<>])(?:/[\w.+-]+)+/?|(?:<[\w-]+>|~)(?:[/\\][\w.+-]+)*[/\\]?")
_SEPARATOR = re.compile(
    r"^(?:The above exception was the direct cause of the following exception:"
    r"|During handling of the above exception, another exception occurred:)\s*$",
    re.M,
)
_LENIENT = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_CHECKER = doctest.OutputChecker()
_ORDER = {"current": 0, "unchecked": 1, "rotted": 2}


@dataclass
class Verdict:
    status: str  # current, rotted or unchecked
    reason: str = ""
    pasted: str = ""
    now: str = ""
    example: int = 0  # 1-based file line of the example the verdict is about


@dataclass
class BlockVerdict:
    block: Block
    verdict: Verdict
    exception: str  # the first pasted exception's name ("" when it shows none)


def pasted_exception(block: Block) -> str:
    """The exception the block's first traceback ends with, as pasted (``socket.gaierror``)."""
    for ex in block.examples:
        sections = _sections(pasted_traceback(ex.want))
        if sections:
            head = sections[-1].split(":", 1)[0].strip()
            return re.sub(r"^(?:__main__|builtins|exceptions)\.", "", head)
    return ""


def judge_page(blocks: list[Block], results: list[dict], stopped: str) -> list[BlockVerdict]:
    """One verdict per block that shows a traceback, with the page's examples in order."""
    out = []
    index = 0
    failed: list[tuple[int, str]] = []  # (line, source) of earlier examples that raised
    ended = 0  # the line of the example the page's interpreter ended in
    for block in blocks:
        worst = Verdict("current")
        for ex in block.examples:
            line = block.first + ex.lineno + 1
            result = results[index] if index < len(results) else None
            if result is None:
                ended = ended or line
                verdict = _unreported(ended == line, stopped, ended)
            else:
                verdict = _judge(ex, result, failed)
            verdict.example = line
            if result is None or result.get("exception") or result.get("timeout"):
                failed.append((line, ex.source))
            if _ORDER[verdict.status] > _ORDER[worst.status]:
                worst = verdict
            index += 1
        if block.error:
            worst = Verdict("unchecked", f"doctest cannot read it: {block.error}")
        if block.shows_exception():
            out.append(BlockVerdict(block, worst, pasted_exception(block)))
    return out


def _unreported(first: bool, stopped: str, ended: int) -> Verdict:
    """An example without a result: the child ended in it, or before it."""
    if first:
        return Verdict("unchecked", f"it stopped the page's interpreter ({stopped})")
    return Verdict("unchecked", f"the page's interpreter had stopped at line {ended}")


def _judge(ex: doctest.Example, result: dict, failed: list[tuple[int, str]]) -> Verdict:
    if result.get("broken"):
        return Verdict("unchecked", "the example's result was not readable")
    if _doctest_passes(ex, result):
        return Verdict("current")
    unrun = _not_run(result)
    if unrun is not None:
        return unrun
    exc = result.get("exception")
    traceback_text = pasted_traceback(ex.want)
    sections = _sections(traceback_text)
    if exc is not None and not _shows(sections, exc):
        reason = _outside(exc, failed)
        if reason:
            return Verdict("unchecked", reason)
    before = ex.want[: len(ex.want) - len(traceback_text)] if traceback_text else ex.want
    if (before.strip() or not sections) and not _same(before, result.get("output", ""), ex):
        return _rotted(before, result.get("output", ""), exc)
    return _judge_exception(sections, exc, ex)


def _not_run(result: dict) -> Verdict | None:
    if result.get("timeout"):
        return Verdict("unchecked", "it timed out")
    if result.get("network"):  # whatever it raised then, it is the audit's refusal
        host = result["network"]
        return Verdict(
            "unchecked",
            f"it needs the network ({host}), which the audit does not reach (loopback only)",
        )
    return None


def _judge_exception(sections: list[str], exc: dict | None, ex: doctest.Example) -> Verdict:
    if not sections:
        return _rotted_raised(exc) if exc is not None else Verdict("current")
    if exc is None:
        return Verdict("rotted", pasted=_first_line(sections[-1]), now="(no exception)")
    return _compare_chain(sections, exc.get("chain") or [exc.get("message", "")], ex)


def _doctest_passes(ex: doctest.Example, result: dict) -> bool:
    """Exactly what ``python -m doctest`` would decide for this example, on this output."""
    flags = sum(flag for flag, on in ex.options.items() if on)
    exc = result.get("exception")
    if exc is None:
        return bool(_CHECKER.check_output(ex.want, result.get("output", ""), flags))
    if ex.exc_msg is None:
        return False
    message = exc.get("message", "")
    if _CHECKER.check_output(ex.exc_msg, message, flags):
        return True
    if flags & doctest.IGNORE_EXCEPTION_DETAIL:
        return _strip_detail(ex.exc_msg) == _strip_detail(message)
    return False


def _strip_detail(message: str) -> str:
    return message.split(":", 1)[0].strip().rsplit(".", 1)[-1]


_OUTSIDE = (
    ("builtins.ModuleNotFoundError", "module {name!r} is not installed"),
    ("builtins.FileNotFoundError", "it needs a file from outside the page ({filename!r})"),
    ("builtins.EOFError", "it reads standard input, which the audit does not provide"),
)


def _outside(exc: dict, failed: list[tuple[int, str]]) -> str:
    """Why an exception the paste does not show says nothing about rot ("" when it does)."""
    mro = exc.get("mro") or []
    name = exc.get("name") or ""
    if "builtins.NameError" in mro:
        for line, source in reversed(failed):
            if name in names(source, ast.Store):
                return f"name {name!r} is not defined: line {line}, which defines it, failed"
        return f"name {name!r} comes from outside the page"
    for kind, reason in _OUTSIDE:
        if kind in mro:
            return reason.format(name=name, filename=exc.get("filename"))
    return ""


def _shows(sections: list[str], exc: dict) -> bool:
    """Whether the paste shows an exception of the same type as the one raised now."""
    names = {_exception_name(section) for section in sections}
    return exc.get("type", "") in names


def _sections(traceback_text: str) -> list[str]:
    """The exception messages of a pasted traceback, in print order (one per chained one)."""
    found = []
    for part in _SEPARATOR.split(traceback_text) if traceback_text else []:
        lines = [line for line in part.split("\n") if line.strip() not in ("", "<BLANKLINE>")]
        if lines and _HEADER_LINE.match(lines[0]):
            lines = lines[1:]
        start = next((k for k, line in enumerate(lines) if re.match(r"\w", line)), None)
        if start is not None:
            found.append("\n".join(lines[start:]) + "\n")
    return found


_HEADER_LINE = re.compile(r"^Traceback \(")


def _exception_name(message: str) -> str:
    head = message.split(":", 1)[0].strip()
    return head.rsplit(".", 1)[-1] if head else ""


def normalise(text: str) -> str:
    text = text.replace("<BLANKLINE>", "")
    text = _ADDRESS.sub("0x…", text)
    text = _QUOTED_PATH.sub(r"\1<path>\1", text)
    text = _BARE_PATH.sub("<path>", text)
    return re.sub(r"^(?:__main__|builtins|exceptions)\.", "", text, flags=re.M)


def _same(pasted: str, now: str, ex: doctest.Example) -> bool:
    flags = sum(flag for flag, on in ex.options.items() if on) | _LENIENT
    return bool(_CHECKER.check_output(normalise(pasted), normalise(now), flags))


def _compare_chain(sections: list[str], chain: list[str], ex: doctest.Example) -> Verdict:
    """Link by link from the last exception (pastes often leave out the context before)."""
    for pasted, now in zip(reversed(sections), reversed(chain), strict=False):
        if not _same(pasted, now, ex):
            return _rotted(pasted, now, None)
    if len(sections) > len(chain):
        return Verdict("rotted", pasted=_first_line(sections[0]), now="(not in the chain now)")
    return Verdict("current")


def _rotted(pasted: str, now: str, exc: dict | None) -> Verdict:
    """The first line that differs, pasted and now."""
    old = [line for line in normalise(pasted).split("\n") if line.strip()]
    new = [line for line in normalise(now).split("\n") if line.strip()]
    if not new and exc is not None:
        new = [_first_line(exc.get("message", ""))]
    raw_old = [line for line in pasted.split("\n") if line.strip()]
    raw_new = [line for line in now.split("\n") if line.strip()] or new
    for k in range(max(len(old), len(new))):
        a = old[k] if k < len(old) else ""
        b = new[k] if k < len(new) else ""
        if " ".join(a.split()) != " ".join(b.split()):
            return Verdict(
                "rotted",
                pasted=(raw_old[k] if k < len(raw_old) else "(nothing)").strip(),
                now=(raw_new[k] if k < len(raw_new) else "(nothing)").strip(),
            )
    return Verdict("rotted", pasted=_first_line(pasted), now=_first_line(now))


def _rotted_raised(exc: dict) -> Verdict:
    return Verdict("rotted", pasted="(no exception)", now=_first_line(exc.get("message", "")))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.split("\n") if line.strip()), "(nothing)")


def names(source: str, context: type) -> set[str]:
    """The names a piece of source binds (``ast.Store``) or reads (``ast.Load``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, context)}
    if context is ast.Store:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update((a.asname or a.name).split(".")[0] for a in node.names)
    return found
