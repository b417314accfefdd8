"""Which installed distributions a snippet used: name and version, for the capture's cache key.

What ``importlib.metadata.packages_distributions()`` answers (3.10+), read directly from the
``*.dist-info`` and ``*.egg-info`` folders on ``sys.path`` (``top_level.txt``, else the files
of ``RECORD``), so it works on 3.8 and does not load importlib.metadata (email, zipfile, csv...)
into the warm worker. A folder is read the first time a module found in it needs an answer; the
warm worker reads them all once, before forking, as soon as a snippet names a module that is not
in the standard library, so its children find the answers already there.
"""

import os
import sys

from .protocol import read_file

_META_SUFFIXES = (".dist-info", ".egg-info")
_FILE_LISTS = ("RECORD", "installed-files.txt", "SOURCES.txt")
_MAX_LIST = 4 << 20  # bytes of a file list read at most


class Distributions:
    """Top-level module names -> the distributions that install them, folder by folder."""

    def __init__(self, masker):
        self.stdlib = stdlib_names(masker)
        self.warmed = False
        self.folders = {}  # folder -> {top-level name: [metadata folder, ...]}
        self.metadata = {}  # metadata folder -> (name, version) or None

    def outside_stdlib(self, names):
        """The top-level names of these (dotted) module names that the standard library does
        not have."""
        tops = {name.partition(".")[0] for name in names}
        return {top for top in tops if top not in self.stdlib}

    def warm(self):
        """Read every folder of ``sys.path`` now (in the warm worker, once, before forking)."""
        if not self.warmed:
            self.warmed = True
            for entry in sys.path:
                for metas in self._folder(entry or os.getcwd()).values():
                    for meta in metas:
                        self._about(meta)

    def used_by(self, names):
        """Sorted ``[name, version]`` pairs of the distributions providing these top-level
        modules (as found in ``sys.modules``); stdlib modules are never looked up."""
        found = set()
        for name in names:
            module = sys.modules.get(name)
            if module is None or name in self.stdlib:
                continue
            for meta in self._providers(name, module):
                about = self._about(meta)
                if about is not None:
                    found.add(about)
        return [list(pair) for pair in sorted(found)]

    def _providers(self, name, module):
        """The metadata folders naming ``name``: those next to the module first (where it was
        found); else any on ``sys.path`` (an editable install keeps its code elsewhere)."""
        folders = _folders_of(module)
        for folder in folders:
            metas = self._folder(folder).get(name)
            if metas:
                return metas
        found = []
        for entry in sys.path:
            found.extend(self._folder(entry or os.getcwd()).get(name, ()))
        return found

    def _folder(self, folder):
        index = self.folders.get(folder)
        if index is None:
            index = self.folders[folder] = _read_folder(folder)
        return index

    def _about(self, meta):
        if meta not in self.metadata:
            self.metadata[meta] = _name_and_version(meta)
        return self.metadata[meta]


def stdlib_names(masker):
    """``sys.stdlib_module_names`` (3.10+), else the modules in the standard library's folders
    and the built-in ones."""
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:
        names = set(sys.builtin_module_names)
        for folder in masker.stdlib:
            for sub in (folder, os.path.join(folder, "lib-dynload")):
                names.update(_module_names(sub))
    return frozenset(names) | {"__main__", "__future__"}


def _module_names(folder):
    try:
        entries = os.listdir(folder)
    except OSError:
        return set()
    names = set()
    for entry in entries:
        name = entry.partition(".")[0]
        if name.isidentifier() and name != "site-packages":
            names.add(name)
    return names


def _folders_of(module):
    """The ``sys.path`` folder(s) a top-level module was found in."""
    path = getattr(module, "__file__", None)
    if isinstance(path, str):
        here = os.path.dirname(path)
        if os.path.basename(path).startswith("__init__."):
            here = os.path.dirname(here)
        return [here]
    return [os.path.dirname(p) for p in getattr(module, "__path__", None) or () if str(p) == p]


def _read_folder(folder):
    index = {}  # type: dict[str, list[str]]
    try:
        names = os.listdir(folder)
    except (OSError, TypeError, ValueError):
        return index
    for entry in names:
        if entry.endswith(_META_SUFFIXES):
            meta = os.path.join(folder, entry)
            for top in _top_levels(meta):
                index.setdefault(top, []).append(meta)
    return index


def _top_levels(meta):
    text = _read_text(os.path.join(meta, "top_level.txt"))
    if text is not None:
        return {line.strip() for line in text.splitlines() if line.strip()}
    for listing in _FILE_LISTS:
        text = _read_text(os.path.join(meta, listing))
        if text is not None:
            return _inferred(text)
    return set()


def _inferred(text):
    """Top-level module names from a list of installed files, as importlib.metadata infers
    them: the first part of each path, less ``.py`` and extension-module suffixes."""
    tops = set()
    for first in {line.split("/", 1)[0] for line in text.replace("\\", "/").split("\n")}:
        first = first.lstrip('"')
        path, comma, _ = first.partition(",")
        if not comma:  # a folder (the line went on after a slash)
            if path and "." not in path and path != "__pycache__":
                tops.add(path)
        elif path.endswith((".py", ".so", ".pyd")) and "/" not in path:
            name = path.partition(".")[0]
            if name.isidentifier():
                tops.add(name)
    return tops


def _name_and_version(meta):
    for name in ("METADATA", "PKG-INFO"):
        text = _read_text(os.path.join(meta, name), 1 << 16)
        if text is None:
            continue
        fields = {}
        for line in text.split("\n\n", 1)[0].splitlines():  # the headers, not the description
            key, sep, value = line.partition(":")
            if sep and key in ("Name", "Version") and key not in fields:
                fields[key] = value.strip()
        if "Name" in fields and "Version" in fields:
            return fields["Name"], fields["Version"]
    return None


def _read_text(path, limit=_MAX_LIST):
    """The file's text, or None when it is missing or empty (no file object: whatever the
    snippet did to ``open``, this runs after it)."""
    data = read_file(path, limit)
    return data.decode("utf-8", "replace") if data else None
