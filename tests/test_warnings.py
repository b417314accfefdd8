"""The warning type and its subtypes are defined once (``sphinxext/warnings.py``), every emitter
goes through it, and the reference page documents exactly that list."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sphinx_layertrace
from sphinx_layertrace.sphinxext import warnings

ROOT = Path(sphinx_layertrace.__file__).parent
REFERENCE = Path(__file__).parent.parent / "docs" / "reference" / "warnings.rst"


def _typed_log_calls(root: Path) -> list[str]:
    """``file:line`` of every call that passes ``type=``/``subtype=`` to a logger itself."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            logs = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("warning", "error", "info", "critical", "log")
            )
            if logs and any(kw.arg in ("type", "subtype") for kw in node.keywords):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_only_the_warnings_module_names_the_type() -> None:
    calls = _typed_log_calls(ROOT)
    assert calls, "the scan found no typed log call at all"
    assert {c.split(":")[0] for c in calls} == {"sphinxext/warnings.py"}


def test_the_scan_sees_an_emitter_that_bypasses_the_module(tmp_path: Path) -> None:
    (tmp_path / "rogue.py").write_text('logger.warning("x", type="layertrace", subtype="y")\n')
    assert _typed_log_calls(tmp_path) == ["rogue.py:1"]


def test_the_reference_page_documents_exactly_the_subtypes() -> None:
    documented = re.findall(r"^``layertrace\.([a-z-]+)``\n~+$", REFERENCE.read_text(), re.M)
    assert sorted(documented) == sorted(warnings.SUBTYPES)
    assert len(warnings.SUBTYPES) == len(set(warnings.SUBTYPES))
