"""The capture cache: keys, atomic entries, damage treated as a miss, eviction, and torture.

Real files and real processes throughout: the concurrency test forks readers and writers and
SIGKILLs writers at random while the readers check every capture they get back.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sphinx_layertrace.capture import cache as cache_mod
from sphinx_layertrace.capture.cache import CaptureCache, cache_key
from sphinx_layertrace.capture.interpreters import Interpreter
from sphinx_layertrace.capture.runner import Request
from sphinx_layertrace.model import (
    SCHEMA_VERSION,
    Capture,
    ExceptionInfo,
    Frame,
    Platform,
    PythonInfo,
    Step,
    SyscallEvent,
)

ROOT = Path(__file__).resolve().parent.parent

REQUEST = Request(
    code="import socket\nsocket.create_connection(('127.0.0.1', 9))\n",
    style="repl",
    setup=("import os",),
    timeout=10.0,
    max_output=64 * 1024,
    filename="tutorial/net.rst",
)
INTERP = Interpreter(
    label="3.11",
    executable="/opt/python/3.11/bin/python3.11",
    version="3.11.7",
    implementation="CPython",
    platform={"system": "Linux", "machine": "x86_64", "libc": "glibc 2.36", "release": "6.1"},
)
ENV = {"APP_MODE": "demo", "LANG": "C.UTF-8"}


def key_of(request=REQUEST, interp=INTERP, env=ENV, version="0.1.0"):
    return cache_key(request, interp, env, extension_version=version)


def make_capture(tag: str = "a", outcome: str = "raised", size: int = 0) -> Capture:
    frames = (
        Frame("tutorial/net.rst", 2, "<module>", "socket.create_connection(...)", origin="user"),
        Frame(
            "<stdlib>/socket.py",
            851,
            "create_connection",
            "raise exceptions[0]",
            module="socket",
            origin="stdlib",
            stdlib_path="socket.py",
            repeated=2,
        ),
    )
    exc = ExceptionInfo(
        type="ConnectionRefusedError",
        module="builtins",
        mro=("ConnectionRefusedError", "ConnectionError", "OSError", "Exception"),
        message=f"[Errno 111] Connection refused ({tag})",
        errno=111,
        errno_name="ECONNREFUSED",
        strerror="Connection refused",
        notes=("note é ✓",),
        frames=frames,
        context=ExceptionInfo(type="TimeoutError", module="builtins", message="inner"),
        formatted="Traceback (most recent call last):\n  ...\n",
    )
    return Capture(
        code=REQUEST.code,
        style="repl",
        outcome=outcome,
        platform=Platform("Linux", "6.1", "x86_64", "glibc 2.36"),
        python=PythonInfo("CPython", "3.11.7", "3.11"),
        duration=0.0123,
        stdout=f"out-{tag}\n" + "x" * size,
        stderr="\x1b[31m not really \\xff",
        steps=(Step(">>> import socket", ""), Step(">>> boom()", "...", raised=True)),
        syscalls=(SyscallEvent("socket.connect", "('127.0.0.1', 9)"),),
        exception=exc if outcome == "raised" else None,
        timeout=10.0,
    )


# -- keys ----------------------------------------------------------------------------------


def test_key_is_sha256_hex_and_stable():
    key = key_of()
    assert len(key) == 64
    assert int(key, 16) >= 0
    assert key == key_of()


@pytest.mark.parametrize(
    "change",
    [
        {"code": REQUEST.code + "# edited\n"},
        {"setup": ("import os", "import sys")},
        {"setup": ()},
        {"style": "script"},
        {"timeout": 5.0},
        {"max_output": 1024},
        {"filename": "tutorial/other.rst"},
        {"memory": 1 << 30},
    ],
    ids=lambda change: next(iter(change)),
)
def test_key_changes_with_each_request_field(change):
    assert key_of(request=dataclasses.replace(REQUEST, **change)) != key_of()


@pytest.mark.parametrize(
    "change",
    [
        {"label": "3.12"},
        {"version": "3.11.8"},
        {"implementation": "PyPy"},
        {"platform": {**INTERP.platform, "system": "Darwin"}},
        {"platform": {**INTERP.platform, "machine": "aarch64"}},
        {"platform": {**INTERP.platform, "libc": "musl"}},
        {"build": "18446744:1733130000000000000"},
    ],
    ids=["label", "version", "implementation", "system", "machine", "libc", "build"],
)
def test_key_changes_with_interpreter_identity(change):
    assert key_of(interp=dataclasses.replace(INTERP, **change)) != key_of()


def test_key_changes_with_env_versions_and_schema(monkeypatch):
    base = key_of()
    assert key_of(env={**ENV, "APP_MODE": "live"}) != base
    assert key_of(env={**ENV, "EXTRA": "1"}) != base
    assert key_of(env={}) != base
    assert key_of(version="0.2.0") != base
    monkeypatch.setattr(cache_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    assert key_of() != base


def test_key_changes_with_the_childs_code(tmp_path):
    """An edited or upgraded worker never serves what the old one captured."""
    (tmp_path / "worker.py").write_text("print('one')\n")
    (tmp_path / "protocol.py").write_text("X = 1\n")
    before = cache_mod.child_digest(tmp_path)
    assert cache_mod.child_digest(tmp_path) == before
    (tmp_path / "protocol.py").write_text("X = 2\n")
    after = cache_mod.child_digest(tmp_path)
    assert after != before
    key = cache_key(REQUEST, INTERP, ENV, extension_version="0.1.0", child_code=before)
    assert key != cache_key(REQUEST, INTERP, ENV, extension_version="0.1.0", child_code=after)
    # the package's own child folder is what a key holds by default
    assert key_of() == cache_key(
        REQUEST, INTERP, ENV, extension_version="0.1.0", child_code=cache_mod.child_digest()
    )


def test_key_ignores_what_does_not_change_the_result():
    base = key_of()
    # Env order, the interpreter's absolute path, platform fields outside the identity, and
    # int vs float spelling of the same timeout.
    assert key_of(env=dict(reversed(list(ENV.items())))) == base
    assert key_of(interp=dataclasses.replace(INTERP, executable="/usr/bin/python3")) == base
    other_release = {**INTERP.platform, "release": "6.9"}
    assert key_of(interp=dataclasses.replace(INTERP, platform=other_release)) == base
    assert key_of(request=dataclasses.replace(REQUEST, timeout=10)) == base
    # Field boundaries are not ambiguous: moving text between code and setup changes the key.
    a = dataclasses.replace(REQUEST, code="ab", setup=("c",))
    b = dataclasses.replace(REQUEST, code="a", setup=("bc",))
    assert key_of(request=a) != key_of(request=b)


def test_key_is_identical_in_another_process():
    """No hash() randomisation, ids or cwd leak into the key: a fresh interpreter agrees."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from tests.test_cache import key_of\n"
        "print(key_of())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd="/",
        env=env,
    )
    assert done.stdout.strip() == key_of()


# -- round trip and layout -----------------------------------------------------------------


def test_round_trip_layout_and_deterministic_bytes(tmp_path):
    directory = tmp_path / "deep" / "cache"
    store = CaptureCache(directory)
    key = key_of()
    assert not directory.exists()  # created lazily
    assert store.get(key) is None
    assert not directory.exists()  # a miss creates nothing
    assert key not in store

    capture = make_capture()
    assert store.put(key, capture) is True
    path = directory / f"{key}.json"
    assert path.is_file()
    assert store.path_for(key) == path
    assert key in store
    assert store.get(key) == capture

    raw = path.read_bytes()
    doc = json.loads(raw)
    assert list(doc) == sorted(doc)
    assert doc["format"] == 1
    assert doc["key"] == key
    assert doc["capture"]["schema"] == SCHEMA_VERSION
    assert len(doc["sha256"]) == 64
    assert raw == CaptureCache.encode(key, capture)

    # Another cache object (another build) writing the same capture gives the same bytes.
    assert CaptureCache(directory).put(key, capture)
    assert path.read_bytes() == raw
    assert store.stats == cache_mod.CacheStats(hits=1, misses=1, writes=1, corrupt=0)
    assert not list(path.parent.glob("*.part"))


def test_returned_outcome_is_stored(tmp_path):
    store = CaptureCache(tmp_path)
    capture = make_capture(outcome="returned")
    assert store.put(key_of(), capture)
    assert store.get(key_of()) == capture


@pytest.mark.parametrize("outcome", ["timeout", "crashed", "error", "missing-interpreter"])
def test_nondeterministic_outcomes_are_never_stored(tmp_path, outcome):
    store = CaptureCache(tmp_path / "c")
    capture = make_capture(outcome=outcome).replace(detail="timed out after 10s")
    assert store.put(key_of(), capture) is False
    assert key_of() not in store
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").rglob("*"))
    assert store.stats.writes == 0


def test_hit_refreshes_mtime(tmp_path):
    store = CaptureCache(tmp_path)
    key = key_of()
    store.put(key, make_capture())
    path = store.path_for(key)
    os.utime(path, (1_000_000, 1_000_000))
    assert key in store  # a membership test is not a use
    assert path.stat().st_mtime == 1_000_000
    assert store.get(key) is not None
    assert path.stat().st_mtime > time.time() - 60


def test_bad_keys_are_rejected(tmp_path):
    store = CaptureCache(tmp_path)
    for bad in ("../../etc/passwd", "", "ABCDEF0123", "zz" * 10):
        with pytest.raises(ValueError, match="not a cache key"):
            store.get(bad)
        assert bad not in store
    assert 123 not in store


# -- damage is a miss, and the next put repairs it -----------------------------------------


def _stored(tmp_path):
    store = CaptureCache(tmp_path)
    key = key_of()
    capture = make_capture()
    assert store.put(key, capture)
    return store, key, capture, store.path_for(key)


def _damage_truncated(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])  # what a writer killed mid-write in place leaves


def _damage_garbage(path):
    path.write_bytes(b"\x00\xff not json at all")


def _damage_empty(path):
    path.write_bytes(b"")


def _damage_checksum(path):
    doc = json.loads(path.read_bytes())
    doc["capture"]["stdout"] = "tampered\n"
    path.write_text(json.dumps(doc, sort_keys=True))


def _damage_wrong_key(path):
    doc = json.loads(path.read_bytes())
    doc["key"] = "0" * 64
    path.write_text(json.dumps(doc, sort_keys=True))


def _damage_not_object(path):
    path.write_text("[1, 2, 3]")


@pytest.mark.parametrize(
    "damage",
    [
        _damage_truncated,
        _damage_garbage,
        _damage_empty,
        _damage_checksum,
        _damage_wrong_key,
        _damage_not_object,
    ],
    ids=lambda f: f.__name__.removeprefix("_damage_"),
)
def test_damaged_entry_is_a_miss_removed_and_rewritten(tmp_path, damage):
    store, key, capture, path = _stored(tmp_path)
    damage(path)
    assert key not in store
    assert path.exists()  # __contains__ has no side effects
    assert store.get(key) is None
    assert store.stats.corrupt == 1
    assert not path.exists()  # removed, so the next build rewrites it
    assert store.put(key, capture)
    assert store.get(key) == capture


def test_unknown_format_is_a_miss_and_replaced_by_put(tmp_path):
    store, key, capture, path = _stored(tmp_path)
    doc = json.loads(path.read_bytes())
    doc["format"] = 2
    path.write_text(json.dumps(doc))
    assert store.get(key) is None
    assert store.stats.corrupt == 0
    assert path.exists()  # another format's entry is not ours to delete
    assert store.put(key, capture)
    assert store.get(key) == capture


def test_newer_schema_is_a_miss_not_an_error(tmp_path):
    store, key, capture, path = _stored(tmp_path)
    body = {**capture.to_dict(), "schema": SCHEMA_VERSION + 1, "future_field": [1]}
    # A well-formed entry written by a newer reader (correct checksum).
    envelope = json.loads(path.read_bytes())
    envelope["capture"] = body
    envelope["sha256"] = cache_mod.hashlib.sha256(cache_mod._canonical(body)).hexdigest()
    path.write_text(json.dumps(envelope))
    assert store.get(key) is None
    assert store.stats.corrupt == 0
    assert store.put(key, capture)
    assert store.get(key) == capture


def test_unwritable_directory_degrades_to_no_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should go")
    store = CaptureCache(blocker / "cache")
    assert store.get(key_of()) is None
    assert store.put(key_of(), make_capture()) is False
    assert store.writable is False
    assert key_of() not in store
    assert store.prune() == cache_mod.PruneReport()


def test_put_survives_a_vanished_directory(tmp_path):
    """A user may remove the cache directory between the directory check and the write."""
    store = CaptureCache(tmp_path / "cache")
    assert store.writable
    key = key_of()
    assert store.put(key, make_capture())
    path = store.path_for(key)
    path.unlink()
    path.parent.rmdir()
    assert store.put(key, make_capture())
    assert key in store


def test_put_steps_over_a_temporary_file_left_with_its_name(tmp_path, monkeypatch):
    """A killed writer whose pid this process inherited left the name the next write wants."""
    store = CaptureCache(tmp_path)
    key = key_of()
    monkeypatch.setattr(cache_mod, "_TEMP_IDS", iter([7, 7, 8]))
    taken = tmp_path / f".{key[:16]}-{os.getpid()}-7.part"
    taken.write_bytes(b"left behind")
    assert store.put(key, make_capture())
    assert store.get(key) == make_capture()
    assert taken.read_bytes() == b"left behind"  # not ours: prune() sweeps it when stale
    assert not list(tmp_path.glob(f"*-{os.getpid()}-8.part"))  # ours was renamed into place


def test_prune_removes_the_shards_of_the_old_layout(tmp_path):
    store = CaptureCache(tmp_path, max_bytes=10**9)
    key = key_of()
    store.put(key, make_capture())
    old = tmp_path / key[:2]
    old.mkdir()
    (old / f"{key}.json").write_bytes(store.path_for(key).read_bytes())
    (old / f".{key[:16]}-k3x_9q.part").write_bytes(b"{")
    (tmp_path / "zz").mkdir()  # not hex: not ours to judge
    report = store.prune()
    assert not old.exists()
    assert report.swept == 2
    assert (tmp_path / "zz").is_dir()
    assert key in store and report.kept == 1


def test_prune_leaves_what_is_not_its_own(tmp_path):
    """A cache directory may hold a user's .gitignore or notes, even a two-letter folder."""
    store = CaptureCache(tmp_path, max_bytes=1)  # evicts every entry it finds
    key = key_of()
    store.put(key, make_capture())
    keep = [tmp_path / ".gitignore", tmp_path / "settings.json", tmp_path / "README.part"]
    # two hex letters, never the key's first two (that folder would be a legacy shard): the key
    # follows the child's code, so a fixed "db" failed whenever an edit made the key start so
    notes = tmp_path / ("db" if not key.startswith("db") else "dc")
    notes.mkdir()
    keep += [notes / "schema.sql", notes / f"{key}.json"]  # a file named like an entry, elsewhere
    for path in keep:
        path.write_text("*\n")
        os.utime(path, (1_000_000, 1_000_000))  # old: prune would sweep it if it took it as its own
    report = store.prune()
    assert report.removed == 1 and key not in store  # the one real entry went
    assert all(path.exists() for path in keep)
    assert report.swept == 0


def test_prune_evicts_least_recently_used_first(tmp_path):
    store = CaptureCache(tmp_path)
    keys = [key_of(request=dataclasses.replace(REQUEST, code=f"x = {i}")) for i in range(10)]
    for i, key in enumerate(keys):
        assert store.put(key, make_capture(str(i), size=2000))
        os.utime(store.path_for(key), (1_000_000 + i, 1_000_000 + i))
    sizes = {k: store.path_for(k).stat().st_size for k in keys}
    total = sum(sizes.values())

    # A hit on the oldest makes it the most recently used.
    assert store.get(keys[0]) is not None

    store.max_bytes = total // 2
    report = store.prune()
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*.json"))
    assert on_disk <= store.max_bytes
    assert report.total == on_disk
    assert report.removed >= 5
    assert report.freed == total - on_disk
    gone = [k for k in keys if k not in store]
    kept = [k for k in keys if k in store]
    assert gone == keys[1 : 1 + len(gone)]  # oldest first, keys[0] skipped: it was just used
    assert keys[0] in kept
    assert report.kept == len(kept)

    # Under the bound, nothing more goes.
    again = store.prune()
    assert again.removed == 0
    assert again.total == on_disk


def test_prune_sweeps_only_stale_temp_files(tmp_path):
    store = CaptureCache(tmp_path, max_bytes=10**9)
    key = key_of()
    store.put(key, make_capture())
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()  # a writer killed mid-write: its pid is free now
    old = tmp_path / f".{key[:16]}-{os.getpid()}-0.part"
    young = tmp_path / f".{key[:16]}-{os.getpid()}-1.part"
    orphan = tmp_path / f".{key[:16]}-{gone.pid}-0.part"
    for part in (old, young, orphan):
        part.write_bytes(b'{"capture": {"co')
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    report = store.prune()
    assert report.swept == 2
    assert not old.exists()
    assert not orphan.exists()  # its writer is dead: swept at once, not an hour later
    assert young.exists()  # belongs to a writer that is still running
    assert key in store
    assert store.prune(stale_after=0).swept == 1
    assert not young.exists()


# -- torture: concurrent processes, writers SIGKILLed at random ----------------------------

TORTURE_KEYS = 6
TORTURE_SECONDS = 2.5


def _torture_keys():
    return [
        key_of(request=dataclasses.replace(REQUEST, code=f"snippet({i})"))
        for i in range(TORTURE_KEYS)
    ]


def _torture_capture(i: int) -> Capture:
    # Sizeable (about 300 KiB) so a kill has a fair chance to land in the middle of a write.
    return make_capture(f"k{i}", size=300_000 + 7919 * i)


def _writer(directory: str, seed: int) -> None:
    rng = random.Random(seed)
    keys = _torture_keys()
    captures = [_torture_capture(i) for i in range(TORTURE_KEYS)]
    store = CaptureCache(directory)
    while True:  # runs until SIGKILLed
        # Half the time the shared key 0 (both writers race on it), otherwise any key.
        i = 0 if rng.random() < 0.5 else rng.randrange(TORTURE_KEYS)
        store.put(keys[i], captures[i])


def _reader(directory: str, seed: int, deadline: float, conn) -> None:
    rng = random.Random(seed)
    keys = _torture_keys()
    expected = [_torture_capture(i) for i in range(TORTURE_KEYS)]
    store = CaptureCache(directory)
    reads = hits = wrong = errors = 0
    while time.monotonic() < deadline:
        i = rng.randrange(TORTURE_KEYS)
        try:
            got = store.get(keys[i])
        except Exception:
            errors += 1
            continue
        reads += 1
        if got is not None:
            hits += 1
            if got != expected[i]:
                wrong += 1
    conn.send(
        {
            "reads": reads,
            "hits": hits,
            "wrong": wrong,
            "errors": errors,
            "corrupt": store.stats.corrupt,
        }
    )
    conn.close()


def _kill_writers_until(ctx, directory, deadline, rng, at_least=20):
    """Two writers, one of them SIGKILLed at a random moment and replaced, until ``deadline``
    and at least ``at_least`` kills (a loaded machine starts processes slowly); how many."""
    writers = [ctx.Process(target=_writer, args=(directory, n)) for n in range(2)]
    for proc in writers:
        proc.start()
    kills = 0
    seed = 2
    try:
        while time.monotonic() < deadline or (
            kills < at_least and time.monotonic() < deadline + 30
        ):
            time.sleep(rng.uniform(0.005, 0.04))
            slot = rng.randrange(len(writers))
            os.kill(writers[slot].pid, signal.SIGKILL)
            writers[slot].join()
            kills += 1
            writers[slot] = ctx.Process(target=_writer, args=(directory, seed))
            writers[slot].start()
            seed += 1
    finally:
        for proc in writers:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
            proc.join()
    return kills


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_concurrent_writers_killed_at_random_never_yield_a_corrupt_read(tmp_path):
    ctx = multiprocessing.get_context("fork")
    directory = str(tmp_path / "shared")
    rng = random.Random(20240601)
    deadline = time.monotonic() + TORTURE_SECONDS

    readers = []
    for n in range(2):
        parent_end, child_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_reader, args=(directory, 100 + n, deadline, child_end))
        proc.start()
        child_end.close()
        readers.append((proc, parent_end))

    kills = _kill_writers_until(ctx, directory, deadline, rng)
    results = []
    for proc, conn in readers:
        assert conn.poll(30), "reader did not report"
        results.append(conn.recv())
        proc.join(10)
        assert proc.exitcode == 0

    reads = sum(r["reads"] for r in results)
    hits = sum(r["hits"] for r in results)
    assert kills >= 20
    assert reads >= 200
    assert hits > 0
    assert sum(r["wrong"] for r in results) == 0
    assert sum(r["errors"] for r in results) == 0
    assert sum(r["corrupt"] for r in results) == 0

    # Every final entry is intact; killed writers left at most temp files, which a sweep removes.
    store = CaptureCache(directory, max_bytes=10**12)
    keys = _torture_keys()
    for i, key in enumerate(keys):
        got = store.get(key)
        assert got is None or got == _torture_capture(i)
    assert store.stats.corrupt == 0
    assert all(p.name.endswith((".json", ".part")) for p in Path(directory).rglob("*.*"))
    parts = len(list(Path(directory).rglob("*.part")))
    report = store.prune(stale_after=0)
    assert not list(Path(directory).rglob("*.part"))
    assert report.swept == parts
    print(f"torture: {kills} kills, {reads} reads, {hits} hits, {parts} orphaned temp files")
    assert report.kept == len(list(Path(directory).rglob("*.json")))
