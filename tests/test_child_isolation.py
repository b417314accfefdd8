"""A snippet's imports and ``sys.path`` are what a fresh interpreter gives, not the extension's.

Every answer is compared with a real run of the same interpreter: ``python -i`` for ``repl``
snippets, ``python FILE`` for ``script`` snippets, with the environment children get.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sphinx_layertrace
from sphinx_layertrace.capture.runner import Request, Runner, child_environment

MODES = ["fork", "spawn"]
PACKAGE = Path(sphinx_layertrace.__file__).parent
# The names issue 14 found importable, every module of the child and of the package (top-level
# names, as a snippet would type them), and the name the child loads its own modules under.
NAMES = sorted(
    {"procs", "model", "hygiene", "config", "worker", "child", "protocol", "_layertrace_child"}
    | {path.stem for path in PACKAGE.rglob("*.py") if path.stem != "__init__"}
    | {path.name for path in PACKAGE.rglob("*") if (path / "__init__.py").is_file()}
    | {"sphinx_layertrace", "sphinx_layertrace.child.protocol"}
)
CHILD_DIR = str(PACKAGE / "child")
PROBE = f"""\
import sys, zlib
def probe(name):
    try:
        __import__(name)
    except ModuleNotFoundError as exc:
        return 'ModuleNotFoundError ' + str(exc.name)
    except BaseException as exc:
        return type(exc).__name__
    return 'imported'
for name in {NAMES!r}: print(name, probe(name))
first = sys.path[0]
print('sys.path[0] is', first == '' and 'empty' or first == __import__('os').getcwd() and 'cwd')
print('the rest of sys.path', zlib.crc32(repr(sys.path[1:]).encode()))
print('argv', sys.argv)
print('child modules seen', [m for m in sys.modules if m.startswith('_layertrace_child')])
"""


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _stdout(argv: list[str], cwd: Path, typed: str | None = None) -> list[str]:
    done = subprocess.run(
        argv,
        input=typed,
        capture_output=True,
        text=True,
        env=child_environment(),
        cwd=cwd,
        timeout=60,
        check=False,
    )
    return _lines(done.stdout)


def python_i(code: str, cwd: Path) -> list[str]:
    """What ``python -i`` prints on stdout for ``code`` typed at it, run in ``cwd``."""
    return _stdout([sys.executable, "-q", "-i"], cwd, "exec(" + repr(code) + ")\n")


def python_file(code: str, cwd: Path) -> list[str]:
    """What ``python example.py`` prints, the file being ``code`` in ``cwd``."""
    (cwd / "example.py").write_text(code, encoding="utf-8")
    return _stdout([sys.executable, "example.py"], cwd)


@pytest.fixture(scope="module", params=MODES)
def runner(request):
    with Runner(mode=request.param) as r:
        yield r


def test_the_probe_covers_the_names_issue_14_found():
    assert {"procs", "model", "hygiene", "config", "protocol", "worker", "snippet"} <= set(NAMES)


def test_a_repl_snippet_imports_what_python_i_imports(runner, tmp_path):
    capture = runner.run(Request(PROBE, style="repl", timeout=30))
    assert capture.outcome == "returned", capture.detail
    expected = python_i(PROBE, tmp_path)
    assert _lines(capture.stdout) == expected
    # and what the fresh interpreter says is the contract itself
    assert "procs ModuleNotFoundError procs" in expected
    assert "protocol ModuleNotFoundError protocol" in expected
    assert "sys.path[0] is empty" in expected
    assert "child modules seen []" in expected


def test_a_script_snippet_imports_what_python_file_imports(runner, tmp_path):
    capture = runner.run(Request(PROBE, style="script", filename="example.py", timeout=30))
    assert capture.outcome == "returned", capture.detail
    expected = python_file(PROBE, tmp_path)
    assert _lines(capture.stdout) == expected
    assert "sys.path[0] is cwd" in expected
    assert "model ModuleNotFoundError model" in expected


@pytest.mark.parametrize("style", ["repl", "script"])
def test_a_snippets_own_module_named_like_the_childs_is_its_own(runner, tmp_path, style):
    """The snippet's folder comes first, and no module of the child stands in for its files."""
    code = (
        "import os\n"
        "for name in ('protocol', 'snippet', 'imports'):\n"
        "    _ = open(name + '.py', 'w').write('WHOSE = \"mine\"\\n')\n"
        "import protocol, snippet, imports\n"
        "print(protocol.WHOSE, snippet.WHOSE, imports.WHOSE)\n"
    )
    capture = runner.run(Request(code, style=style, filename="example.py", timeout=30))
    assert capture.outcome == "returned", (capture.detail, capture.exception)
    assert capture.stdout == "mine mine mine\n"
    real = python_i if style == "repl" else python_file
    assert real(code, tmp_path) == ["mine mine mine"]


def test_what_the_snippet_sees_of_sys(runner):
    """No trace of the worker's command line or folder in ``sys``."""
    import os

    places = {CHILD_DIR, os.path.realpath(CHILD_DIR)}
    code = (
        f"import sys\nplaces = {sorted(places)!r}\n"
        "print(any(p in places for p in sys.path))\n"
        "print(any(p in places for p in sys.path_importer_cache))\n"
        "print(any(any(p in str(arg) for p in places) for arg in sys.argv))\n"
        "print(any(any(p in str(arg) for p in places) for arg in getattr(sys, 'orig_argv', ())))\n"
    )
    capture = runner.run(Request(code, timeout=30))
    assert capture.stdout == "False\nFalse\nFalse\nFalse\n"
