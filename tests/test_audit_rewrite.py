"""``audit --rewrite`` and ``audit`` against ``python -m doctest``'s own verdicts."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sphinx_layertrace.audit.find import find_blocks
from sphinx_layertrace.cli import main

ROOTS = Path(__file__).parent / "roots"


def _intro(old: str) -> str:
    """The only change allowed outside a block: the ``::`` that introduced it, as docutils
    displayed it (``text::`` -> ``text:``, ``text ::`` -> ``text``, a lone ``::`` -> ``..``)."""
    if old.strip() == "::":
        return old.replace("::", "..")
    return re.sub(r"(\s*)::$", lambda m: "" if m.group(1) else ":", old)


def test_rewrite_changes_only_the_blocks_and_a_second_run_nothing(tmp_path: Path) -> None:
    src = tmp_path / "docs"
    shutil.copytree(ROOTS / "audit-mixed", src)
    before = {p.name: p.read_text() for p in src.iterdir()}
    blocks = find_blocks(src)
    assert main(["audit", str(src), "--rewrite"]) == 1
    for name, old_text in before.items():
        old, new = old_text.splitlines(), (src / name).read_text().splitlines()
        regions = [range(b.start, b.end) for b in blocks.get(name, [])]
        intros = {b.intro for b in blocks.get(name, []) if b.intro is not None}
        for i in intros:
            old[i] = _intro(old[i])
        changed = 0
        opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        for tag, i1, i2, _, _ in opcodes:
            if tag == "equal":
                continue
            for i in range(i1, i2):
                changed += 1
                assert any(i in r for r in regions), f"{name}:{i + 1} changed: {old[i]!r}"
        assert changed or name in ("conf.py", "README.txt")
    rewritten = {p.name: p.read_bytes() for p in src.iterdir()}
    assert ">>>" not in rewritten["fences.md"].decode().split("{doctest}")[0]
    assert main(["audit", str(src), "--rewrite"]) == 0  # nothing left that shows a traceback
    assert {p.name: p.read_bytes() for p in src.iterdir()} == rewritten


def test_rewrite_keeps_crlf_and_a_missing_final_newline(tmp_path: Path) -> None:
    page = tmp_path / "page.rst"
    page.write_bytes(
        b"T\r\n=\r\n\r\nExample::\r\n\r\n   >>> 1/0\r\n"
        b"   Traceback (most recent call last):\r\n   ZeroDivisionError: division by zero"
    )
    assert main(["audit", str(tmp_path), "--rewrite"]) == 0
    assert page.read_bytes() == (
        b"T\r\n=\r\n\r\nExample:\r\n\r\n.. layertrace::\r\n   :expect: ZeroDivisionError\r\n"
        b"\r\n   1/0"
    )


PAGE = """\
Rewritten
=========

A block that holds, needing nothing from before:

>>> int('forty-two')
Traceback (most recent call last):
  File "<stdin>", line 1, in <module>
ValueError: invalid literal for int() with base 10: 'forty-two'

Its message rotted, its type did not::

   >>> '2' + 2
   Traceback (most recent call last):
   TypeError: Can't convert 'int' object to str implicitly

>>> table = {}

Its type rotted, and it needs ``table`` from the block before:

.. code-block:: pycon

   >>> table.fromkeys(3)
   Traceback (most recent call last):
   AttributeError: 'int' object has no attribute 'keys'
"""

MYST = """\
# Fences

```pycon
>>> import json
>>> json.loads('{')
Traceback (most recent call last):
json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes
```

```python
>>> json.dumps(object())
Traceback (most recent call last):
ValueError: not serialisable
```
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        'extensions = ["myst_parser", "sphinx_layertrace"]\n'
        'source_suffix = {".rst": "restructuredtext", ".md": "markdown"}\n'
        "layertrace_timeout = 5\n"
    )
    (src / "index.rst").write_text(PAGE + "\n.. toctree::\n\n   fences\n")
    (src / "fences.md").write_text(MYST)
    return src


def test_the_rewritten_tree_builds_with_one_drift_per_rotted_type(small: Path, tmp_path) -> None:
    assert main(["audit", str(small), "--rewrite"]) == 1
    text = (small / "index.rst").read_text()
    assert (
        ".. layertrace-setup::\n\n   table = {}\n\n.. layertrace::\n   :expect: AttributeError"
        in text
    )
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(small), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    warnings = sorted(line for line in build.stderr.splitlines() if "WARNING" in line)
    assert len(warnings) == 2, build.stderr
    assert all(line.endswith("[layertrace.drift]") for line in warnings)
    fences, index = warnings
    assert (
        "fences.md:13:" in fences
        and "expected ValueError, but the snippet raised TypeError" in fences
    )
    assert (
        "index.rst:" in index
        and "expected AttributeError, but the snippet raised TypeError" in index
    )


DOCTEST_HARNESS = """\
import doctest, json, sys
results = {}
class Runner(doctest.DocTestRunner):
    def report_success(self, out, test, example, got):
        results[example.lineno + 1] = True
    def report_failure(self, out, test, example, got):
        results[example.lineno + 1] = False
    def report_unexpected_exception(self, out, test, example, exc_info):
        results[example.lineno + 1] = False
text = open(sys.argv[1], encoding="utf-8").read()
test = doctest.DocTestParser().get_doctest(text, {}, "page", sys.argv[1], 0)
Runner(verbose=False).run(test, out=lambda s: None)
print(json.dumps(results))
"""

AGREE = """\
Agreement
=========

>>> import collections
>>> collections.OrderedDict(a=1)['b']
Traceback (most recent call last):
  ...
KeyError: 'b'

>>> class Thing: pass
>>> Thing().missing  # doctest: +ELLIPSIS
Traceback (most recent call last):
AttributeError: 'Thing' object has no attribute ...

>>> int('x')  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
ValueError: the detail does not matter

>>> print('flew by'); raise LookupError('gone')
flew by
Traceback (most recent call last):
LookupError: gone

>>> '2' + 2
Traceback (most recent call last):
TypeError: Can't convert 'int' object to str implicitly

>>> object()
<object object at 0x7f0d3c2a1b70>
>>> [].pop()
Traceback (most recent call last):
IndexError: pop from empty list
"""


def test_no_false_alarm_where_doctest_passes(tmp_path: Path, capsys) -> None:
    page = tmp_path / "agree.rst"
    page.write_text(AGREE)
    harness = tmp_path / "harness.py"
    harness.write_text(DOCTEST_HARNESS)
    ran = subprocess.run(
        [sys.executable, str(harness), str(page)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    doctest_says = {int(k): v for k, v in json.loads(ran.stdout).items()}
    assert main(["audit", str(tmp_path), "--json"]) == 1
    audit_says = {item["line"]: item["status"] for item in json.loads(capsys.readouterr().out)}
    blocks = find_blocks(tmp_path)["agree.rst"]
    passed = {}
    for block in blocks:
        lines = [block.first + ex.lineno + 1 for ex in block.examples]
        passed[block.line] = all(doctest_says[line] for line in lines)
    for line, ok in passed.items():
        if ok:
            assert audit_says[line] == "current", line
    assert passed == {4: True, 10: True, 15: True, 19: False, 24: False, 28: False}
    # doctest fails the session whose output comes before its traceback, and the address
    assert audit_says == {
        4: "current",
        10: "current",
        15: "current",
        19: "current",
        24: "rotted",
        28: "current",
    }
