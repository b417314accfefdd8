"""A content-addressed, crash-safe store of captures, shared by builds and parallel readers.

One file per entry, ``<dir>/<key>.json``, holding
``{"capture": {...}, "format": 1, "key": ..., "sha256": <hex of the capture's canonical JSON>}``.
There is no index file and no lock: an entry is written to a temporary file beside it and moved
into place with :func:`os.replace`, so a reader sees the old entry, the new one, or none, never
half of one. The directory is flat: a cache holds tens of thousands of entries at most, which
any file system lists quickly, and a cold build into ``<key[:2]>/`` shards spent more time
creating the shards than writing the entries (0.40 → 0.15 ms per entry here). Identical keys
always carry identical content, which makes "last writer wins" between two builds harmless.

Whatever is on disk is checked before it is believed (envelope format, key, checksum, capture
schema); anything that fails is a miss, never an exception, and a damaged file is removed so the
next run rewrites it. Measured in ``research/reliability.md`` §4: this scheme survived 138 random
SIGKILLs of two writers with 0 corrupt reads, where an in-place write gave ~5 %.

Pure: no Sphinx import, so the runner, the CLI and tests can use it alone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinx_layertrace.capture import procs
from sphinx_layertrace.model import SCHEMA_VERSION, Capture, SchemaError

if TYPE_CHECKING:
    from sphinx_layertrace.capture.interpreters import Interpreter
    from sphinx_layertrace.capture.runner import Request

#: Version of the on-disk envelope; a reader skips (and a writer replaces) any other.
FORMAT = 1
#: Version of the key recipe itself, so changing what goes into a key never reuses old entries.
KEY_RECIPE = 2  # 2: the child's code and the interpreter's build
#: The code that runs inside the target interpreter: a change to it can change every capture.
CHILD_DIR = Path(__file__).parent.parent / "child"
#: Outcomes that are a property of the snippet, not of the machine's mood: only these are kept.
CACHEABLE = frozenset({"raised", "returned"})
STALE_AFTER = 3600.0  # temporary files older than this are a killed writer's, whatever the pid
PART_SUFFIX = ".part"

_KEY_RE = re.compile(r"^[0-9a-f]{8,128}$")
# What prune() may delete: its entries and temporary files, not a user's .gitignore or notes
_ENTRY_NAME = re.compile(r"^[0-9a-f]{8,128}\.json$")
_TEMP_NAME = re.compile(r"^\.[0-9a-f]{1,16}-[0-9A-Za-z_-]+\.part$")
_TEMP_OWNER = re.compile(r"^\.[0-9a-f]{1,16}-(\d+)-\d+\.part$")  # the writer's pid
_REPLACE_RETRIES = 10
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_CREATE_ATTEMPTS = 8
_TEMP_IDS = itertools.count()
_REPLACE_DELAY = 0.01


def _canonical(value: Any) -> bytes:
    """Deterministic bytes for a JSON value: sorted keys, no whitespace, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


_PREFIX = b'{"capture":'


def _suffix(key: str, digest: str) -> bytes:
    tail = _canonical({"format": FORMAT, "key": key, "sha256": digest})
    return b"," + tail[1:] + b"\n"


def _stored_body(raw: bytes, key: str, digest: str) -> bytes | None:
    """The body's bytes in an entry laid out exactly as :meth:`CaptureCache.encode` writes."""
    suffix = _suffix(key, digest)
    if raw.startswith(_PREFIX) and raw.endswith(suffix):
        return raw[len(_PREFIX) : -len(suffix)]
    return None


_FOREIGN: dict[str, Any] = {}  # intact but not ours to judge: a miss, left in place
_DAMAGED_ENTRY: dict[str, Any] = {}  # truncated, forged or garbled: a miss, removed


def _check(raw: bytes, key: str) -> dict[str, Any]:
    """The capture body of an entry's bytes, or one of the two sentinels above."""
    opened = _envelope(raw, key)
    if not isinstance(opened, tuple):
        return opened
    body, digest = opened
    if not _digest_matches(raw, key, body, digest):
        return _DAMAGED_ENTRY
    schema = body.get("schema", SCHEMA_VERSION)
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        return _FOREIGN  # intact, but written by a newer reader's schema: left in place for it
    return body


def _envelope(raw: bytes, key: str) -> tuple[dict[str, Any], str] | dict[str, Any]:
    """(body, digest) of an envelope of this format and key, or a sentinel."""
    try:
        envelope = json.loads(raw)
    except (ValueError, RecursionError):
        return _DAMAGED_ENTRY  # truncated or garbage: a writer died before os.replace existed
    if not isinstance(envelope, dict):
        return _DAMAGED_ENTRY
    if envelope.get("format") != FORMAT:
        # Written by another version of the envelope: not ours to judge or delete; a put()
        # replaces it.
        return _FOREIGN
    body = envelope.get("capture")
    digest = envelope.get("sha256")
    if envelope.get("key") != key or not isinstance(body, dict) or not isinstance(digest, str):
        return _DAMAGED_ENTRY
    return body, digest


def _digest_matches(raw: bytes, key: str, body: dict[str, Any], digest: str) -> bool:
    stored = _stored_body(raw, key, digest)
    try:
        # What put() wrote is checked as the bytes on disk; anything else (another writer's
        # spacing) by re-serialising the parsed body. Either way the digest covers the body.
        canonical = stored if stored is not None else _canonical(body)
    except (ValueError, TypeError, RecursionError):
        return False
    return hashlib.sha256(canonical).hexdigest() == digest


def child_digest(folder: Path = CHILD_DIR) -> str:
    """SHA-256 of the child's source files (names and bytes): part of every key, so an edited
    or upgraded worker never serves what the old one captured. Read once per build."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(
    request: Request,
    interpreter: Interpreter,
    env: Mapping[str, str],
    *,
    extension_version: str,
    child_code: str | None = None,
) -> str:
    """The SHA-256 hex digest naming the capture that ``request`` produces.

    Holds everything that can change the result and nothing that merely differs between
    machines or checkouts: the code, setup code, style, limits (timeout, output cap, memory),
    the display filename, the author's extra ``env`` (order does not matter), the interpreter's
    :attr:`.Interpreter.identity` (label, implementation, exact
    version and build, system, machine, libc — not its path), the capture schema, the
    extension's version and the child's code (``child_code``, from :func:`child_digest`;
    computed here when not given). ``request.filename`` is used as given, so callers pass a
    relative name. The values of ``env`` enter only as a digest (see :func:`env_digest`).
    """
    timeout = request.timeout
    payload = {
        "recipe": KEY_RECIPE,
        "code": request.code,
        "setup": list(request.setup),
        "style": request.style,
        # 10 and 10.0 are the same limit and must be the same key.
        "timeout": None if timeout is None else float(timeout),
        "max_output": request.max_output,
        "memory": request.memory,
        "filename": request.filename,
        "env": [[str(k), str(v)] for k, v in sorted(env.items())],
        "interpreter": interpreter.identity,
        "schema": SCHEMA_VERSION,
        "extension": extension_version,
        "child": child_digest() if child_code is None else child_code,
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


def _denied(directory: Path) -> OSError:
    """Why a directory that exists cannot be written: a read-only mount, or its modes."""
    statvfs = getattr(os, "statvfs", None)  # not on Windows
    read_only = statvfs is not None and statvfs(directory).f_flag & getattr(os, "ST_RDONLY", 1)
    code = errno.EROFS if read_only else errno.EACCES
    return OSError(code, os.strerror(code), str(directory))


@dataclass
class CacheStats:
    """What one :class:`CaptureCache` object saw (per process; parallel readers count apart)."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    corrupt: int = 0


@dataclass(frozen=True)
class PruneReport:
    """What :meth:`CaptureCache.prune` did."""

    removed: int = 0  # entries evicted to get under the size bound
    freed: int = 0  # bytes of those entries
    swept: int = 0  # stale temporary files of killed writers removed
    kept: int = 0  # entries left
    total: int = 0  # bytes of the entries left


class CaptureCache:
    """A directory of captures keyed by :func:`cache_key`.

    The directory is created on the first write. If it cannot be created or written to (a
    file at that path, a read-only or full disk), the cache degrades to "no cache" for the rest
    of this object's life: :attr:`writable` turns false, :attr:`refused` keeps the first error,
    :meth:`put` returns ``False`` and :meth:`get` answers from whatever is readable.
    """

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = 256 * 2**20):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._writable: bool | None = None
        self.refused: OSError | None = None  # why nothing more is written, once it is so

    def __repr__(self) -> str:
        return f"CaptureCache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    # -- layout --------------------------------------------------------------------------

    def path_for(self, key: str) -> Path:
        """Where the entry for ``key`` lives (whether or not it exists)."""
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / f"{key}.json"

    @property
    def writable(self) -> bool:
        """Whether entries can be written; probing creates the directory if it is missing."""
        if self._writable is None:
            self._writable = self._ensure_directory()
        return self._writable

    def _ensure_directory(self) -> bool:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)  # a file there: FileExistsError
            if not os.access(self.directory, os.W_OK | os.X_OK):
                raise _denied(self.directory)
        except OSError as exc:
            self.refused = exc
            return False
        return True

    # -- reading -------------------------------------------------------------------------

    def get(self, key: str) -> Capture | None:
        """The stored capture for ``key``, or ``None``; never raises for what is on disk.

        A hit refreshes the entry's mtime, which is what :meth:`prune` evicts by.
        """
        path = self.path_for(key)
        capture, damaged = self._load(path, key)
        if capture is None:
            self.stats.misses += 1
            if damaged is not None:
                self.stats.corrupt += 1
                self._discard(path, damaged)
            return None
        self.stats.hits += 1
        # A read-only cache, or an entry replaced under us: the hit still stands.
        with contextlib.suppress(OSError):
            os.utime(path)
        return capture

    def __contains__(self, key: object) -> bool:
        """Whether a valid entry exists; no side effects (no stats, no touch, no removal)."""
        if not isinstance(key, str) or not _KEY_RE.match(key):
            return False
        capture, _ = self._load(self.path_for(key), key)
        return capture is not None

    def _load(self, path: Path, key: str) -> tuple[Capture | None, os.stat_result | None]:
        """Read and check one entry; the second item is the stat of a damaged file."""
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                raw = fh.read()
        except OSError:
            return None, None  # missing (the common miss) or unreadable: nothing to repair
        verdict = _check(raw, key)
        if verdict is _FOREIGN:
            return None, None
        if verdict is _DAMAGED_ENTRY:
            return None, st
        try:
            return Capture.from_dict(verdict), None
        except (SchemaError, TypeError, ValueError, KeyError, AttributeError, RecursionError):
            return None, st

    def _discard(self, path: Path, damaged: os.stat_result) -> None:
        """Remove a damaged entry, unless a writer has already replaced it with a good one."""
        try:
            now = os.stat(path)
            if (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) != (
                damaged.st_ino,
                damaged.st_dev,
                damaged.st_size,
                damaged.st_mtime_ns,
            ):
                return
            os.unlink(path)
        except OSError:
            pass

    # -- writing -------------------------------------------------------------------------

    @staticmethod
    def encode(key: str, capture: Capture) -> bytes:
        """The exact bytes stored for ``capture`` under ``key`` (deterministic)."""
        body = _canonical(capture.to_dict())
        # == _canonical({"capture": ..., "format": FORMAT, "key": key, "sha256": ...}) + b"\n"
        # (sorted keys), without serialising the body twice
        return _PREFIX + body + _suffix(key, hashlib.sha256(body).hexdigest())

    def put(self, key: str, capture: Capture) -> bool:
        """Store ``capture`` atomically; ``True`` if it is now on disk.

        Only deterministic outcomes (``raised``, ``returned``) are stored: a timeout, a crash or
        an error says something about this run, not about the snippet, and must be retried.
        """
        path = self.path_for(key)
        if capture.outcome not in CACHEABLE:
            return False
        if not self.writable:
            return False
        data = self.encode(key, capture)
        try:
            tmp = self._write_temp(path, data)
        except OSError as exc:  # full, read-only, over a size limit: stop trying
            self._writable, self.refused = False, exc
            return False
        replaced = False
        try:
            replaced = self._replace(tmp, path)
        finally:
            if not replaced:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        if replaced:
            self.stats.writes += 1
        return replaced

    def _write_temp(self, path: Path, data: bytes) -> str:
        """Write ``data`` to a new temporary file beside ``path``; its name is returned.

        The name is this process's own (pid and a counter), created exclusively, with the
        mode an ordinary ``open()`` gives under the umask: ``mkstemp`` would cost a random
        name and an ``fchmod`` per entry for nothing.
        """
        for _ in range(_CREATE_ATTEMPTS):
            name = f".{path.stem[:16]}-{os.getpid()}-{next(_TEMP_IDS)}{PART_SUFFIX}"
            tmp = os.path.join(path.parent, name)
            try:
                fd = os.open(tmp, _CREATE_FLAGS, 0o666)
                break
            except FileExistsError:
                continue  # left by a killed writer whose pid this process now has
            except PermissionError:
                if sys.platform != "win32":
                    raise
                continue  # Windows: that name is still being deleted
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)  # removed under a running build
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
        return tmp

    @staticmethod
    def _replace(tmp: str, path: Path) -> bool:
        for attempt in range(_REPLACE_RETRIES + 1):
            try:
                os.replace(tmp, path)
                return True
            except PermissionError:
                # Windows: a reader holding the target open blocks the rename. Retry briefly;
                # then the entry another build wrote (same key, same bytes) is as good as ours.
                if sys.platform != "win32" or attempt == _REPLACE_RETRIES:
                    break
                time.sleep(_REPLACE_DELAY)
            except OSError:
                return False
        return sys.platform == "win32" and path.exists()

    # -- housekeeping --------------------------------------------------------------------

    def prune(self, *, stale_after: float = STALE_AFTER) -> PruneReport:
        """Evict least recently used entries until the total is at most ``max_bytes``.

        Also sweeps the temporary files of writers killed before renaming them: a dead pid's,
        and any older than ``stale_after`` s (a writer on another machine). Safe to run while
        other processes read and write.
        """
        try:
            items = list(os.scandir(self.directory))
        except OSError:
            return PruneReport()
        entries, swept = _sweep(items, time.time() - stale_after)
        entries.sort()
        total = sum(size for _, _, size in entries)
        removed = freed = 0
        for _, path, size in entries:
            if total <= self.max_bytes:
                break
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass  # another process pruned it first; it is gone either way
            except OSError:
                continue
            total -= size
            removed += 1
            freed += size
        return PruneReport(
            removed=removed, freed=freed, swept=swept, kept=len(entries) - removed, total=total
        )


def _sweep(items: list[os.DirEntry[str]], cutoff: float) -> tuple[list[tuple[int, str, int]], int]:
    """Remove stale temporary files and legacy shards; the entries left, and how many went."""
    entries: list[tuple[int, str, int]] = []
    swept = 0
    for item in items:
        if _is_legacy_shard(item):
            swept += _remove_legacy_shard(item.path)
            continue
        try:
            if not item.is_file(follow_symlinks=False):
                continue
            st = item.stat(follow_symlinks=False)
        except OSError:
            continue
        if _TEMP_NAME.match(item.name):
            if st.st_mtime < cutoff or _owner_dead(item.name):
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                    swept += 1
        elif _ENTRY_NAME.match(item.name):
            entries.append((st.st_mtime_ns, item.path, st.st_size))
    return entries, swept


def _owner_dead(name: str) -> bool:
    found = _TEMP_OWNER.match(name)
    return found is not None and not procs.pid_alive(int(found.group(1)))


def _is_legacy_shard(entry: os.DirEntry[str]) -> bool:
    """A ``<key[:2]>/`` directory of the sharded layout of 0.1's development builds: unread."""
    try:
        return (
            len(entry.name) == 2
            and all(c in "0123456789abcdef" for c in entry.name)
            and entry.is_dir(follow_symlinks=False)
        )
    except OSError:
        return False


def _remove_legacy_shard(path: str) -> int:
    """Delete the entries and temporary files of an unreachable shard (and the shard, if that
    empties it); how many files went."""
    shard = os.path.basename(path)
    removed = 0
    with contextlib.suppress(OSError):
        for item in os.scandir(path):
            ours = _TEMP_NAME.match(item.name) or (
                _ENTRY_NAME.match(item.name) and item.name.startswith(shard)
            )
            if ours:
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                    removed += 1
        os.rmdir(path)
    return removed
