"""Bad input, secrets and the smaller options: each is one clear message, and the build goes on.

Builds run as real ``sphinx-build`` processes, as an author would run them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SENTINEL = "s3ntinel-Value-4f9a"


def build(tmp_path: Path, index: str, conf: str = "", builder: str = "html", env=None):
    """Write a one-page project and build it; return (exit code, stderr, output dir)."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text(
        'extensions = ["sphinx_layertrace"]\n'
        "layertrace_timeout = 5\n"
        f"layertrace_cache_dir = {str(tmp_path / 'cache')!r}\n" + textwrap.dedent(conf),
        encoding="utf-8",
    )
    (src / "index.rst").write_text(textwrap.dedent(index), encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-N", "-q", "-b", builder, str(src), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return done.returncode, done.stderr, out


@pytest.mark.parametrize(
    ("setting", "names"),
    [
        ("layertrace_timeout = -1", "layertrace_timeout must be a positive number"),
        ("layertrace_timeout = 'soon'", "layertrace_timeout must be a positive number"),
        ("layertrace_execute = 'sometimes'", "layertrace_execute must be one of auto"),
        ("layertrace_layers = {'requests': 'network'}", "layertrace_layers entry 'requests'"),
        ("layertrace_layers = {'mylib': ('transport',)}", "entry 'mylib' maps to ('transport',)"),
        ("layertrace_layers = {'my lib': 'transport'}", "entry 'my lib' is not a module name"),
        ("layertrace_fold = -2", "layertrace_fold must be a whole number of frames"),
        ("layertrace_fold = 'many'", "layertrace_fold must be a whole number of frames"),
        ("layertrace_show_args = 'no'", "layertrace_show_args must be True or False"),
        ("layertrace_errno_url = 'https://example.org/'", "must be a URL template"),
        ("layertrace_errno_url = 'https://e.org/{name}#{anchor}'", "may use only {name}"),
        ("layertrace_env = {'A_TOKEN': 's3cr3t-value', 'B': 2}", "entry 'B' (a int)"),
        ("layertrace_env = {'A': 1}", "layertrace_env entry 'A'"),
        ("layertrace_max_output = 10", "layertrace_max_output must be a number of bytes"),
        ("layertrace_interpreters = ['3.12']", "layertrace_interpreters must be a dict"),
        ("layertrace_source_links = 'yes'", "layertrace_source_links must be True or False"),
    ],
)
def test_a_bad_config_value_is_one_clear_error(tmp_path, setting, names):
    index = "Title\n=====\n\n.. layertrace::\n\n   1 / 0\n"
    code, stderr, out = build(tmp_path, index, conf=setting)
    errors = [line for line in stderr.splitlines() if line.strip()]
    assert len(errors) == 1, stderr
    assert re.search(r"conf\.py:4: ERROR: .*using the default .*\[layertrace\.config\]", errors[0])
    assert names in errors[0], stderr
    assert code == 0  # the build went on with the default ...
    assert "ZeroDivisionError" in (out / "index.html").read_text("utf-8")  # ... and ran
    assert "s3cr3t-value" not in stderr  # an env error names the entry, never the values


def test_bad_directive_options_warn_at_their_line_and_the_build_goes_on(tmp_path):
    index = """\
        Title
        =====

        .. layertrace::
           :style: sideways

           1 / 0

        .. layertrace::
           :timeout: -3

           1 / 0

        .. layertrace::
           :expect: not-a-name!

           1 / 0

        .. layertrace::

        .. layertrace::
           :expcet: ZeroDivisionError

           1 / 0

        .. layertrace::
           :hide-code: yes

           1 / 0
        """
    code, stderr, out = build(tmp_path, index)
    assert code == 0, stderr
    lines = stderr.splitlines()  # every problem is exactly one line: no echo of the snippet
    assert len(lines) == 6, stderr
    for line, where in zip(lines, (4, 9, 14, 19, 21, 26), strict=True):
        assert re.search(
            rf"index\.rst:{where}: WARNING: layertrace: .*\[layertrace\.option\]$", line
        )
    assert "option :style: must be repl or script (got 'sideways')" in lines[0]
    assert "option :timeout: must be a positive number of seconds (got '-3')" in lines[1]
    assert "unknown option :expcet: (did you mean :expect:?)" in lines[4]
    assert "option :hide-code: takes no value (got 'yes'); the default is used" in lines[5]
    assert "Traceback" not in stderr
    assert "ZeroDivisionError: division by zero" in (out / "index.html").read_text("utf-8")


def test_no_secret_of_the_build_environment_reaches_any_artifact(tmp_path):
    index = """\
        Title
        =====

        .. layertrace::

           import os
           print(os.environ)
           print(open("/proc/%d/environ" % os.getppid(), "rb").read())
           raise RuntimeError(os.environ.get("MY_API_TOKEN", "hidden"))
        """
    code, stderr, out = build(tmp_path, index, env={"MY_API_TOKEN": SENTINEL})
    assert code == 0, stderr
    assert SENTINEL not in stderr
    for root in (out, tmp_path / "cache"):
        for path in root.rglob("*"):
            if path.is_file():
                assert SENTINEL.encode() not in path.read_bytes(), path


def test_env_class_and_source_links_options(tmp_path):
    index = """\
        Title
        =====

        .. layertrace::
           :class: wide

           import os, smtplib
           print(os.environ["GREETING"].upper())
           smtplib.SMTP("127.0.0.1", 9)
        """
    conf = "layertrace_env = {'GREETING': 'hello from conf.py'}\nlayertrace_source_links = False\n"
    code, stderr, out = build(tmp_path, index, conf=conf)
    assert code == 0, stderr
    html = (out / "index.html").read_text("utf-8")
    assert "HELLO FROM CONF.PY" in html  # the snippet got it (the value itself is redacted)
    assert re.search(r'<div class="layertrace[^"]*\bwide\b', html)
    assert "github.com/python/cpython" not in html
    assert 'data-layer="application"' in html


def test_errno_links_use_the_projects_intersphinx_inventory(tmp_path):
    """With a ``python`` intersphinx mapping the errno link is its target (no fetching here)."""
    inventory_src = tmp_path / "pydocs"
    inventory_src.mkdir()
    (inventory_src / "conf.py").write_text("", encoding="utf-8")
    (inventory_src / "index.rst").write_text(
        ".. py:module:: errno\n\n.. py:data:: ECONNREFUSED\n\n   Connection refused.\n",
        encoding="utf-8",
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-q",
            "-b",
            "html",
            str(inventory_src),
            str(tmp_path / "inv"),
        ],
        check=True,
        timeout=120,
    )
    conf = f"""\
        extensions.append("sphinx.ext.intersphinx")
        intersphinx_mapping = {{
            "python": ("https://python.example/3", {str(tmp_path / "inv" / "objects.inv")!r}),
        }}
        """
    index = (
        "Title\n=====\n\n.. layertrace::\n\n"
        "   import socket\n   socket.create_connection(('127.0.0.1', 9))\n"
    )
    code, stderr, out = build(tmp_path, index, conf=conf)
    assert code == 0, stderr
    html = (out / "index.html").read_text("utf-8")
    assert "https://python.example/3/index.html#errno.ECONNREFUSED" in html
    assert "docs.python.org/3/library/errno.html" not in html


def test_build_machine_tags_select_platform_prose(tmp_path):
    index = """\
        Title
        =====

        .. only:: layertrace_linux

           Linux prose.

        .. only:: layertrace_win32

           Windows prose.

        .. only:: layertrace_py{}_{}

           This Python.
        """.format(*sys.version_info[:2])
    code, stderr, out = build(tmp_path, index)
    assert code == 0, stderr
    text = (out / "index.html").read_text("utf-8")
    assert ("Linux prose." in text) == sys.platform.startswith("linux")
    assert "Windows prose." not in text
    assert "This Python." in text


OPTION_BLOCKS = [
    ":expect: ConnectionRefusedError\n\nimport socket\n",
    ":caption: A caption that goes\n   on to a second line\n:hide-code:\n\n1 / 0\n",
    ":CAPTION: Upper case name\n:style: script\n:timeout: 2.5\n\nx = 1\ny = 2\n",
    ":caption: escaped \\*stars\\* and a \\\\ backslash\n\n1 / 0\n",
    ":caption:\n   value on the next line\n\n1 / 0\n",
    ":caption: two blank lines before the code\n\n\n1 / 0\n",
    "import socket\nsocket.socket()\n",
]


@pytest.mark.parametrize("block", OPTION_BLOCKS)
def test_split_options_reads_what_docutils_reads(block):
    """The directive reads its own option block; docutils' reading of it is the reference."""
    from docutils.core import publish_doctree
    from docutils.parsers.rst import Directive, directives

    from sphinx_layertrace.sphinxext.directive import split_options

    seen = {}

    class AnyOption(dict):
        def __bool__(self):
            return True

        def __getitem__(self, key):
            return directives.unchanged

    class Reference(Directive):
        has_content = True
        option_spec = AnyOption()

        def run(self):
            seen.update(options=dict(self.options), content=list(self.content))
            return []

    directives.register_directive("reference-block", Reference)
    source = ".. reference-block::\n" + "".join(f"   {line}\n" for line in block.splitlines())
    publish_doctree(source, settings_overrides={"report_level": 5})
    options, lines, problems = split_options(block.splitlines())
    assert options == {k: v or "" for k, v in seen["options"].items()}
    assert lines == seen["content"]
    assert problems == []


def test_an_option_line_after_code_is_code():
    """docutils would lift ``:not:`` out of the first paragraph as an option; it is code."""
    from sphinx_layertrace.sphinxext.directive import split_options

    assert split_options(["# a comment", ":not: an option"]) == (
        {},
        ["# a comment", ":not: an option"],
        [],
    )


def test_options_docutils_would_refuse_are_read_with_one_warning_at_most(tmp_path):
    index = """\
        Title
        =====

        .. layertrace::
           :caption: Given twice
           :caption: Given twice, and this one wins
           1 / 0
        """
    code, stderr, out = build(tmp_path, index)
    assert code == 0, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert re.search(r"index\.rst:4: WARNING: layertrace: option :caption: is given tw", lines[0])
    html = (out / "index.html").read_text("utf-8")
    assert "Given twice, and this one wins" in html  # docutils: "invalid option block", no run
    assert "ZeroDivisionError: division by zero" in html


def test_code_on_the_directive_line_comes_before_the_option_block(tmp_path):
    index = """\
        Title
        =====

        .. layertrace:: import socket
           :caption: Refused on the loopback
           :style: script


           socket.create_connection(("127.0.0.1", 9))
        """
    code, stderr, out = build(tmp_path, index)
    assert code == 0 and not stderr, stderr
    html = (out / "index.html").read_text("utf-8")
    assert "Refused on the loopback" in html  # the caption was read as an option ...
    assert "&gt;&gt;&gt;" not in html  # ... and so was the style
    # the code is the first line, then the call after the blank lines, as docutils reads it
    assert 'File "example.py", line 4' in html
    assert "ConnectionRefusedError" in html and "SyntaxError" not in html


def test_options_still_apply_when_docutils_reads_them_itself(make_app, tmp_path):
    """An extension that subclasses the directive with a plain option spec makes docutils read
    the option block itself: the directive must still see and apply the options."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        "from docutils.parsers.rst import directives\n"
        "from sphinx_layertrace.sphinxext.directive import LayertraceDirective\n"
        "class Trace(LayertraceDirective):\n"
        "    option_spec = {'caption': directives.unchanged, 'style': directives.unchanged}\n"
        "def setup(app):\n"
        "    app.add_directive('trace', Trace)\n"
        f'extensions = ["sphinx_layertrace"]\nlayertrace_cache_dir = {str(tmp_path / "cache")!r}\n'
    )
    (src / "index.rst").write_text(
        "T\n=\n\n.. trace:: x = 1\n   :caption: Read by docutils\n   :style: script\n\n   1 / 0\n"
    )
    app = make_app("html", srcdir=src)
    app.build()
    html = (Path(app.outdir) / "index.html").read_text("utf-8")
    assert "Read by docutils" in html and "&gt;&gt;&gt;" not in html
    assert 'File "example.py", line 3' in html  # x = 1, the blank line, then 1 / 0
    assert app._warning.getvalue() == ""


def test_fold_and_show_args_options_warn_at_their_line(tmp_path):
    index = """\
        Title
        =====

        .. layertrace::
           :fold: many

           1 / 0

        .. layertrace::
           :show-args: perhaps

           1 / 0

        .. layertrace::
           :fold: 0
           :show-args: no

           1 / 0
        """
    code, stderr, out = build(tmp_path, index)
    assert code == 0, stderr
    lines = stderr.splitlines()
    assert len(lines) == 2, stderr
    assert re.search(
        r"index\.rst:4: WARNING: layertrace: option :fold: must be a whole number", lines[0]
    )
    assert re.search(
        r"index\.rst:9: WARNING: layertrace: option :show-args: must be yes or no", lines[1]
    )
    assert (out / "index.html").read_text("utf-8").count('class="layertrace"') == 3
