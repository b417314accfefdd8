"""Frozen capture sets: file names, deterministic JSON and merging.

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


class MergeError(Exception):
    """A capture set cannot be merged; the message is one line naming the file."""


def this_platform_key() -> str:
    """The :attr:`.model.Platform.key` of the machine running this process."""
    return {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)


def short_version(capture: Capture) -> str:
    return capture.python.short_version


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
