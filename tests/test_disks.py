"""Hostile disks under the capture cache: full, read-only, or a file where the directory goes.

Each case is a real ``sphinx-build`` in a subprocess (its own log, as a user sees it) of
``tests/roots/test-cache`` (14 snippets, each ``:expect: ConnectionRefusedError``, so a wrong
page is also a drift warning). Whatever the disk does, the pages come out right, a user's file
is left as it was, and the build says once, as ``layertrace.cache``, that captures are not kept.
A full disk needs a small tmpfs (root and ``mount``); without them that case is skipped: a
``RLIMIT_FSIZE`` limit would cap the pages and the environment pickle too, not only the cache.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent / "roots" / "test-cache"
SNIPPETS = 14
CACHE_LINE = re.compile(r"^.*\[layertrace\.cache\]$", re.M)
BLOCK = re.compile(r'<div class="layertrace[^"]*"[^>]*>.*?<p class="lt-meta">', re.S)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes and mounts")


def _build(src: Path, out: Path, cache: Path) -> tuple[str, str]:
    """One ``sphinx-build`` of ``src``; (stdout, stderr)."""
    env = dict(os.environ, LAYERTRACE_TEST_CACHE=str(cache))
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", str(src), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return done.stdout, done.stderr


def _assert_pages_right(out: Path) -> None:
    """Every snippet rendered, each showing the refused connection it raises."""
    blocks = [
        block
        for page in sorted(out.glob("page*.html"))
        for block in BLOCK.findall(page.read_text())
    ]
    assert len(blocks) == SNIPPETS
    assert all("ConnectionRefusedError" in block for block in blocks)


def _only_the_cache_line(stderr: str, why: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(CACHE_LINE.findall(stderr)) == 1, stderr
    assert len(lines) == 1, stderr  # no other warning: no drift, nothing per snippet
    assert "captures are not being kept" in lines[0] and why in lines[0], lines[0]


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def _run(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def _tmpfs(where: Path, size: str, *options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    flags = ",".join((f"size={size}", *options))
    if not _run("mount", "-t", "tmpfs", "-o", flags, "tmpfs", str(where)):
        pytest.skip("mount refused a tmpfs")
    try:
        yield where
    finally:
        if not _run("umount", str(where)):
            _run("umount", "-l", str(where))


@pytest.fixture
def src(tmp_path: Path) -> Path:
    shutil.copytree(ROOT, tmp_path / "src")
    return tmp_path / "src"


@pytest.mark.parametrize("under", [False, True], ids=["file", "under-a-file"])
def test_a_file_at_the_cache_path_is_left_as_it_was(tmp_path: Path, src: Path, under) -> None:
    user_file = tmp_path / "notes"
    user_file.write_bytes(b"the user's own notes\x00\xff\n")
    os.utime(user_file, ns=(1_000_000_000, 1_000_000_000))
    before = user_file.stat()
    cache = user_file / "cache" if under else user_file
    _, stderr = _build(src, tmp_path / "out", cache)
    _assert_pages_right(tmp_path / "out")
    _only_the_cache_line(stderr, "under a file" if under else "is a file, not a directory")
    after = user_file.stat()
    assert user_file.read_bytes() == b"the user's own notes\x00\xff\n"
    assert (after.st_mtime_ns, after.st_size, after.st_mode) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_mode,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "out", "src"]


def _make_read_only(cache: Path) -> contextlib.AbstractContextManager:
    """A read-only bind mount as root (who ignores file modes), ``chmod`` otherwise."""
    if not _can_mount():
        cache.chmod(0o555)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def bound() -> Iterator[None]:
        if not _run("mount", "--bind", str(cache), str(cache)):
            pytest.skip("mount --bind refused")
        try:
            assert _run("mount", "-o", "remount,bind,ro", str(cache))
            yield
        finally:
            _run("umount", str(cache))

    return bound()


def test_a_read_only_cache_serves_what_it_has_and_says_once(tmp_path: Path, src: Path) -> None:
    cache = tmp_path / "cache"
    _build(src, tmp_path / "out1", cache)
    entries = {p.name: p.read_bytes() for p in cache.iterdir()}
    assert len(entries) == SNIPPETS
    # two new snippets that the read-only cache cannot keep
    page = src / "page1.rst"
    text = page.read_text()
    page.write_text(text.replace("# cache snippet 1.1", "# new 1").replace("1.2", "new 2"))
    with _make_read_only(cache):
        stdout, stderr = _build(src, tmp_path / "out2", cache)
        _assert_pages_right(tmp_path / "out2")
        _only_the_cache_line(stderr, "read-only" if _can_mount() else "is not writable")
        assert "2 snippets run, 12 from the cache" in stdout
        assert {p.name: p.read_bytes() for p in cache.iterdir()} == entries
    cache.chmod(0o755)


def test_a_full_disk_keeps_what_fits_and_leaves_no_temporary_file(
    tmp_path: Path, src: Path
) -> None:
    if not _can_mount():
        pytest.skip("a full disk needs a small tmpfs: root and mount")
    # 14 entries of ~2.3 kB take a 4 kB page each on tmpfs: 20 kB holds a few, not all
    with _tmpfs(tmp_path / "disk", "20k") as disk:
        cache = disk / "cache"
        _, stderr = _build(src, tmp_path / "out1", cache)
        _assert_pages_right(tmp_path / "out1")
        _only_the_cache_line(stderr, "is full")
        kept = sorted(p.name for p in cache.iterdir())
        assert 0 < len(kept) < SNIPPETS
        assert _leftovers(cache) == []
        # the next build serves what was kept, runs the rest, and says it once again
        stdout, stderr = _build(src, tmp_path / "out2", cache)
        _assert_pages_right(tmp_path / "out2")
        _only_the_cache_line(stderr, "is full")
        assert f"{SNIPPETS - len(kept)} snippets run, {len(kept)} from the cache" in stdout
        assert _leftovers(cache) == []


def test_a_disk_full_from_the_start_still_builds(tmp_path: Path, src: Path) -> None:
    if not _can_mount():
        pytest.skip("a full disk needs a small tmpfs: root and mount")
    with _tmpfs(tmp_path / "disk", "8k") as disk:
        (disk / "cache").mkdir()
        with contextlib.suppress(OSError), open(disk / "filler", "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        _, stderr = _build(src, tmp_path / "out", disk / "cache")
        _assert_pages_right(tmp_path / "out")
        _only_the_cache_line(stderr, "is full")
        assert list((disk / "cache").iterdir()) == []


def test_a_long_lived_process_recovers_when_the_path_is_fixed(
    tmp_path: Path, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sphinx-autobuild's way: one app, several builds. A build after the file is moved away
    keeps its captures and says nothing; the refusal is not remembered across builds."""
    from io import StringIO

    from sphinx.testing.util import SphinxTestApp

    cache = tmp_path / "notes"
    cache.write_text("notes\n")
    monkeypatch.setenv("LAYERTRACE_TEST_CACHE", str(cache))
    warnings = StringIO()
    app = SphinxTestApp("html", srcdir=src, builddir=tmp_path / "build", warning=warnings)
    try:
        app.build(force_all=True)
        assert warnings.getvalue().count("[layertrace.cache]") == 1, warnings.getvalue()
        cache.rename(tmp_path / "notes.moved")
        app.build(force_all=True)
        assert warnings.getvalue().count("[layertrace.cache]") == 1, warnings.getvalue()
        assert len(list(cache.glob("*.json"))) == SNIPPETS
    finally:
        app.cleanup()
    assert (tmp_path / "notes.moved").read_text() == "notes\n"
