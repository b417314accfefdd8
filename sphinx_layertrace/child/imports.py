"""A fresh-looking ``sys.modules``: what the worker imported is hidden from a snippet.

The entry module records the modules of a fresh interpreter before it imports anything else
(``start``), and from then on every import statement the worker runs is recorded as an edge
(importer -> the modules it named), so a hidden module comes back together with everything a
fresh import of it would load. Imports only ``sys`` and ``builtins``: it is loaded first.
"""

import builtins
import sys

#: The name the child's own modules are loaded under (never importable by a snippet).
PACKAGE = "_layertrace_child"
# What a fresh interpreter has loaded before running anything (set by ``start``).
_STARTUP = [frozenset(sys.modules)]
# importer module -> modules its import statements named, recorded while the worker warms up.
_IMPORT_EDGES = {}  # type: dict[str, set[str]]
_REAL_IMPORT = builtins.__import__


def start(startup):
    """Remember ``startup`` as a fresh interpreter's modules and record imports from now on."""
    _STARTUP[0] = frozenset(startup)
    track_imports(True)


def startup_modules():
    return _STARTUP[0]


def _tracking_import(name, globals=None, locals=None, fromlist=(), level=0):
    module = _REAL_IMPORT(name, globals, locals, fromlist, level)
    try:
        importer = globals.get("__name__") if isinstance(globals, dict) else None
        if importer:
            _record(importer, _absolute(name, globals, importer, level), fromlist)
    except Exception:
        pass
    return module


def _absolute(name, globals, importer, level):
    if not level:
        return name
    package = globals.get("__package__") or (
        importer if "__path__" in globals else importer.rpartition(".")[0]
    )
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return base + "." + name if name else base


def _record(importer, absname, fromlist):
    targets = _IMPORT_EDGES.setdefault(importer, set())
    parts = absname.split(".")
    for end in range(1, len(parts) + 1):
        targets.add(".".join(parts[:end]))
    for item in fromlist or ():
        sub = absname + "." + str(item)
        if sub in sys.modules:
            targets.add(sub)


def track_imports(on):
    builtins.__import__ = _tracking_import if on else _REAL_IMPORT


def is_own(name):
    """A module of the child itself: dropped from ``sys.modules``, never handed to a snippet."""
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def forget_own(folder):
    """Take the child's own modules out of ``sys.modules`` (their code keeps its globals), and
    the finder of their folder out of the path importer cache: nothing of the extension stays
    where a snippet could import it or see it."""
    for name in [name for name in sys.modules if is_own(name)]:
        del sys.modules[name]
    sys.path_importer_cache.pop(folder, None)


class ModuleStash:
    """Hides every module a fresh interpreter would not have loaded yet, and gives it back.

    The warm worker (and the worker's own code) imported many modules before the snippet runs.
    Left visible, they change what a snippet sees: ``import urllib; urllib.request`` would work
    here and fail for the reader, ``'ssl' in sys.modules`` would differ. So the child removes
    them from ``sys.modules`` and from their parent packages' attributes, and a meta path
    finder returns the *same* module object (never a second copy) with everything a fresh
    import of it would have loaded, when the snippet imports it.
    """

    def __init__(self):
        self.modules = {}
        self.detached = []  # (package, attribute, module) taken off by hide
        self.visible = 0
        # top-level names of the imports asked of the finders since ``hide`` (this finder comes
        # first): which modules a snippet loaded, without walking sys.modules in every child
        self.asked = set()
        self._spec_type = type(getattr(sys, "__spec__", None))  # type: type
        self._original_spec = None

    def hide(self):
        self._take()
        for name, module in self.modules.items():
            parent, _, child = name.rpartition(".")
            owner = sys.modules.get(parent) or self.modules.get(parent) if parent else None
            if owner is not None and getattr(owner, child, None) is module:
                try:
                    delattr(owner, child)
                    self.detached.append((owner, child, module))
                except Exception:
                    pass
        if self._spec_type is not type(None):
            sys.meta_path.insert(0, self)
        self.visible = len(sys.modules)
        return self

    def _take(self):
        startup = _STARTUP[0]
        for name in list(sys.modules):
            if name in startup or name == "__main__":
                continue
            module = sys.modules.pop(name)
            if module is not None and not is_own(name):
                self.modules[name] = module

    def unhide(self):
        """Undo ``hide``: in the forking server before it imports more modules into itself, in
        a child once the snippet has run."""
        while self in sys.meta_path:
            sys.meta_path.remove(self)
        for name, module in self.modules.items():
            sys.modules.setdefault(name, module)
        self.reattach()
        self.modules = {}
        self.detached = []

    def reattach(self):
        """Give packages back the submodule attributes ``hide`` took (touches only those)."""
        for owner, child, module in self.detached:
            if not hasattr(owner, child):
                try:
                    setattr(owner, child, module)
                except Exception:
                    pass

    def check(self):
        """Hide again whatever became visible since ``hide`` (nothing, unless an import slipped
        through the worker's own code): a cheap length check, then the full pass if needed."""
        if len(sys.modules) != self.visible or sys.meta_path[0] is not self:
            self._take()
            if self not in sys.meta_path and self._spec_type is not type(None):
                sys.meta_path.insert(0, self)
            self.visible = len(sys.modules)

    # importlib finder/loader protocol
    def find_spec(self, name, path=None, target=None):
        self.asked.add(name.partition(".")[0])
        module = self.modules.get(name)
        if module is None:
            return None
        return self._spec_type(name, self, is_package=hasattr(module, "__path__"))

    def create_module(self, spec):
        module = self.modules.pop(spec.name)
        self._original_spec = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module):
        # importlib replaced __spec__ with ours; put the real one back, then the closure.
        try:
            module.__spec__ = self._original_spec
        except Exception:
            pass
        self.restore_closure(module.__name__)

    def restore_closure(self, name):
        restored = [name]
        todo = [name]
        while todo:
            current = todo.pop()
            wanted = set(_IMPORT_EDGES.get(current, ()))
            parts = current.split(".")
            for end in range(1, len(parts)):
                wanted.add(".".join(parts[:end]))
            for dep in wanted:
                module = self.modules.pop(dep, None)
                if module is not None:
                    sys.modules[dep] = module
                    restored.append(dep)
                    todo.append(dep)
        for dep in restored:
            parent, _, child = dep.rpartition(".")
            owner = sys.modules.get(parent) if parent else None
            if owner is not None and dep in sys.modules:
                try:
                    setattr(owner, child, sys.modules[dep])
                except Exception:
                    pass
