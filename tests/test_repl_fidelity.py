"""``:style: repl`` is faithful: what ``python -i`` prints appears, in order, on the page."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig

import pytest

from sphinx_layertrace.capture.runner import Request, Runner, child_environment
from sphinx_layertrace.meaning.layers import LayerMap
from sphinx_layertrace.render.doctree import RenderOptions, Shown, build
from sphinx_layertrace.render.transcript import session_text

SESSIONS = {
    "echo-then-raise": "x = 1\nx + 1\n1 / 0\n",
    "function-fails-later": "def f():\n    return 1 / 0\n\nf()\n",
    "cause": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    raise ValueError() from e\n",
    "context": "try:\n    {}['k']\nexcept KeyError:\n    raise RuntimeError('ctx')\n",
    "from-none": "try:\n    {}['k']\nexcept KeyError:\n    raise RuntimeError('quiet') from None\n",
    "group": "raise ExceptionGroup('g', [ValueError(1), TypeError(2)])\n",
    "notes": "e = ValueError('x')\ne.add_note('a note')\nraise e\n",
    "syntax": "y = 2\n1 +* 2\n",
    "echoes": "'abc'.upper()\n[1, 2]\nlen('ab')\n",
    "output-first": "print('before')\nint('x')\n",
    "print-in-function": "def g():\n    print('in g')\n    raise KeyError('k')\n\ng()\n",
    "refused": "import socket\nsocket.create_connection(('127.0.0.1', 9))\n",
    "multi-line-call": "import socket\nsocket.create_connection(\n    ('127.0.0.1', 9),\n)\n",
    "one-line-compound": "for i in range(2): print(i)\n\n1 / 0\n",
    "comments": "# first\n# second\nx = 1\nx / 0\n",
    "open-bracket-then-more": "x = 1\ny = (1,\nz = 2\nw = 3\n",
    "open-bracket-in-a-block": "for i in range(3):\n    print(i\nprint('after')\n",
    "broken-inside-a-block": "for i in range(3):\n    print('ran', i)\n    x = = 1\n",
    "broken-clause": "x = 1\nif x:\n    pass\nelif = 3\n",
    "comment-before-the-error": "# a comment\nx = (1,\ny = 2\n",
    "whitespace-line-in-a-block": "def f():\n    return 1 / 0\n    \n    # end\n\nf()\n",
    "future-import": (
        "from __future__ import annotations\n"
        "def f(x: Undefined) -> None:\n    return 1 / 0\n\nf(1)\n"
    ),
    "line-separator-in-source": "# note\u2028more\nx = 1\ny = 'a\u2028b'\nprint(x, len(y))\n",
    "comment-ends-a-block": "def f():\n    return 1 / 0\n    # the end of f\n\nf()\n",
}
STDLIB = sysconfig.get_paths()["stdlib"]
_PROMPTS = re.compile(r"^(?:>>> |\.\.\. )+")


def python_i(code: str) -> str:
    """What ``python -i`` prints, prompts included, for ``code`` typed at it."""
    return subprocess.run(
        [sys.executable, "-q", "-u", "-i"],
        input=code,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_environment(),
        timeout=30,
        check=False,
    ).stdout


def real_repl_lines(code: str) -> list[str]:
    """Lines the interactive interpreter prints for ``code`` (prompts removed)."""
    lines = []
    for raw in python_i(code + "\n").splitlines():
        line = _PROMPTS.sub("", raw).rstrip()
        if line.strip() and not line.strip(">. "):
            continue
        if line.strip():
            # the page maps machine paths to placeholders on purpose (nothing of the build leaks)
            lines.append(line.replace(STDLIB, "<stdlib>"))
    return lines


@pytest.fixture(scope="module")
def runner():
    with Runner() as r:
        yield r


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_rendered_block_contains_what_python_i_prints(runner, name):
    code = SESSIONS[name]
    capture = runner.run(Request(code, timeout=10))
    block = build([Shown("live", capture)], RenderOptions(layers=LayerMap.build()), group="g")
    rendered = block.astext()
    position = 0
    for line in real_repl_lines(code):
        # the page labels frames after their File line; the text itself is CPython's
        found = rendered.find(line.strip(), position)
        assert found >= 0, f"{line!r} missing after position {position} in:\n{rendered}"
        position = found + len(line.strip())


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_the_transcript_has_one_prompt_per_line_python_i_reads(runner, name):
    """A call spread over lines runs at its last line; a compound statement needs an empty line:
    the page shows the ``>>>`` and ``...`` prompts the real prompt printed, in the same order."""
    code = SESSIONS[name]
    printed = python_i(code)
    # python -i prints a prompt before each line it reads, and one more at the end of input
    real = re.findall(r"(>>>|\.\.\.) ", printed)[:-1]
    capture = runner.run(Request(code, timeout=10))
    ours = [line[:3] for line in session_text(capture).splitlines() if line[:3] in (">>>", "...")]
    assert ours == real, (printed, session_text(capture))


@pytest.mark.parametrize(
    ("version", "code", "waits"),
    [
        ("3.12", "def f[T](x: T) -> T:\n    return 1 / 0\n\nf(1)\n", True),  # new syntax there
        ("3.8", "match 1:\n    case 1:\n        pass\n", False),  # a syntax error there
    ],
)
def test_the_empty_line_is_the_snippets_pythons_call(runner, version, code, waits):
    """Whether the prompt waited for an empty line is decided by the snippet's interpreter, not
    by the one running Sphinx (which may not even parse the statement)."""
    from sphinx_layertrace.capture.interpreters import MissingInterpreter, resolve_executable

    try:
        interpreter = resolve_executable(version)
    except MissingInterpreter:
        pytest.skip(f"no CPython {version} installed")
    capture = runner.run(Request(code, timeout=10), interpreter)
    first = capture.steps[0]
    assert first.waits is waits, capture.steps
    typed = len(first.source.splitlines())  # the step's own lines come first in the transcript
    lines = session_text(capture).splitlines()
    assert (len(lines) > typed and lines[typed] == "...") is waits


def test_a_syntax_error_is_reported_whatever_hook_the_snippet_set(runner):
    """The prompt's own report of a syntax error goes to /dev/null, not to the snippet's
    sys.excepthook (which a runtime error does not call either)."""
    code = "import sys, os\nsys.excepthook = lambda *a: os._exit(7)\nx = = 1\n"
    capture = runner.run(Request(code, timeout=10))
    assert capture.outcome == "raised", capture.detail
    assert capture.exception.type == "SyntaxError"


@pytest.mark.parametrize(
    "code",
    [
        "print('a'\nprint('b')\n",
        "y = (1,\nz = 2\n",
        "x = 1\nif x\n    pass\n",
        "s = '''abc\ndef\n",
        "def f(:\n    pass\n",
    ],
)
def test_a_syntax_error_reads_exactly_as_python_i_prints_it(runner, code):
    """Message, line, carets: the prompt's own report, byte for byte (on Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the prompt's own report is read on Linux")
    printed = python_i(code)
    start = printed.index('  File "<stdin>"')
    real = printed[start : printed.index(">>> ", start)]  # its first error; it reads on after
    capture = runner.run(Request(code, timeout=10))
    assert capture.exception.type in ("SyntaxError", "IndentationError")
    assert capture.exception.formatted == real


CARETS = "import calendar\ncalendar.isleap('x')\n"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="caret anchors are 3.11+")
def test_carets_the_worker_kept_read_as_python_i_draws_them(runner):
    """The worker keeps the anchors of a segment from the second child that parsed it
    (``child/carets.py``): the third run draws them from there, the same as the first."""
    real = [line for line in real_repl_lines(CARETS) if set(line.strip()) <= set("~^")]
    assert any("~" in line for line in real), real  # CPython anchors this operator in calendar.py
    for _ in range(3):
        formatted = runner.run(Request(CARETS, timeout=10)).exception.formatted
        drawn = [
            line
            for line in formatted.splitlines()
            if line.strip() and set(line.strip()) <= set("~^")
        ]
        assert drawn == real, formatted
