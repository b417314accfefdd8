"""The ``layertrace`` and ``layertrace-setup`` directives (reStructuredText and MyST alike).

At read time a snippet becomes a :class:`~.nodes.layertrace_pending` node carrying only
primitives: its code, options and the setup code above it. Running happens elsewhere, early
and in batches (:mod:`.session`); rendering happens at write time (:mod:`.resolve`).
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.utils import escape2null, unescape
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from sphinx_layertrace.meaning.expect import parse_expect
from sphinx_layertrace.render.nodes import layertrace_pending, layertrace_target
from sphinx_layertrace.sphinxext import warnings

SETUP_KEY = "layertrace_setup"
logger = logging.getLogger(__name__)


def _style(argument: str) -> str:
    if argument not in ("repl", "script"):
        raise ValueError("must be repl or script")
    return argument


def _seconds(argument: str) -> float:
    try:
        value = float(argument)
    except (TypeError, ValueError):
        value = 0.0
    if not value > 0:
        raise ValueError("must be a positive number of seconds")
    return value


def _labels(argument: str) -> list[str]:
    labels = [part.strip() for part in (argument or "").split(",") if part.strip()]
    if not labels:
        raise ValueError("needs at least one label")
    return labels


def _flag(argument: str) -> None:
    if argument and argument.strip():
        raise ValueError("takes no value")


def _fold(argument: str) -> int:
    text = (argument or "").strip()
    if not text.isdigit():
        raise ValueError("must be a whole number of frames (0 never folds)")
    return int(text)


_YES_NO = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def _yes_no(argument: str) -> bool:
    """``:show-args:`` alone means yes, as a flag would."""
    text = (argument or "yes").strip().lower()
    if text not in _YES_NO:
        raise ValueError("must be yes or no")
    return _YES_NO[text]


def _expect(argument: str) -> list[str]:
    return list(parse_expect(argument or ""))


#: The option converters, applied by the directive itself (see :func:`split_options`).
OPTIONS: dict[str, Callable[[str], Any]] = {
    "expect": _expect,
    "style": _style,
    "timeout": _seconds,
    "python": _labels,
    "hide-code": _flag,
    "caption": directives.unchanged,
    "name": directives.unchanged,
    "class": directives.class_option,
    "platforms": _labels,
    "fold": _fold,
    "show-args": _yes_no,
}

_FIELD = re.compile(r":((?:[^:\\\s]|\\.)(?:[^:\\]|\\.)*):(?:\s+(.*))?$")


def split_options(
    lines: Sequence[str], *, keep_blank: bool = False
) -> tuple[dict[str, str], list[str], list[str]]:
    """The leading ``:name: value`` block of a directive's content, and the code after it.

    The syntax docutils reads (continuation lines indented, blank lines before the code, kept
    with ``keep_blank`` as docutils keeps them after code on the directive's line); a test holds
    this reading to docutils' own. Python code never starts with a colon, so the block cannot
    swallow a snippet. Returns the raw values, the code's lines and one-line problems (an option
    given twice).
    """
    options: dict[str, str] = {}
    problems: list[str] = []
    index, name = 0, ""
    while index < len(lines):
        line = lines[index]
        field = _FIELD.match(line)
        if field:
            name = unescape(escape2null(field.group(1))).lower()
            if name in options:
                problems.append(f"option :{name}: is given twice; the last one is used")
            options[name] = (field.group(2) or "").strip()
        elif name and line[:1].isspace() and line.strip():
            options[name] = f"{options[name]}\n{line.strip()}".lstrip("\n")
        else:
            break
        index += 1
    while options and not keep_blank and index < len(lines) and not lines[index].strip():
        index += 1
    return options, list(lines[index:]), problems


class _OptionSpec(dict):
    """Every option name with its raw value, so the directive judges names and values itself
    (a typo is one warning that suggests the right name, not docutils' error that echoes the
    whole snippet).

    Falsy only to docutils' reStructuredText parser, which then leaves the option block in the
    content for :func:`split_options`: docutils builds two nested state machines to read an
    option block, 0.33 ms per directive, a third of all this extension costs a build per
    snippet taken from the cache. MyST (and anything else) sees a spec that takes every option,
    and reads its own option forms and attribute blocks as usual.
    """

    def __bool__(self) -> bool:
        return sys._getframe(1).f_globals.get("__name__") != "docutils.parsers.rst.states"

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> Callable[[str], Any]:
        return directives.unchanged


def _last_statement(code: str) -> str:
    """The first line of the last top-level statement (``socket.create_connection(`` of a call
    spread over lines), or the last line that is not a comment when the code does not parse."""
    lines = code.splitlines()
    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):
        body = []
    if body:
        return lines[body[-1].lineno - 1].strip()
    meaningful = [line.strip() for line in lines if line.strip()]
    statements = [line for line in meaningful if not line.startswith("#")]
    return (statements or meaningful or ["snippet"])[-1]


def _in_myst(state: Any) -> bool:
    return type(state).__module__.startswith("myst_parser")


class LayertraceDirective(SphinxDirective):
    """Run the content as Python and show what really happens."""

    has_content = True
    option_spec: ClassVar[dict[str, Any]] = _OptionSpec(OPTIONS)

    def run(self) -> list[nodes.Node]:
        raw, lines = dict(self.options), list(self.content)
        if not _in_myst(self.state):  # docutils left the option block in the content
            # code on the directive's own line (``.. layertrace:: 1 / 0``) comes before it
            first = lines[:1] if self.content_offset == self.lineno - 1 else []
            parsed, lines, problems = split_options(lines[len(first) :], keep_blank=bool(first))
            raw.update(parsed)  # (a docutils that read them itself left nothing here)
            lines = first + lines
            for problem in problems:
                self._warn(problem)
        code = "\n".join(lines).rstrip() + "\n"
        if not code.strip():
            self._warn("the layertrace directive needs Python code as its content")
            return []
        self.options = self._checked_options(raw)
        config = self.config
        node = layertrace_pending(
            code=code,
            style=self.options.get("style", "repl"),
            timeout=float(self.options.get("timeout", config.layertrace_timeout)),
            labels=self.options.get("python", []),
            expect=self.options.get("expect", []),
            hide_code="hide-code" in self.options,
            caption=self.options.get("caption", ""),
            platforms=self.options.get("platforms", []),
            setup=list(self.state.document.get(SETUP_KEY, [])),
            classes=self.options.get("class", []),
            fold=self.options.get("fold"),
            show_args=self.options.get("show-args", config.layertrace_show_args),
        )
        self.set_source_info(node)
        if "caption" in self.options:
            return [self._captioned(node)]
        if "name" in self.options:
            return [self._named(node, code)]
        return [node]

    def _checked_options(self, options: dict[str, str]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        for name, raw in options.items():
            convert = OPTIONS.get(name)
            if convert is None:
                close = difflib.get_close_matches(name, OPTIONS, n=1)
                hint = f" (did you mean :{close[0]}:?)" if close else ""
                self._warn(f"unknown option :{name}:{hint}; it is ignored")
                continue
            try:
                checked[name] = convert(raw)
            except (ValueError, TypeError) as exc:
                reason = " ".join(str(exc).split()).removeprefix(f":{name}: ") or "invalid value"
                self._warn(f"option :{name}: {reason} (got {raw!r}); the default is used")
        return checked

    def _warn(self, message: str) -> None:
        warnings.warn(logger, "option", message, self.get_location())

    def _named(self, node: layertrace_pending, code: str) -> nodes.Node:
        """A ``:name:`` without a caption: no visible title, but ``:ref:`` still gets one,
        taken from the first line of the snippet's last statement (the call that fails,
        usually)."""
        last = _last_statement(code)
        target = layertrace_target("", node, title=last if len(last) <= 60 else last[:59] + "…")
        self.set_source_info(target)
        self.add_name(target)
        return target

    def _captioned(self, node: layertrace_pending) -> nodes.Node:
        """Wrap like ``code-block`` does, so ``:ref:`` to ``:name:`` finds the caption."""
        wrapper = nodes.container("", classes=["literal-block-wrapper", "lt-wrapper"])
        wrapper["literal_block"] = True
        title = self.options["caption"]
        caption = nodes.caption(title, title)
        self.set_source_info(caption)
        self.set_source_info(wrapper)
        wrapper += caption
        wrapper += node
        self.add_name(wrapper)
        return wrapper


class LayertraceSetupDirective(SphinxDirective):
    """Hidden code run before every later ``layertrace`` snippet of the same document."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        document = self.state.document
        code = "\n".join(self.content).rstrip() + "\n"
        document[SETUP_KEY] = [*document.get(SETUP_KEY, []), code]
        return []
