"""``.. layertrace-compatibility::``: the compatibility matrix as a table, read from
``docs/_data/compatibility.json`` (written by ``make test-matrix``, see ``noxfile.py``).

The page cannot drift from what was tested: the table is the results file, and Sphinx rebuilds
the page when the file changes (it is noted as a dependency).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

RESULTS = Path(__file__).resolve().parent.parent / "_data" / "compatibility.json"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
_SHOWN = {"passed": "passed", "failed": "FAILED", "absent": "not installed here"}


def _cell_text(cell: dict[str, Any]) -> str:
    status = cell.get("status", "not run")
    if status in ("passed", "failed"):
        return (
            f"{_SHOWN[status]}: Sphinx {cell.get('sphinx_full', '?')}, "
            f"docutils {cell.get('docutils', '?')}, MyST {cell.get('myst_parser', '?')} "
            f"(CPython {cell.get('python_full', cell.get('python', '?'))})"
        )
    if status == "not supported":
        return f"not supported ({cell.get('reason', 'no release installs')})"
    return _SHOWN.get(status, status)


def _row(texts: list[str], header: bool = False) -> nodes.row:
    row = nodes.row()
    for text in texts:
        entry = nodes.entry()
        entry += nodes.strong(text=text) if header else nodes.paragraph(text=text)
        row += entry
    return row


class CompatibilityTable(SphinxDirective):
    """One row per Sphinx series, one column per CPython."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(RESULTS))
        data = json.loads(RESULTS.read_text("utf-8"))
        pythons, sphinxes = data["pythons"], data["sphinxes"]
        cells = {(c["python"], c["sphinx"]): c for c in data["cells"]}
        table = nodes.table(classes=["lt-compatibility"])
        group = nodes.tgroup(cols=len(pythons) + 1)
        table += group
        for _ in range(len(pythons) + 1):
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        head += _row(["Sphinx", *(f"CPython {p}" for p in pythons)], header=True)
        group += head
        body = nodes.tbody()
        for sphinx in sphinxes:
            label = "newest 9.x" if sphinx == "9.x" else sphinx
            texts = [_cell_text(cells.get((p, sphinx), {})) for p in pythons]
            body += _row([label, *texts])
        group += body
        return [table, self._pins()]

    def _pins(self) -> nodes.paragraph:
        """What ``pyproject.toml`` declares, read from it (tests/test_packaging.py holds it to
        the results file)."""
        import tomllib

        self.env.note_dependency(str(PYPROJECT))
        project = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]
        pins = [*project["dependencies"], *project["optional-dependencies"]["myst"]]
        para = nodes.paragraph(text="The package declares exactly the range that passed: ")
        for n, pin in enumerate(pins):
            para += nodes.literal(text=pin)
            para += nodes.Text(", " if n < len(pins) - 1 else "")
        para += nodes.Text(
            f" (the last one in the myst extra), on CPython {project['requires-python']}."
        )
        return para


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("layertrace-compatibility", CompatibilityTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
