"""``--rewrite``: each block that shows a traceback becomes a ``layertrace`` snippet.

Only the block's own lines change (and the ``::`` that introduced a literal block, which turns
into what docutils showed of it); every other byte stays, line endings included. The snippet's
``:expect:`` is the pasted exception. When the block uses names that earlier examples of the page
defined, the inputs of those examples that ran cleanly go into a hidden ``layertrace-setup``
just before it, so it runs as it did in the audit. A rewritten page holds no ``>>>`` session
that shows a traceback, so a second run changes nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .compare import BlockVerdict, names
from .find import Block


def rewrite_page(
    path: Path, blocks: list[Block], verdicts: list[BlockVerdict], results: list[dict]
) -> bool:
    """Rewrite one page in place; True when it changed."""
    raw = path.read_bytes().decode("utf-8")
    lines = raw.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    targets = {id(v.block): v for v in verdicts if v.exception}
    plans = _plans(blocks, targets, results)
    total, open_end = len(lines), bool(lines) and not lines[-1].endswith(("\n", "\r"))
    for block, setup, expect in reversed(plans):
        new = _replacement(block, setup, expect)
        ending = "" if block.end == total and open_end else newline
        text = newline.join(new) + ending
        lines[block.start : block.end] = [text]
        if block.intro is not None:
            lines[block.intro] = _intro(lines[block.intro])
    changed = "".join(lines)
    if changed == raw:
        return False
    path.write_bytes(changed.encode("utf-8"))
    return True


def _plans(
    blocks: list[Block], targets: dict[int, BlockVerdict], results: list[dict]
) -> list[tuple[Block, list[str], str]]:
    """(block, the setup inputs it needs, its :expect:) for every block to rewrite."""
    plans = []
    earlier: list[str] = []  # inputs of examples before, that ran without an exception
    emitted = 0  # how many of ``earlier`` went into a setup already (setups add up)
    index = 0
    for block in blocks:
        sources = [ex.source for ex in block.examples]
        verdict = targets.get(id(block))
        if verdict is not None:
            setup: list[str] = []
            if _uses(sources, earlier):
                setup, emitted = earlier[emitted:], len(earlier)
            plans.append((block, setup, verdict.exception))
        for source in sources:
            result = results[index] if index < len(results) else {}
            if result.get("exception") is None and not result.get("timeout"):
                earlier.append(source)
            index += 1
    return plans


def _uses(sources: list[str], earlier: list[str]) -> bool:
    """Whether the block reads a name that the earlier inputs bind."""
    bound = set().union(*(names(s, ast.Store) for s in earlier)) if earlier else set()
    return bool(bound & set().union(*(names(s, ast.Load) for s in sources)))


def _code_lines(sources: list[str]) -> list[str]:
    return "".join(sources).rstrip("\n").split("\n")


def _replacement(block: Block, setup: list[str], expect: str) -> list[str]:
    options = [f":expect: {expect}"] + [f":{k}: {v}" for k, v in block.options.items() if v]
    code = _code_lines([ex.source for ex in block.examples])
    if block.syntax == "myst":
        return _myst(block.indent, setup, options, code)
    return _rst(block.indent, setup, options, code)


def _rst(indent: str, setup: list[str], options: list[str], code: list[str]) -> list[str]:
    out = []
    if setup:
        out += [".. layertrace-setup::", ""] + [_body(line) for line in _code_lines(setup)]
        out.append("")
    out.append(".. layertrace::")
    out += ["   " + option for option in options]
    out += [""] + [_body(line) for line in code]
    return [indent + line if line else "" for line in out]


def _body(line: str) -> str:
    return "   " + line if line.strip() else ""


def _myst(indent: str, setup: list[str], options: list[str], code: list[str]) -> list[str]:
    longest = max((len(m) for m in re.findall(r"`{3,}", "\n".join(code + setup))), default=0)
    fence = "`" * max(3, longest + 1)
    out = []
    if setup:
        out += [fence + "{layertrace-setup}", *_code_lines(setup), fence, ""]
    out += [fence + "{layertrace}", *options, *code, fence]
    return [indent + line if line.strip() else "" for line in out]


def _intro(line: str) -> str:
    """The line that ended in ``::``, as docutils displayed it."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    stripped = body.rstrip()
    trailing = body[len(stripped) :]
    if stripped.strip() == "::":
        return stripped.replace("::", "..") + trailing + ending
    if re.search(r"\s::$", stripped):
        return stripped[:-2].rstrip() + trailing + ending
    return stripped[:-1] + trailing + ending
