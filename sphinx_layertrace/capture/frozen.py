"""Frozen capture sets: file names, deterministic JSON, merging, and showing them beside live ones.

A capture set is a directory of ``<snippet_id>.<platform>-py<X.Y>.json`` files, one per snippet,
platform and interpreter (``snippet_id`` is :func:`.session.snippet_id`, independent of platform).
The files are committed to git and diffed by people, so their JSON is stable: sorted keys, two-space
indent, a final newline, and no run-to-run noise (the duration).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sphinx_layertrace.model import SCHEMA_VERSION, Capture, SchemaError
from sphinx_layertrace.render.doctree import Shown, caption


class MergeError(Exception):
    """A capture set cannot be merged; the message is one line naming the file."""


def this_platform_key() -> str:
    """The :attr:`.model.Platform.key` of the machine running this process."""
    return {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)


def short_version(capture: Capture) -> str:
    parts = (capture.python.version or capture.python.label or "0.0").split(".")
    return ".".join([*parts, "0"][:2])


def file_name(ident: str, capture: Capture) -> str:
    """Stable name of one capture file: the snippet, the platform, the interpreter's X.Y."""
    return f"{ident}.{capture.platform.key}-py{short_version(capture)}.json"


#: ``<snippet_id>.<platform>-py<X.Y>.json``, as :func:`file_name` writes them.
FILE_NAME = re.compile(r"^(?P<ident>[^.]+)\.(?P<platform>[^.]+)-py(?P<version>\d+\.\d+)\.json$")


def stale(directory: str | os.PathLike, snippets: Iterable[str], platform: str) -> list[Path]:
    """Capture files of ``platform`` in ``directory`` whose snippet is not in ``snippets``.

    Only files named like :func:`file_name` are considered, and only this platform's: the other
    platforms' files came from other machines and are theirs to refresh.
    """
    root = Path(directory)
    if not root.is_dir():
        return []
    keep = set(snippets)
    found = []
    for path in sorted(root.glob("*.json")):
        match = FILE_NAME.match(path.name)
        if match and match["platform"] == platform and match["ident"] not in keep:
            found.append(path)
    return found


def dumps(capture: Capture) -> str:
    """Deterministic JSON for git: same capture, same bytes (the duration is dropped)."""
    return capture.replace(duration=0.0).to_json(indent=2) + "\n"


def write(directory: str | os.PathLike, ident: str, capture: Capture) -> Path:
    """Write one capture file atomically; returns its path."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    path = root / file_name(ident, capture)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(dumps(capture), encoding="utf-8", newline="\n")
    os.replace(tmp, path)
    return path


def read(path: Path) -> Capture:
    """One capture file, or :class:`MergeError` with a one-line reason."""
    try:
        return Capture.from_json(path.read_bytes())
    except OSError as exc:
        raise MergeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except SchemaError as exc:
        message = " ".join(str(exc).split())
        if "schema" in message:
            message += f"; upgrade sphinx-layertrace to merge it (this one writes {SCHEMA_VERSION})"
        raise MergeError(f"{path}: {message}") from None


@dataclass
class MergeReport:
    written: list[Path] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # names given by more than one input


def merge(sources: Sequence[str | os.PathLike], out: str | os.PathLike) -> MergeReport:
    """Combine capture sets; later sources win on the same name. Nothing is written on error.

    Every file is read and checked first, so one file of an unknown schema (a newer writer in
    the CI matrix) stops the merge before the output directory is touched. Files are renamed
    from their content (platform, version) and rewritten deterministically; the snippet id is
    kept from the file name, since a capture does not record its setup code.
    """
    chosen: dict[str, tuple[Capture, str]] = {}
    report = MergeReport()
    for source in sources:
        root = Path(source)
        if not root.is_dir():
            raise MergeError(f"{root}: not a directory of capture files")
        for path in sorted(root.glob("*.json")):
            capture = read(path)
            ident = path.name.split(".", 1)[0]
            name = file_name(ident, capture)
            if name in chosen and dumps(chosen[name][0]) != dumps(capture):
                report.replaced.append(name)
            chosen[name] = (capture, ident)
    for name in sorted(chosen):
        capture, ident = chosen[name]
        report.written.append(write(out, ident, capture))
    return report


# -- showing frozen captures beside live ones ---------------------------------------------------


def wanted(capture: Capture, filters: Iterable[str]) -> bool:
    """``:platforms:`` filter: ``linux``/``darwin``/``win32``, ``macos``/``windows``, a Python
    ``X.Y``, or both as ``darwin-py3.12``. No filter shows everything; ``none`` shows nothing
    (the page keeps to the live capture, for prose about the build machine's own output)."""
    filters = [f.strip().lower() for f in filters if f.strip()]
    if not filters:
        return True
    if filters == ["none"]:
        return False
    key = capture.platform.key
    version = short_version(capture)
    names = {
        key,
        capture.platform.pretty.split(" ")[0].lower(),
        version,
        f"py{version}",
        f"{key}-py{version}",
        capture.python.label,
    }
    return any(f in names for f in filters)


def beside(
    live: Sequence[Shown],
    names: Sequence[Sequence[str]],
    frozen: Sequence[Capture],
    filters: Sequence[str],
) -> list[Shown]:
    """The tabs of a snippet: live captures first, then the frozen ones that add something.

    ``live[i]`` is the capture planned for the interpreter known as ``names[i]``: its label and,
    when it exists here, its X.Y (a capture taken under ``:python: build`` on a 3.11 is the 3.11
    capture). The frozen capture of this platform that fits it best (the same X.Y, else the same
    label) stands in for a live one that could not be had (``layertrace_execute = "never"``, or
    the interpreter is not installed here), for every tab it fits (three labels of one Python
    show the same capture), and is not shown again. The rest are filtered by ``:platforms:``
    and follow in file-name order.
    """
    here = this_platform_key()
    shown = list(live)
    taken: set[int] = set()
    for i, item in enumerate(live):
        label, version = [*names[i], "", ""][:2] if i < len(names) else ("", "")
        best: tuple[int, int] | None = None  # (rank, index): the same X.Y ranks before a label
        for j, capture in enumerate(frozen):
            if capture.platform.key != here:
                continue
            if version and short_version(capture) == version:
                rank = 0
            elif label and label in (capture.python.label, short_version(capture)):
                rank = 1
            else:
                continue
            best = min(best, (rank, j)) if best else (rank, j)
        if best is not None:
            taken.add(best[1])
            if item.capture is None:
                shown[i] = Shown(caption(frozen[best[1]]), frozen[best[1]])
    for j, capture in enumerate(frozen):
        if j not in taken and wanted(capture, filters):
            shown.append(Shown(caption(capture), capture))
    return shown
