"""Which Python runs a snippet: labels, discovery of installed CPythons, and a real probe of each.

An interpreter is trusted only after it has actually run the worker (a pyenv shim that fails is
skipped, not believed). What a probe learnt is kept per executable *file*, keyed by what the path
resolves to and that file's inode, size and mtime: an interpreter upgraded in place while a
long-lived process (``sphinx-autobuild``) keeps building is probed again, not remembered.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sphinx_layertrace.child import protocol

WORKER = str(Path(__file__).parent.parent / "child" / "worker.py")
_VERSION_NAME = re.compile(r"^python(3\.\d+)$")


@dataclass(frozen=True)
class Interpreter:
    """A probed interpreter; ``info`` is what the worker reported about itself."""

    label: str
    executable: str
    version: str = ""
    implementation: str = "CPython"
    platform: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    #: Which build of that version: the binary's size and mtime (and, for the Python running
    #: Sphinx, its ``sys.version``), so a rebuilt or reinstalled binary is another interpreter.
    build: str = ""

    @property
    def identity(self) -> str:
        """What the cache key needs: label, exact version and build, and the platform it runs
        on (not its path: a moved checkout keeps its cache)."""
        plat = self.platform
        return "|".join(
            [
                self.label,
                self.implementation,
                self.version,
                plat.get("system", ""),
                plat.get("machine", ""),
                plat.get("libc", ""),
                self.build,
            ]
        )


class MissingInterpreter(LookupError):
    """A label that names no working interpreter."""


def current_label() -> str:
    return "{}.{}".format(*sys.version_info[:2])


Fingerprint = tuple[str, str, int, int, int, int]  # path, its target, dev, inode, size, mtime


def fingerprint(executable: str) -> Fingerprint | None:
    """Which file ``executable`` is right now; ``None`` if there is none."""
    target = os.path.realpath(executable)
    try:
        st = os.stat(target)
    except OSError:
        return None
    return (executable, target, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _build_of(print_: Fingerprint | None) -> str:
    return f"{print_[4]}:{print_[5]}" if print_ else ""


#: The file this process was started from, as it was then.
_STARTED_FROM = fingerprint(sys.executable)


def current() -> Interpreter:
    """The interpreter running Sphinx: what a snippet without ``:python:`` runs under.

    Described by the worker's own code without a process while ``sys.executable`` is still the
    file this process started from; once it has been replaced on disk (children start the new
    one), that file is probed like any other.
    """
    now = fingerprint(sys.executable)
    if now is not None and now != _STARTED_FROM:
        return probe(sys.executable, current_label())
    return _this_process()


@lru_cache(maxsize=1)
def _this_process() -> Interpreter:
    info = protocol.interpreter_info()
    return Interpreter(
        label=current_label(),
        executable=sys.executable,
        version=info["python"]["version"],
        implementation=info["python"]["implementation"],
        platform=info["platform"],
        build=f"{_build_of(_STARTED_FROM)}:{sys.version}",
    )


def probe(executable: str, label: str = "") -> Interpreter:
    """Run the worker's ``info`` under ``executable``; raise MissingInterpreter if it fails.

    Remembered for as long as ``executable`` names the same unchanged file.
    """
    found = fingerprint(shutil.which(executable) or executable)
    if found is None:  # nothing to key it by: ask again next time
        return _probe.__wrapped__(executable, label, None)
    return _probe(executable, label, found)


#: Bounded: a long-lived process meets a handful of interpreters, and each upgrade one more.
@lru_cache(maxsize=64)
def _probe(executable: str, label: str, print_: Fingerprint | None) -> Interpreter:
    try:
        done = subprocess.run(
            [executable, WORKER, "info"],
            capture_output=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
            check=False,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8"},
        )
        info = json.loads(done.stdout.decode("utf-8"))
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        raise MissingInterpreter(f"{executable} does not run: {exc.__class__.__name__}") from None
    version = info["python"]["version"]
    return Interpreter(
        label=label or ".".join(version.split(".")[:2]),
        executable=executable,
        version=version,
        implementation=info["python"]["implementation"],
        platform=info["platform"],
        build=_build_of(print_),
    )


def candidates() -> dict[str, str]:
    """Installed CPythons by ``X.Y`` label: PATH, pyenv, /usr/bin and ``py -0p`` on Windows."""
    found: dict[str, list[str]] = {}
    paths: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        paths.extend(sorted(glob.glob(os.path.join(directory, "python3.*"))))
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    paths.extend(sorted(glob.glob(os.path.join(pyenv, "versions", "*", "bin", "python3"))))
    paths.extend(sorted(glob.glob("/usr/bin/python3.*")))
    paths.extend(sorted(glob.glob("/usr/local/bin/python3.*")))
    if os.name == "nt" and shutil.which("py"):  # pragma: no cover - Windows
        listing = subprocess.run(["py", "-0p"], capture_output=True, text=True, check=False)
        paths.extend(line.split()[-1] for line in listing.stdout.splitlines() if line.strip())
    for path in paths:
        name = os.path.basename(path)
        match = _VERSION_NAME.match(name)
        if match:
            label = match.group(1)
        else:
            version_dir = os.path.basename(os.path.dirname(os.path.dirname(path)))
            parts = version_dir.split(".")
            if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
                continue
            label = ".".join(parts[:2])
        if os.access(path, os.X_OK):
            found.setdefault(label, []).append(path)
    # A pyenv shim fails for versions that are not "global"; prefer the real executables.
    return {
        label: sorted(paths, key=lambda p: os.sep + "shims" + os.sep in p)[0]
        for label, paths in found.items()
    }


OLDEST = (3, 8)  # the worker needs audit hooks (3.8) and keeps 3.8 syntax


def supported(interp: Interpreter) -> Interpreter:
    """``interp`` if the worker can run there; else why not, as MissingInterpreter."""
    version = tuple(int(p) for p in interp.version.split(".")[:2] if p.isdigit())
    if version < OLDEST:
        raise MissingInterpreter(
            f"Python {interp.version} at {interp.executable} is older than "
            f"{'.'.join(map(str, OLDEST))}, the oldest sphinx-layertrace runs snippets on"
        )
    return interp


def discover() -> dict[str, Interpreter]:
    """Every installed candidate that really runs the worker, by label (too old ones too:
    asking for them gets a message saying so, not "not installed")."""
    working: dict[str, Interpreter] = {}
    for label, path in candidates().items():
        try:
            working[label] = probe(path, label)
        except MissingInterpreter:
            continue
    return working


class Registry:
    """Resolves ``:python:`` labels against ``layertrace_interpreters``."""

    def __init__(self, configured: dict[str, str] | str | None = None) -> None:
        self._configured = configured or {}
        self._resolved: dict[str, Interpreter] = {}
        self._discovered: dict[str, Interpreter] | None = None
        self._default: Interpreter | None = None

    def default(self) -> Interpreter:
        """The Python running Sphinx: what a snippet without ``:python:`` runs under.

        Looked up once per registry (a registry lives for one build): ``current()`` resolves
        and stats the executable, 0.1-0.2 ms that every snippet of a build paid again."""
        if self._default is None:
            self._default = current()
        return self._default

    def get(self, label: str) -> Interpreter:
        """A configured label first (even one named like this Python's X.Y: the user's choice
        of executable), then this Python's own X.Y, then an installed CPython of that X.Y."""
        label = label.strip()
        if label in self._resolved:
            return self._resolved[label]
        configured = self._configured
        target = configured.get(label, "auto") if isinstance(configured, dict) else "auto"
        if target != "auto":
            path = shutil.which(target) or target
            self._resolved[label] = supported(probe(path, label))
            return self._resolved[label]
        if label == current_label():
            self._resolved[label] = current()
            return self._resolved[label]
        if configured == "auto" or (isinstance(configured, dict) and "auto" in configured.values()):
            if self._discovered is None:
                self._discovered = discover()
            if label in self._discovered:
                self._resolved[label] = supported(self._discovered[label])
                return self._resolved[label]
            raise MissingInterpreter(f"no installed CPython {label} was found")
        raise MissingInterpreter(f"no interpreter is configured for label {label!r}")


def resolve_executable(spec: str) -> Interpreter:
    """For the CLI's ``--python``: a label like ``3.12`` or a path to an executable."""
    if re.fullmatch(r"\d+\.\d+", spec):
        if spec == current_label():
            return current()
        found = candidates().get(spec)
        if not found:
            raise MissingInterpreter(f"no installed interpreter for {spec}")
        return supported(probe(found, spec))
    path = shutil.which(spec) or spec
    return supported(probe(path))
