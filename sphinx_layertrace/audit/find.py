"""Where the pasted sessions are: ``>>>`` blocks of reStructuredText and MyST pages, as text.

A scanner of lines rather than a docutils parse: the rewrite must replace exact lines and
leave every other byte alone, and a page's unknown directives must not stop the audit. It knows
the few constructs that hold sessions (doctest blocks, literal blocks after ``::``, the code
directives, fences) and skips the bodies of every other directive and comment. Examples are
read with the standard library's :class:`doctest.DocTestParser`.
"""

from __future__ import annotations

import doctest
import re
from dataclasses import dataclass, field
from pathlib import Path

#: Directives whose content is the session itself.
CODE_DIRECTIVES = frozenset({"code-block", "sourcecode", "code", "doctest"})
#: Languages of a code directive or fence that may hold a ``>>>`` session.
LANGUAGES = frozenset({"", "pycon", "pycon3", "python", "python3", "py", "py3"})
#: Directives whose content is more reStructuredText: the scan goes on inside them.
BODY_DIRECTIVES = frozenset(
    {
        *("note", "warning", "tip", "hint", "important", "attention", "caution", "danger"),
        *("error", "admonition", "seealso", "topic", "sidebar", "container", "only"),
        *("versionadded", "versionchanged", "deprecated", "compound", "list-table", "table"),
        *("tab", "tab-item", "tab-set", "dropdown", "card", "grid-item-card"),
    }
)
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:.+-]+)::(?:\s+(.*))?$")
_EXPLICIT = re.compile(r"^\s*\.\.(?:\s|$)")
_OPTION = re.compile(r"^\s*:([\w-]+):(?:\s+(.*))?$")
_LIST_ITEM = re.compile(r"^(\s*(?:[-*+]|\d+[.)]|#\.)\s+)\S")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*?)\s*$")
_HEADER = re.compile(r"^Traceback \((?:most recent call last|innermost last)\):\s*$", re.M)
_STDIN_FILE = re.compile(r'^\s*File "[^"]*", line \d+', re.M)


@dataclass
class Block:
    """One pasted session: where it is in its file and what doctest reads in it."""

    rel: str  # the file, relative to the audited tree, with forward slashes
    syntax: str  # "rst" or "myst"
    kind: str  # "doctest", "literal", "code" (a directive) or "fence"
    start: int  # first line the rewrite replaces (0-based)
    end: int  # one past the last line it replaces
    first: int  # the 0-based line of the session text's first line
    text: str  # the session, dedented
    indent: str  # where a directive replacing it goes
    intro: int | None = None  # the line holding the ``::`` of a literal block
    options: dict[str, str] = field(default_factory=dict)  # caption and name, kept
    examples: list[doctest.Example] = field(default_factory=list)
    error: str = ""  # why doctest could not read it

    @property
    def line(self) -> int:
        """The 1-based line of the block's first ``>>>``."""
        return self.first + _first_prompt(self.text) + 1

    def shows_exception(self) -> bool:
        return any(pasted_traceback(ex.want) for ex in self.examples) or bool(
            self.error and _HEADER.search(self.text)
        )


def pasted_traceback(want: str) -> str:
    """The part of an example's pasted output that is a traceback ("" when it shows none):
    from the ``Traceback`` header, or the prompt's ``File "<stdin>"`` display of a
    SyntaxError."""
    header = _HEADER.search(want)
    if header:
        return want[header.start() :]
    stdin = _STDIN_FILE.search(want)
    if stdin and re.search(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b", want[stdin.end() :], re.M):
        return want[stdin.start() :]
    return ""


def _first_prompt(text: str) -> int:
    for index, line in enumerate(text.split("\n")):
        if line.lstrip().startswith(">>>"):
            return index
    return 0


def find_blocks(srcdir: Path) -> dict[str, list[Block]]:
    """Every session of every page under ``srcdir``, per page in reading order."""
    pages: dict[str, list[Block]] = {}
    for path in sorted(srcdir.rglob("*")):
        if path.suffix not in (".rst", ".md") or not path.is_file():
            continue
        rel = path.relative_to(srcdir)
        if any(part.startswith((".", "_build")) for part in rel.parts[:-1]):
            continue
        blocks = scan(path.read_text("utf-8"), rel.as_posix())
        if blocks:
            pages[rel.as_posix()] = blocks
    return pages


def scan(text: str, rel: str) -> list[Block]:
    lines = text.splitlines()
    syntax = "myst" if rel.endswith(".md") else "rst"
    found = _scan_myst(lines, rel) if syntax == "myst" else _scan_rst(lines, rel)
    for block in found:
        try:
            block.examples = doctest.DocTestParser().get_examples(block.text, rel)
        except ValueError as exc:
            block.error = " ".join(str(exc).split())
    return [b for b in found if b.examples or b.error]


def _blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _extent(lines: list[str], i: int, base: int) -> int:
    """One past the last line of the indented body of the construct at line ``i``."""
    j = i + 1
    while j < len(lines) and (_blank(lines[j]) or _indent(lines[j]) > base):
        j += 1
    while j > i + 1 and _blank(lines[j - 1]):
        j -= 1
    return j


def _dedent(lines: list[str]) -> str:
    width = min((_indent(line) for line in lines if line.strip()), default=0)
    return "\n".join(line[width:] for line in lines) + "\n"


def _session(lines: list[str]) -> bool:
    first = next((line for line in lines if line.strip()), "")
    return first.lstrip().startswith(">>>")


# -- reStructuredText ---------------------------------------------------------------------------


def _scan_rst(lines: list[str], rel: str) -> list[Block]:
    blocks: list[Block] = []
    i, after_blank = 0, True
    while i < len(lines):
        line = lines[i]
        if _blank(line):
            i, after_blank = i + 1, True
            continue
        base = _indent(line)
        directive = _DIRECTIVE.match(line)
        if directive:
            i = _rst_directive(lines, i, directive, rel, blocks)
        elif _EXPLICIT.match(line):
            i = _extent(lines, i, base)
        elif after_blank and line.lstrip().startswith(">>>"):
            j = i
            while j < len(lines) and not _blank(lines[j]):
                j += 1
            text = _dedent(lines[i:j])
            blocks.append(Block(rel, "rst", "doctest", i, j, i, text, " " * base))
            i = j
        else:
            i = _rst_paragraph(lines, i, rel, blocks)
        after_blank = False
    return blocks


def _rst_directive(lines: list[str], i: int, match: re.Match, rel: str, out: list[Block]) -> int:
    base = len(match.group(1))
    name = match.group(2).lower()
    argument = (match.group(3) or "").strip()
    end = _extent(lines, i, base)
    if name in BODY_DIRECTIVES:
        return i + 1  # its content is read as the page goes on
    if name not in CODE_DIRECTIVES:
        return end
    if name != "doctest" and argument.split()[:1] not in ([], *([lang] for lang in LANGUAGES)):
        return end
    j, options = i + 1, {}
    while j < end and not _blank(lines[j]):
        option = _OPTION.match(lines[j])
        if option and option.group(1) in ("caption", "name"):
            options[option.group(1)] = (option.group(2) or "").strip()
        j += 1
    content = lines[j:end]
    if _session(content):
        first = j + next(k for k, line in enumerate(content) if line.strip())
        text = _dedent(lines[first:end])
        out.append(Block(rel, "rst", "code", i, end, first, text, " " * base, None, options))
    return end


def _rst_paragraph(lines: list[str], i: int, rel: str, out: list[Block]) -> int:
    j = i
    while j < len(lines) and not _blank(lines[j]):
        j += 1
    last = lines[j - 1].rstrip()
    if not last.endswith("::") or _DIRECTIVE.match(last):
        return j
    item = _LIST_ITEM.match(lines[i])
    body = _indent(lines[j - 1]) if j - 1 > i else (len(item.group(1)) if item else _indent(last))
    k = j
    while k < len(lines) and _blank(lines[k]):
        k += 1
    if k >= len(lines) or _indent(lines[k]) <= body:
        return k  # a quoted literal block, or none: nothing of ours
    end = _extent(lines, k, body)
    if _session(lines[k:end]):
        text = _dedent(lines[k:end])
        out.append(Block(rel, "rst", "literal", k, end, k, text, " " * body, j - 1))
    return end


# -- MyST ---------------------------------------------------------------------------------------


def _scan_myst(lines: list[str], rel: str) -> list[Block]:
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, marks, info = fence.groups()
        end = _fence_end(lines, i, marks)
        if _myst_language(info) is not None:
            block = _fence_block(lines, (i, end), rel, len(indent), info.startswith("{"))
            if block is not None:
                blocks.append(block)
        i = end + 1
    return blocks


def _fence_end(lines: list[str], i: int, marks: str) -> int:
    closing = re.compile(r"^\s*" + re.escape(marks[0]) + f"{{{len(marks)},}}\\s*$")
    for j in range(i + 1, len(lines)):
        if closing.match(lines[j]):
            return j
    return len(lines) - 1


def _myst_language(info: str) -> str | None:
    """The language of a fence that may hold a session, or None."""
    words = info.split()
    if not words:
        return None
    head = words[0]
    if head.startswith("{") and head.endswith("}"):
        name = head[1:-1]
        if name == "doctest":
            return "pycon"
        if name in ("code-block", "code", "sourcecode"):
            lang = words[1] if len(words) > 1 else ""
            return lang if lang in LANGUAGES else None
        return None
    return head if head in LANGUAGES else None


def _fence_block(
    lines: list[str], span: tuple[int, int], rel: str, width: int, directive: bool
) -> Block | None:
    i, end = span
    j, options = i + 1, {}
    if directive and j < end and lines[j].strip() == "---":  # options as a YAML block
        close = next((k for k in range(j + 1, end) if lines[k].strip() == "---"), None)
        if close is not None:
            for k in range(j + 1, close):
                key, _, value = lines[k].partition(":")
                if key.strip() in ("caption", "name"):
                    options[key.strip()] = value.strip()
            j = close + 1
    if directive:  # a directive fence: its options come first
        while j < end:
            option = _OPTION.match(lines[j])
            if not option:
                break
            if option.group(1) in ("caption", "name"):
                options[option.group(1)] = (option.group(2) or "").strip()
            j += 1
    content = lines[j:end]
    if not _session(content):
        return None
    first = j + next(k for k, line in enumerate(content) if line.strip())
    text = _dedent(lines[first:end])
    return Block(rel, "myst", "fence", i, end + 1, first, text, " " * width, None, options)
