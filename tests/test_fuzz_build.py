"""Property test of snippet source through a real build: random unicode, NUL, lone surrogates,
control characters, huge lines, random options. The extension never raises; every problem it
reports is one ``layertrace`` line at a directive's own line; every snippet with code is on the
page.

Each example is a real Sphinx build (``sphinx.testing``) whose snippets run in real children,
so the ``ci`` profile draws very few (``make fuzz`` draws hundreds).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from io import StringIO
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# What str.splitlines() (and so docutils) breaks a line at: kept out of a line's characters so
# the snippet stays inside its directive; "\n" joins the lines.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
chars = st.characters(codec=None, exclude_categories=(), exclude_characters=LINE_BREAKS)
nasty = st.sampled_from(["\x00", "\x1b[31m", "\ud800", "\udcff", "\x7f", "\u202e", "\ufeff", "\t"])
line_text = st.lists(st.text(chars, max_size=30) | nasty, max_size=5).map("".join)
huge = st.builds(lambda c, n: c * n, st.text(chars, min_size=1, max_size=3), st.integers(1, 40_000))


def _code_from(template: str, text: str) -> str:
    return {
        "raw": text,
        "print": f"print({text!r})",
        "raise": f"raise OSError(5, {text!r})",
        "bytes": f"import sys\nsys.stdout.buffer.write({text.encode('utf-8', 'surrogatepass')!r})",
        "string": f"x = {text!r}\nx",
    }[template]


templates = st.sampled_from(["raw", "print", "raise", "bytes", "string"])
snippet_code = st.builds(_code_from, templates, line_text | huge)
codes = st.lists(snippet_code, min_size=1, max_size=3).map("\n".join)
option_names = st.sampled_from(
    ["expect", "style", "timeout", "python", "caption", "hide-code", "x"]
)
options = st.lists(st.tuples(option_names, line_text), max_size=2)


def _page(snippets: list[tuple[list[tuple[str, str]], str]]) -> tuple[str, list[int]]:
    """The page's text and the line of each directive."""
    lines = ["Fuzz", "====", ""]
    where = []
    for opts, code in snippets:
        where.append(len(lines) + 1)
        lines.append(".. layertrace::")
        lines += [f"   :{name}: {value}".rstrip() for name, value in opts]
        lines.append("")
        lines += [f"   {line}".rstrip() for line in code.split("\n")]
        lines.append("")
    return "\n".join(lines) + "\n", where


BLOCK = re.compile(r'<div class="layertrace[ "]')
WARNING = re.compile(r"^(?P<file>[^\n]*?):(?P<line>\d+): (?:WARNING|ERROR): (?P<text>.*)$", re.M)


@settings(
    max_examples=max(3, settings.default.max_examples // 20),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(options, codes), min_size=1, max_size=4))
def test_any_snippet_source_builds_with_one_line_per_problem(snippets) -> None:
    from sphinx.testing.util import SphinxTestApp

    text, where = _page(snippets)
    base = Path(tempfile.mkdtemp(prefix="lt-fuzz-"))
    try:
        src = base / "src"
        src.mkdir()
        (src / "conf.py").write_text(
            'extensions = ["sphinx_layertrace"]\nlayertrace_timeout = 5\n'
            f"layertrace_cache_dir = {str(base / 'cache')!r}\n",
            encoding="utf-8",
        )
        # a lone surrogate cannot be stored in UTF-8: the author writes its escape
        (src / "index.rst").write_bytes(text.encode("utf-8", "backslashreplace"))
        warnings = StringIO()
        app = SphinxTestApp("html", srcdir=src, builddir=base / "build", warning=warnings)
        try:
            app.build()  # an exception of ours fails the example here, with its traceback
        finally:
            app.cleanup()
        log = warnings.getvalue()
        html = (base / "build" / "html" / "index.html").read_text(encoding="utf-8")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    _check_log(log, where)
    empty = sum(1 for line in log.splitlines() if "needs Python code" in line)
    assert len(BLOCK.findall(html)) == len(snippets) - empty


def _check_log(log: str, where: list[int]) -> None:
    assert "Traceback" not in log and "Exception occurred" not in log, log
    for line in log.splitlines():
        found = WARNING.match(line)
        assert found, line
        assert found["text"].startswith("layertrace: ") and "[layertrace." in line, line
        assert int(found["line"]) in where, (line, where)
