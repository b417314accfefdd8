"""How the interactive prompt reads a snippet: its inputs, and where a broken one stops.

A ``repl`` snippet is fed one top-level statement at a time, as a reader types it at
``python -i``: statements sharing a line are one input, a compound statement waits for its
empty line, comment blocks are inputs of their own, and a syntax error ends the session where
the prompt reads the offending line, reported in the prompt's own words.
"""

import ast
import os
import re
import sys

from .protocol import COMPOUND, is_comment, source_lines

_SGR = re.compile("\x1b\\[[0-9;]*m")


def split_statements(code, trees=None):
    """Split source into top-level statements as a REPL user would type them.

    Returns (chunks, error_chunk, waits): when the source does not parse, the statements before
    the broken one still run, and the broken one is compiled alone so its SyntaxError reads
    ``File "<stdin>", line N`` exactly like the prompt. ``waits`` lists the indexes of the
    chunks the prompt runs only after an empty line (compound statements), as this very
    interpreter parses them. The tree of what parsed is appended to ``trees`` when given.
    """
    lines = source_lines(code)
    tree, error_line = _parse_prefix(code, lines)
    if trees is not None:
        trees.append(tree)
    chunks = []  # type: list[str]
    waits = []
    last = 0
    for start, end, compound in _spans(tree):
        _comments(lines[last : start - 1], chunks)
        if compound:
            waits.append(len(chunks))
            # comment lines typed right after the block are still part of it: the prompt only
            # ends it at an empty line
            while end < len(lines) and _continues_block(lines[end]):
                end += 1
        chunk = "".join(lines[start - 1 : end])
        chunks.append(chunk if chunk.endswith("\n") else chunk + "\n")
        last = end
    if error_line is None:
        _comments(lines[last:], chunks)
        return chunks, None, waits
    # comment lines before the broken statement are inputs of their own, as at the prompt
    first = last
    while first < len(lines) and is_comment(lines[first]):
        first += 1
    _comments(lines[last:first], chunks)
    rest = "".join(lines[first:])
    return chunks, rest or "\n", waits


def _parse_prefix(code, lines):
    """The tree of ``code``, or of its longest prefix that parses, and the broken line (None
    when all of it parses)."""
    try:
        return ast.parse(code), None
    except SyntaxError as exc:
        error_line = exc.lineno or 1
    tree = None
    prefix_end = error_line - 1
    while prefix_end > 0:
        try:
            tree = ast.parse("".join(lines[:prefix_end]))
            break
        except SyntaxError:
            prefix_end -= 1
    if tree is None:
        tree = ast.parse("")
    elif tree.body and _block_goes_on(tree.body[-1], lines[prefix_end:]):
        # the broken line belongs to the last block: the prompt reads them as one input and
        # runs none of it
        tree.body = tree.body[:-1]
    return tree, error_line


def _spans(tree):
    """[first line, last line, whether its last statement is compound] per prompt input:
    statements that share a line (``import x; x.f()``) are one input at the prompt, or the
    shared line would run once per statement."""
    spans = []  # type: list[list]
    for node in tree.body:
        start = node.lineno
        for deco in getattr(node, "decorator_list", None) or []:
            start = min(start, deco.lineno)
        end = getattr(node, "end_lineno", None) or _last_line(node)
        compound = isinstance(node, COMPOUND)
        if spans and start <= spans[-1][1]:
            spans[-1][1:] = [max(spans[-1][1], end), compound]
        else:
            spans.append([start, end, compound])
    return spans


def future_flags():
    """The compiler flags of every ``from __future__ import`` feature of this interpreter."""
    import __future__

    flags = 0
    for name in __future__.all_feature_names:
        flags |= getattr(__future__, name).compiler_flag
    return flags


_PROMPT_LINES = 200


def prompt_reads(source):
    """Split ``source``, whose first statement does not parse, into the lines the interactive
    prompt reads before it reports the error and the lines after them.

    The prompt reads on while the input is only incomplete (an open bracket, a block without its
    empty line) and stops at the first line that makes it wrong; ``codeop`` answers "incomplete"
    as the prompt does, and an empty line ends any input. Called only once the snippet is over,
    so ``codeop`` is never among the modules a snippet sees. Past ``_PROMPT_LINES`` lines (each
    try compiles all the lines before it) the whole input counts as read.
    """
    lines = source_lines(source)
    try:
        import codeop
        import warnings
    except ImportError:  # the snippet broke its own imports: show what there is
        return source, ""
    for count in range(1, min(len(lines), _PROMPT_LINES)):
        if not lines[count - 1].strip("\r\n"):  # an empty line: the prompt ends the input here
            return "".join(lines[:count]), "".join(lines[count:])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                codeop.compile_command("".join(lines[:count]), "<stdin>", "single")
        except (SyntaxError, OverflowError, ValueError, MemoryError, RecursionError):
            return "".join(lines[:count]), "".join(lines[count:])
    return source, ""


def prompt_syntax_error(source):
    """The SyntaxError the interactive prompt itself reports for ``source``, or None.

    ``compile()`` words some errors otherwise: an open bracket is "'(' was never closed" to it,
    where the prompt's tokenizer, which asks for more input instead of meeting the end, says
    "invalid syntax. Perhaps you forgot a comma?". So the source is handed to CPython's own
    prompt (``PyRun_InteractiveOneObject`` reading it on file descriptor 0, its prompts sent to
    /dev/null), which leaves the error in ``sys.last_value`` and its report, as python -i
    prints it, in a buffer that ``report.describe`` uses. It only parses: called for input
    whose first statement does not parse, after the snippet is over.
    """
    typed = (source if source.endswith("\n") else source + "\n").encode("utf-8")
    if len(typed) > 60000:  # more than a pipe holds before anyone reads it
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        stdin = ctypes.c_void_p.in_dll(libc, "stdin")
        run = ctypes.pythonapi.PyRun_InteractiveOneObject
    except (ImportError, OSError, AttributeError, ValueError):
        return None
    run.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p]
    run.restype = ctypes.c_int
    saved = _SavedPrompt()
    try:  # whatever the snippet did to its process, a failure here falls back to compile()
        saved.feed(typed)
    except Exception:
        saved.restore()
        return None
    try:
        return _ask_prompt(run, stdin)
    except Exception:
        return None
    finally:
        saved.restore()


def _ask_prompt(run, stdin):
    import io

    sys.stderr = report = io.StringIO()  # the prompt's own words for the error
    sys.ps1, sys.ps2 = ">>> ", "... "
    sys.excepthook = sys.__excepthook__  # not the snippet's hook: the report is ours
    sys.last_value = None
    error = sys.last_value if run(stdin, "<stdin>", None) != 0 else None
    if not isinstance(error, SyntaxError):
        return None
    colored = report.getvalue().lstrip("\n")
    printed = _SGR.sub("", colored)  # 3.13+ colours it (PYTHON_COLORS=1): kept apart
    if printed.rstrip().endswith(type(error).__name__ + ": " + str(error.msg)):
        # what python -i printed, to the byte (less the newline that ends an unfinished
        # prompt line: the page shows each input on its own lines)
        error._layertrace_printed = printed
        error._layertrace_printed_colored = colored if colored != printed else ""
    return error


class _SavedPrompt:
    """Descriptors 0 and 2 and the sys attributes the prompt uses, put back afterwards."""

    _NAMES = ("stderr", "ps1", "ps2", "excepthook")

    def __init__(self):
        self.values = [getattr(sys, name, None) for name in self._NAMES]
        self.fds = []

    def feed(self, typed):
        """Stdin reads ``typed`` from a pipe; stderr (the prompts) goes to /dev/null."""
        read_end, write_end = os.pipe()
        self.fds.append(read_end)
        self.saved = [os.dup(0), os.dup(2)]
        self.fds.extend(self.saved)
        quiet = os.open(os.devnull, os.O_WRONLY)
        self.fds.append(quiet)
        os.write(write_end, typed)
        os.close(write_end)
        os.dup2(read_end, 0)
        os.dup2(quiet, 2)

    def restore(self):
        try:
            if sys.stderr is not self.values[0]:
                sys.stderr.close()
            for name, value in zip(self._NAMES, self.values):  # noqa: B905
                if value is None:
                    sys.__dict__.pop(name, None)
                else:
                    setattr(sys, name, value)
            if len(getattr(self, "saved", ())) == 2:
                os.dup2(self.saved[0], 0)
                os.dup2(self.saved[1], 2)
            for fd in self.fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        except Exception:
            pass  # the snippet replaced what undoes this; it is over, and its report comes next


_CLAUSES = ("elif", "else", "except", "finally", "case")


def _is_clause(line):
    """``else:``, ``except ValueError:``, ``case 1:``... (not ``elsewhere = 1``)."""
    for word in _CLAUSES:
        if line.startswith(word):
            after = line[len(word) : len(word) + 1]
            return not (after.isalnum() or after == "_")
    return False


def _block_goes_on(node, after):
    """Whether the code after a compound statement is still part of it at the prompt: indented,
    or a clause of its own (``else:``, ``except ...:``), with no empty line in between."""
    if not isinstance(node, COMPOUND):
        return False
    for line in after:
        if not line.strip("\r\n"):
            return False  # an empty line ended the block
        if not is_comment(line):
            return line[:1].isspace() or _is_clause(line)
    return False


def _continues_block(line):
    """A line the prompt still reads into an open block: a comment, or blanks that are not an
    empty line (only an empty line ends a block)."""
    text = line.rstrip("\r\n")
    return bool(text) and (not text.strip() or text.lstrip().startswith("#"))


def _comments(lines, chunks):
    """Comment lines between statements are shown as typed, each block as its own input."""
    text = "".join(lines).strip("\n")
    if text.strip():
        chunks.append(text + "\n")


def _last_line(node):
    """``end_lineno`` for Python 3.7-: the largest line number inside the statement."""
    return max(getattr(n, "lineno", 0) or 0 for n in walk(node))


def walk(tree):
    """``ast.walk`` without its function-level ``from collections import deque``: in the
    forking server that import would make ``collections`` visible to every child."""
    todo = [tree]
    while todo:
        node = todo.pop()
        todo.extend(ast.iter_child_nodes(node))
        yield node
