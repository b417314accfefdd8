"""Which distributions a target interpreter has installed now, to tell a stale capture.

A capture records the distributions (name, version) whose modules its snippet imported. Before a
cached one is served, those are compared with what the interpreter would import today: after
``pip install -U urllib3`` the snippets that imported urllib3 run again, the others are served.

"Today" is read cheaply, once per build and interpreter: the interpreter's ``sys.path`` under the
children's environment (one short process), then the ``*.dist-info`` / ``*.egg-info`` names in
those folders (one directory listing each); the first entry on the path wins, as for imports.
A folder's name is trusted for the version unless it disagrees with the capture, when the
metadata file inside is read (an old installer may have written an unnormalised name).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_SYS_PATH = "import json, sys; print(json.dumps(sys.path))"
_SUFFIXES = (".dist-info", ".egg-info")
_VERSION_LINE = re.compile(r"^Version:\s*(\S+)\s*$", re.MULTILINE)


def normalize(name: str) -> str:
    """A distribution's name as PEP 503 compares them: ``Foo_Bar.baz`` is ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Installed:
    """One distribution found on the path: its version as the folder names it, and the folder."""

    version: str
    folder: str

    def real_version(self) -> str:
        """The version its metadata file states (the folder's name when there is none)."""
        base = Path(self.folder)
        for name in ("METADATA", "PKG-INFO"):
            try:
                head = (base / name).read_text("utf-8", "replace")[:4096]
            except OSError:
                continue
            found = _VERSION_LINE.search(head)
            if found:
                return found.group(1)
        if base.is_file():  # an egg-info file is itself the PKG-INFO
            try:
                found = _VERSION_LINE.search(base.read_text("utf-8", "replace")[:4096])
            except OSError:
                found = None
            if found:
                return found.group(1)
        return self.version


@dataclass(frozen=True)
class Change:
    """A distribution a capture depended on that is now another version, or gone."""

    name: str
    recorded: str
    now: str | None  # None: no longer installed

    def __str__(self) -> str:
        return f"{self.name} {self.recorded} → {self.now or 'not installed'}"


def scan(paths: Iterable[str]) -> dict[str, Installed]:
    """Distributions in these folders by normalised name; the first folder that has one wins."""
    found: dict[str, Installed] = {}
    for entry in paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # a zip file, a missing folder: nothing installed there to list
        for name in names:
            if not name.endswith(_SUFFIXES):
                continue
            parts = name.rsplit(".", 1)[0].split("-")
            if len(parts) < 2 or not parts[0] or not parts[1]:
                continue
            found.setdefault(normalize(parts[0]), Installed(parts[1], os.path.join(entry, name)))
    return found


def changes(
    recorded: Sequence[tuple[str, str]], installed: Mapping[str, Installed]
) -> list[Change]:
    """What differs between a capture's distributions and the installed ones (empty: still
    valid)."""
    found = []
    for name, version in recorded:
        now = installed.get(normalize(name))
        if now is not None and (now.version == version or now.real_version() == version):
            continue
        found.append(Change(name, version, None if now is None else now.real_version()))
    return found


def sys_path(executable: str, env: Mapping[str, str], timeout: float = 20.0) -> tuple[str, ...]:
    """The ``sys.path`` a child of ``executable`` starts with under ``env`` (empty if it cannot
    tell, which makes every recorded distribution look uninstalled: a re-run, never a stale
    capture)."""
    try:
        done = subprocess.run(
            [executable, "-c", _SYS_PATH],
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            env=dict(env),
            cwd=tempfile.gettempdir(),
        )
        entries = json.loads(done.stdout.decode("utf-8"))
    except (OSError, ValueError, subprocess.SubprocessError):
        return ()
    if not isinstance(entries, list):
        return ()
    return tuple(e for e in entries if isinstance(e, str) and e)
