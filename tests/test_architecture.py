"""The import rules of the stage layout, read from the source (no import runs):

- the child (``child/``) runs inside the target interpreter: the standard library and its own
  folder only;
- capture code (``capture/``) has no Sphinx: neither ``sphinx``, ``docutils``, ``render`` nor
  ``sphinxext``;
- the model (``model.py``) is the standard library only;
- meaning (``meaning/``) is pure: the standard library, ``model`` and ``meaning`` only;
- the Sphinx glue (``sphinxext/``) is entered only by the package's ``setup`` (``__init__.py``)
  and the ``cli`` entry point.

Every import counts, wherever it is written (a function's body, ``if TYPE_CHECKING:``): a rule
that holds only at module level is a rule a lazy import quietly breaks.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sphinx_layertrace

PACKAGE = "sphinx_layertrace"
ROOT = Path(sphinx_layertrace.__file__).parent


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted (``sphinx_layertrace.capture.cache``)
    target: str  # what it imports, absolute and dotted
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path) -> Iterator[Import]:
    """Every import statement of every module under ``root`` (a package folder)."""
    for path in sorted(root.rglob("*.py")):
        name = module_name(root, path)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(name, is_package, node.module, node.level)
                for alias in node.names:
                    # ``from pkg import mod`` imports the submodule when there is one
                    candidate = f"{base}.{alias.name}"
                    known = base.startswith(root.name) and _exists(root, candidate)
                    yield Import(name, candidate if known else base, node.lineno)


def _absolute(module: str, is_package: bool, target: str | None, level: int) -> str:
    if level == 0:
        return target or ""
    parts = module.split(".")
    keep = len(parts) - level + (1 if is_package else 0)
    return ".".join([*parts[:keep], *([target] if target else [])])


def _exists(root: Path, dotted: str) -> bool:
    relative = Path(*dotted.split(".")[1:])
    return (root / relative).with_suffix(".py").is_file() or (root / relative).is_dir()


def _within(target: str, *prefixes: str) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


#: Standard-library modules of newer Pythons than the one running the tests, that the child
#: imports where they exist (3.13's coloured tracebacks).
_NEWER_STDLIB = {"_colorize"}


def _stdlib(target: str) -> bool:
    top = target.split(".", 1)[0]
    return top in sys.stdlib_module_names or top in _NEWER_STDLIB or target == "__future__"


@dataclass(frozen=True)
class Tree:
    """The package a rule is checked in: its name, and the modules of its child folder (the
    child is launched by path, so it may import its siblings by their bare names)."""

    name: str
    child_modules: frozenset[str]

    @classmethod
    def of(cls, root: Path) -> Tree:
        folder = root / "child"
        names = {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.glob("*/")}
        return cls(root.name, frozenset(names - {"__init__", "__pycache__"}))


Rule = Callable[[Import, Tree], bool]  # whether the import is allowed
#: The name under which the child, launched by path, loads its own folder (child/worker.py,
#: ``imports.PACKAGE``): an import of it is an import of ``child/``.
CHILD_PACKAGE = "_layertrace_child"


def child_rule(item: Import, tree: Tree) -> bool:
    if not _within(item.module, f"{tree.name}.child"):
        return True
    return (
        _stdlib(item.target)
        or _within(item.target, f"{tree.name}.child", CHILD_PACKAGE)
        or item.target.split(".")[0] in tree.child_modules
    )


def capture_rule(item: Import, tree: Tree) -> bool:
    if not _within(item.module, f"{tree.name}.capture"):
        return True
    forbidden = ("sphinx", "docutils", f"{tree.name}.render", f"{tree.name}.sphinxext")
    return not _within(item.target, *forbidden)


def model_rule(item: Import, tree: Tree) -> bool:
    return item.module != f"{tree.name}.model" or _stdlib(item.target)


def meaning_rule(item: Import, tree: Tree) -> bool:
    if not _within(item.module, f"{tree.name}.meaning"):
        return True
    allowed = (f"{tree.name}.model", f"{tree.name}.meaning")
    return _stdlib(item.target) or _within(item.target, *allowed)


def audit_rule(item: Import, tree: Tree) -> bool:
    """The audit reads pages as text and runs them through the engine: no Sphinx, no docutils,
    no rendering beyond the shared words."""
    if not _within(item.module, f"{tree.name}.audit"):
        return True
    allowed = (
        f"{tree.name}.model",
        f"{tree.name}.capture",
        f"{tree.name}.child.protocol",
        f"{tree.name}.meaning",
        f"{tree.name}.render.words",
        f"{tree.name}.audit",
    )
    return _stdlib(item.target) or _within(item.target, *allowed)


def glue_rule(item: Import, tree: Tree) -> bool:
    if not _within(item.target, f"{tree.name}.sphinxext"):
        return True
    entry_points = (tree.name, f"{tree.name}.cli")
    return item.module in entry_points or _within(item.module, f"{tree.name}.sphinxext")


RULES: dict[str, Rule] = {
    "child": child_rule,
    "capture": capture_rule,
    "model": model_rule,
    "meaning": meaning_rule,
    "audit": audit_rule,
    "glue": glue_rule,
}


@functools.cache
def _imports(root: Path) -> tuple[Import, ...]:
    return tuple(dict.fromkeys(imports(root)))  # parsed once per tree; the child's worker is long


def violations(root: Path, rule: Rule) -> list[str]:
    tree = Tree.of(root)
    return [str(item) for item in _imports(root) if not rule(item, tree)]


# -- the package keeps its rules ---------------------------------------------------------------


@pytest.mark.parametrize("rule", ["child", "capture", "model", "meaning", "audit", "glue"])
def test_package_keeps_the_import_rule(rule: str) -> None:
    assert violations(ROOT, RULES[rule]) == []


def test_the_checker_sees_the_package() -> None:
    """Guards against a checker that passes because it reads nothing."""
    found = {(i.module, i.target) for i in _imports(ROOT)}
    assert (f"{PACKAGE}.capture.cache", f"{PACKAGE}.model") in found
    assert (f"{PACKAGE}.sphinxext.events", "docutils") in found
    # an import inside a function body counts
    assert (f"{PACKAGE}", f"{PACKAGE}.sphinxext.config") in found


# -- the checker fails when a rule is broken ----------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name in ("child", "capture", "meaning", "render", "sphinxext", "audit"):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
    (root / "__init__.py").write_text("from pkg.sphinxext import glue\n")
    (root / "model.py").write_text("import json\n")
    (root / "cli.py").write_text("def main():\n    from pkg.sphinxext import glue\n")
    (root / "sphinxext" / "glue.py").write_text("import sphinx\nfrom . import warnings\n")
    (root / "sphinxext" / "warnings.py").write_text("")
    (root / "child" / "worker.py").write_text("import json\nimport protocol\n")
    (root / "child" / "protocol.py").write_text("from . import worker\n")
    (root / "child" / "server.py").write_text("from _layertrace_child.protocol import x\n")
    (root / "capture" / "runner.py").write_text("from pkg.model import Capture\n")
    (root / "meaning" / "layers.py").write_text("from ..model import x\nfrom . import codes\n")
    (root / "meaning" / "codes.py").write_text("import errno\n")
    (root / "audit" / "find.py").write_text("import doctest\nfrom pkg.capture import runner\n")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, {})
    assert [violations(root, check) for check in RULES.values()] == [[]] * len(RULES)


@pytest.mark.parametrize(
    ("rule", "path", "text", "broken"),
    [
        ("child", "child/worker.py", "import sphinx_layertrace.model\n", "sphinx_layertrace.model"),
        ("child", "child/worker.py", "def f():\n    from pkg import model\n", "pkg.model"),
        ("child", "child/worker.py", "import requests\n", "requests"),
        ("capture", "capture/runner.py", "import docutils.nodes\n", "docutils.nodes"),
        ("capture", "capture/runner.py", "from sphinx.util import logging\n", "sphinx.util"),
        ("capture", "capture/frozen.py", "from ..render import doctree\n", "pkg.render"),
        (
            "capture",
            "capture/runner.py",
            "import typing\nif typing.TYPE_CHECKING:\n    from pkg.sphinxext import glue\n",
            "pkg.sphinxext.glue",
        ),
        ("model", "model.py", "from pkg.meaning import codes\n", "pkg.meaning.codes"),
        ("meaning", "meaning/codes.py", "from pkg.render import nodes\n", "pkg.render"),
        ("meaning", "meaning/codes.py", "from pkg.capture import runner\n", "pkg.capture.runner"),
        ("meaning", "meaning/codes.py", "import docutils\n", "docutils"),
        ("audit", "audit/find.py", "import docutils.core\n", "docutils.core"),
        ("audit", "audit/run.py", "from pkg.render import doctree\n", "pkg.render"),
        ("audit", "audit/run.py", "import requests\n", "requests"),
        ("glue", "render/nodes.py", "from pkg.sphinxext.glue import x\n", "pkg.sphinxext.glue"),
        ("glue", "render/doctree.py", "import pkg.sphinxext\n", "pkg.sphinxext"),
    ],
)
def test_the_checker_fails_when_a_rule_is_broken(
    tmp_path: Path, rule: str, path: str, text: str, broken: str
) -> None:
    root = _tree(tmp_path, {path: text})
    found = violations(root, RULES[rule])
    assert len(found) == 1, found
    assert found[0].endswith(f"imports {broken}")
    # and only that rule complains
    others = {name: violations(root, check) for name, check in RULES.items() if name != rule}
    if rule != "glue" and "sphinxext" in broken:
        others.pop("glue")
    assert all(not v for v in others.values()), others


# -- sizes: small modules, short functions ------------------------------------------------------

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def oversized(root: Path) -> list[str]:
    """Modules over MAX_MODULE_LINES lines and functions over MAX_FUNCTION_LINES, as 'where: n'."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(root)
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{where}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{where}:{node.lineno} {node.name}: {length} lines")
    return found


def test_modules_and_functions_stay_small() -> None:
    assert oversized(ROOT) == []


def test_the_size_check_fails_on_a_long_function(tmp_path: Path) -> None:
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES))
    root = _tree(tmp_path, {"child/long.py": "def long():\n" + body})
    assert oversized(root) == [f"child/long.py:1 long: {MAX_FUNCTION_LINES + 1} lines"]
