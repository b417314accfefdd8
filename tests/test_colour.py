"""CPython 3.13's own traceback colours: classes in HTML, nothing of them anywhere else."""

from __future__ import annotations

import glob
import json
import os
import shutil
from io import StringIO
from pathlib import Path

import pytest

from sphinx_layertrace.render import colour

#: what CPython 3.13.0 prints for ``1/0`` in a function, PYTHON_COLORS=1
SAMPLE = (
    "Traceback (most recent call last):\n"
    '  File \x1b[35m"/tmp/x.py"\x1b[0m, line \x1b[35m2\x1b[0m, in \x1b[35mf\x1b[0m\n'
    "    def f(): return \x1b[31m1\x1b[0m\x1b[1;31m/\x1b[0m\x1b[31m0\x1b[0m\n"
    "                    \x1b[31m~\x1b[0m\x1b[1;31m^\x1b[0m\x1b[31m~\x1b[0m\n"
    "\x1b[1;35mZeroDivisionError\x1b[0m: \x1b[35mdivision by zero\x1b[0m\n"
)


def _python313() -> str | None:
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13.*/bin/python3")))
    return found[-1] if found else None


PY313 = _python313()
needs_313 = pytest.mark.skipif(PY313 is None, reason="no CPython 3.13 installed (pyenv)")


def test_the_sgr_codes_become_spans_over_the_plain_text():
    plain, spans = colour.parse(SAMPLE)
    assert "\x1b" not in plain
    assert plain.endswith("ZeroDivisionError: division by zero\n")
    named = {plain[s:e]: classes for s, e, classes in spans}
    assert named["ZeroDivisionError"] == "lt-ansi-magenta lt-ansi-bold"
    assert named['"/tmp/x.py"'] == "lt-ansi-magenta"
    assert named["/"] == "lt-ansi-red lt-ansi-bold"
    html = colour.html(plain, spans)
    assert '<span class="lt-ansi-magenta lt-ansi-bold">ZeroDivisionError</span>' in html
    assert "&quot;" not in html and '"/tmp/x.py"' in html  # text escaped as the writer does


def test_colours_that_do_not_fit_the_plain_text_are_dropped():
    plain, _ = colour.parse(SAMPLE)
    assert colour.spans_for(plain, SAMPLE)
    assert colour.spans_for(plain.replace("/tmp", "<tmp>"), SAMPLE) is None  # masked apart
    assert colour.spans_for(plain, "") is None


def test_split_gives_each_piece_its_own_share():
    text = "ab" + "cd"
    shares = colour.split(["ab", None, "cd"], [(1, 3, "lt-ansi-red")])
    assert shares == [[[1, 2, "lt-ansi-red"]], [], [[0, 1, "lt-ansi-red"]]]
    assert text[1:3] == "bc"


@pytest.fixture
def colour_root(rootdir, tmp_path, monkeypatch):
    src = tmp_path / "src"
    shutil.copytree(rootdir / "test-colour", src)
    monkeypatch.setenv("LT_PYTHON313", PY313 or "")
    return src


def _build(make_app, builder, src, **overrides):
    status, warnings = StringIO(), StringIO()
    app = make_app(builder, srcdir=src, status=status, warning=warnings, confoverrides=overrides)
    app.build()
    assert warnings.getvalue() == "", warnings.getvalue()
    return app


def _all_output(outdir: Path) -> str:
    return "".join(
        p.read_text("utf-8", "replace")
        for p in outdir.rglob("*")
        if p.is_file() and p.suffix in (".html", ".txt", ".tex", ".js")
    )


@needs_313
def test_html_shows_cpythons_colours_as_classes(make_app, colour_root, tmp_path):
    app = _build(make_app, "html", colour_root)
    page = Path(app.outdir, "index.html").read_text("utf-8")
    assert '<span class="lt-ansi-magenta lt-ansi-bold">ValueError</span>' in page
    assert 'class="lt-ansi-red' in page  # the carets and what they point at
    assert "\x1b" not in _all_output(Path(app.outdir))
    # the cache keeps both texts: the plain one without a single escape code
    entries = list((tmp_path / "cache").glob("*.json"))
    assert len(entries) == 1
    exc = json.loads(entries[0].read_text("utf-8"))["capture"]["exception"]
    assert "\x1b" not in exc["formatted"] and "ValueError: invalid literal" in exc["formatted"]
    assert "\x1b[1;35mValueError\x1b[0m" in exc["colored"]


@needs_313
def test_layertrace_color_false_keeps_html_plain(make_app, colour_root):
    app = _build(make_app, "html", colour_root, layertrace_color=False)
    page = Path(app.outdir, "index.html").read_text("utf-8")
    assert "ValueError: invalid literal for int()" in page
    assert "lt-ansi-" not in page


@needs_313
@pytest.mark.parametrize("builder", ["text", "latex"])
def test_text_and_latex_have_no_escape_codes(make_app, colour_root, builder):
    app = _build(make_app, builder, colour_root)
    output = _all_output(Path(app.outdir))
    assert "invalid literal for int() with base 10" in output
    assert "\x1b" not in output and "[35m" not in output and "[0m" not in output


def test_an_interpreter_without_colours_records_none(make_app, rootdir, tmp_path, monkeypatch):
    """The interpreter running the tests (3.11 here) has no ``_colorize``: nothing coloured."""
    src = tmp_path / "src"
    shutil.copytree(rootdir / "test-colour", src)
    index = src / "index.rst"
    index.write_text(index.read_text("utf-8").replace("   :python: 3.13\n", ""), "utf-8")
    app = _build(make_app, "html", src)
    page = Path(app.outdir, "index.html").read_text("utf-8")
    entry = json.loads(next((tmp_path / "cache").glob("*.json")).read_text("utf-8"))
    import sys

    if sys.version_info < (3, 13):
        assert "colored" not in entry["capture"]["exception"]
        assert "lt-ansi-" not in page
    else:
        assert "lt-ansi-" in page


def test_a_linked_file_name_keeps_its_colour_and_its_link():
    from sphinx_layertrace.render.nodes import _frame_html

    text = '  File "<stdlib>/socket.py", line 9, in connect\n    sock.connect(sa)\n'
    start = text.index('"')
    segment = {
        "kind": "frame",
        "text": text,
        "layer": "transport",
        "filename": "<stdlib>/socket.py",
        "href": "https://github.com/python/cpython/blob/v3.13.0/Lib/socket.py#L9",
        "colors": [[start, start + 20, "lt-ansi-magenta"], [55, 56, "lt-ansi-red"]],
    }
    html = _frame_html(segment)
    assert (
        '<span class="lt-ansi-magenta">"</span><a class="lt-source" href="https://github.com/'
        'python/cpython/blob/v3.13.0/Lib/socket.py#L9"><span class="lt-ansi-magenta">'
        '&lt;stdlib&gt;/socket.py</span></a><span class="lt-ansi-magenta">"</span>'
    ) in html
    assert '<span class="lt-ansi-red">' in html.split("\n", 1)[1]
